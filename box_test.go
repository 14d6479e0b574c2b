package rawmysql

import (
	"database/sql/driver"
	"math"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Values handed out by a boxer keep their value and type while later values fill the same and following
// chunks, and survive garbage collections.
func TestBoxerValuesStayIntact(t *testing.T) {
	var bx boxer
	const n = 5*128 + 3 // several chunks of the default boxer
	vals := make([]driver.Value, 0, 5*n)
	for i := 0; i < n; i++ {
		vals = append(vals,
			bx.int64(int64(i)*1_000_003-7),
			bx.uint64(math.MaxUint64-uint64(i)),
			bx.float64(float64(i)+0.5),
			bx.bytes([]byte(strconv.Itoa(i))),
			bx.time(time.Unix(int64(i), 0).UTC()))
		if i%128 == 0 {
			bx.release()
		}
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			v := vals[5*i : 5*i+5]
			require.Equal(t, int64(i)*1_000_003-7, v[0], "int64 %d", i)
			require.Equal(t, uint64(math.MaxUint64-uint64(i)), v[1], "uint64 %d", i)
			require.Equal(t, float64(i)+0.5, v[2], "float64 %d", i)
			require.Equal(t, []byte(strconv.Itoa(i)), v[3], "bytes %d", i)
			require.Equal(t, time.Unix(int64(i), 0).UTC(), v[4], "time %d", i)
		}
		bx = boxer{}
		runtimeGC()
	}
}

func runtimeGC() { runtime.GC() }
