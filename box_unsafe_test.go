//go:build !rawmysql_safe && !purego

package rawmysql

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ending a result set clears the column slots, so they do not keep the last row's buffer reachable; the
// slots of a very wide result are dropped.
func TestBoxerReleaseClearsColumnSlots(t *testing.T) {
	var bx boxer
	v := bx.bytesAt(2, make([]byte, 1<<20))
	assert.Len(t, v.([]byte), 1<<20)
	bx.release()
	for i, s := range bx.cols {
		assert.Nil(t, s, "slot %d", i)
	}
	assert.NotNil(t, bx.cols, "slots kept")
	bx.bytesAt(maxKeptCols, []byte("x"))
	bx.release()
	assert.Nil(t, bx.cols, "slots of a very wide result")
}

// Boxing []byte values into the column slots allocates nothing once the slots exist; the other types
// take one allocation per chunk, not per value.
func TestBoxerBytesAllocations(t *testing.T) {
	var bx boxer
	b := []byte("abc")
	bx.bytesAt(5, b)
	allocs := testing.AllocsPerRun(100, func() {
		for i := 0; i < 6; i++ {
			_ = bx.bytesAt(i, b)
		}
	})
	assert.Zero(t, allocs)
}

// Boxing takes one allocation per chunk, not per value.
func TestBoxerAllocations(t *testing.T) {
	var bx boxer
	allocs := testing.AllocsPerRun(10, func() {
		for i := 0; i < boxChunk; i++ {
			_ = bx.int64(int64(i) + 1000)
			_ = bx.float64(float64(i))
		}
	})
	assert.LessOrEqual(t, allocs, 2.0)
}

// The start-up self-check accepts this runtime's interface layout and refuses layouts it does not match,
// without crashing: the two words swapped, a zero type word.
func TestBoxLayoutSelfCheck(t *testing.T) {
	require.True(t, boxLayoutOK, "this runtime's layout")
	assert.True(t, checkBoxLayout(readEface))
	swapped := func(v *any) eface {
		e := readEface(v)
		return eface{typ: e.data, data: e.typ}
	}
	assert.False(t, checkBoxLayout(swapped), "type and data words swapped")
	noType := func(v *any) eface { return eface{data: readEface(v).data} }
	assert.False(t, checkBoxLayout(noType), "no type word")
}

// When the self-check fails, the boxer hands out values the runtime boxed: the same values, and none of its
// chunks is used.
func TestBoxerFallsBackWhenLayoutCheckFails(t *testing.T) {
	saved := boxLayoutOK
	boxLayoutOK = false
	t.Cleanup(func() { boxLayoutOK = saved })
	var bx boxer
	tm := time.Date(2024, 2, 29, 12, 34, 56, 0, time.UTC)
	assert.Equal(t, int64(1_000_003), bx.int64(1_000_003))
	assert.Equal(t, uint64(math.MaxUint64), bx.uint64(math.MaxUint64))
	assert.Equal(t, 2.5, bx.float64(2.5))
	assert.Equal(t, float32(-0.75), bx.float32(-0.75))
	assert.Equal(t, []byte("abc"), bx.bytesAt(0, []byte("abc")))
	assert.Equal(t, tm, bx.time(tm))
	assert.Nil(t, bx.ints.s)
	assert.Nil(t, bx.uints.s)
	assert.Nil(t, bx.floats.s)
	assert.Nil(t, bx.f32s.s)
	assert.Nil(t, bx.cols)
	assert.Nil(t, bx.times.s)
}
