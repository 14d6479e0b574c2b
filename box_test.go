package rawmysql

import (
	"database/sql/driver"
	"math"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Values handed out by a boxer keep their value and type while later values fill the same and following
// chunks, and survive garbage collections.
func TestBoxerValuesStayIntact(t *testing.T) {
	var bx boxer
	const n = 5*boxChunk + 3
	vals := make([]driver.Value, 0, 5*n)
	for i := 0; i < n; i++ {
		vals = append(vals,
			bx.int64(int64(i)*1_000_003-7),
			bx.uint64(math.MaxUint64-uint64(i)),
			bx.float64(float64(i)+0.5),
			bx.bytes([]byte(strconv.Itoa(i))),
			bx.time(time.Unix(int64(i), 0).UTC()))
		if i%boxChunk == 0 {
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

// A large []byte value makes the boxer drop its chunk when the result ends, so the chunk does not keep the
// large buffer reachable; small values keep using it.
func TestBoxerReleasesChunkOfLargeValues(t *testing.T) {
	var bx boxer
	bx.bytes([]byte("small"))
	bx.release()
	assert.Len(t, bx.slices, boxChunk-1)
	v := bx.bytes(make([]byte, bigValue))
	assert.Len(t, v.([]byte), bigValue)
	bx.release()
	assert.Nil(t, bx.slices)
}

// Boxing takes one allocation per chunk, not per value.
func TestBoxerAllocations(t *testing.T) {
	var bx boxer
	b := []byte("abc")
	allocs := testing.AllocsPerRun(10, func() {
		for i := 0; i < boxChunk; i++ {
			_ = bx.int64(int64(i) + 1000)
			_ = bx.float64(float64(i))
			_ = bx.bytes(b)
		}
	})
	assert.LessOrEqual(t, allocs, 3.0)
}

func runtimeGC() { runtime.GC() }
