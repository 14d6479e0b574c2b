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
// chunks, and survive garbage collections. []byte values are those of the current row: they stay intact
// until their column's next value.
func TestBoxerValuesStayIntact(t *testing.T) {
	var bx boxer
	const n = 5*128 + 3 // several chunks of the default boxer
	vals := make([]driver.Value, 0, 4*n)
	for i := 0; i < n; i++ {
		vals = append(vals,
			bx.int64(int64(i)*1_000_003-7),
			bx.uint64(math.MaxUint64-uint64(i)),
			bx.float64(float64(i)+0.5),
			bx.time(time.Unix(int64(i), 0).UTC()))
		if i%128 == 0 {
			bx.release()
		}
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			v := vals[4*i : 4*i+4]
			require.Equal(t, int64(i)*1_000_003-7, v[0], "int64 %d", i)
			require.Equal(t, uint64(math.MaxUint64-uint64(i)), v[1], "uint64 %d", i)
			require.Equal(t, float64(i)+0.5, v[2], "float64 %d", i)
			require.Equal(t, time.Unix(int64(i), 0).UTC(), v[3], "time %d", i)
		}
		bx = boxer{}
		runtimeGC()
	}
}

// The []byte values of a row, one per column, are distinct and intact until the next row; the slots grow
// with the column count (also in the middle of a row) and keep the values already handed out.
func TestBoxerBytesPerColumn(t *testing.T) {
	var bx boxer
	for row := 0; row < 3; row++ {
		cols := 5 + 20*row // more columns each row: the slots grow
		vals := make([]driver.Value, cols)
		for i := range vals {
			vals[i] = bx.bytesAt(i, []byte(strconv.Itoa(row*1000+i)))
		}
		runtimeGC()
		for i, v := range vals {
			require.Equal(t, []byte(strconv.Itoa(row*1000+i)), v, "row %d column %d", row, i)
		}
	}
	bx.release()
}

func runtimeGC() { runtime.GC() }
