//go:build !rawmysql_safe && !purego

package rawmysql

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A large []byte value makes the boxer drop its chunk when the result ends, so the chunk does not keep the
// large buffer reachable; small values keep using it.
func TestBoxerReleasesChunkOfLargeValues(t *testing.T) {
	var bx boxer
	bx.bytes([]byte("small"))
	bx.release()
	assert.Equal(t, boxChunk-1, len(bx.slices.s)-bx.slices.next, "free slots left")
	v := bx.bytes(make([]byte, bigValue))
	assert.Len(t, v.([]byte), bigValue)
	bx.release()
	assert.Nil(t, bx.slices.s)
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
	assert.Equal(t, []byte("abc"), bx.bytes([]byte("abc")))
	assert.Equal(t, tm, bx.time(tm))
	assert.Nil(t, bx.ints.s)
	assert.Nil(t, bx.uints.s)
	assert.Nil(t, bx.floats.s)
	assert.Nil(t, bx.f32s.s)
	assert.Nil(t, bx.slices.s)
	assert.Nil(t, bx.times.s)
}
