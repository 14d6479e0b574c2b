package rawmysql

import (
	"database/sql/driver"
	"time"
	"unsafe"
)

// Boxing: database/sql takes row values as driver.Value (an interface), and putting an int64, float64, []byte
// or time.Time into an interface allocates a copy of it on the heap, once per value. Those allocations are most
// of the garbage a scan produces. A boxer instead writes each value into a slot of a chunk allocated for
// boxChunk values and builds the interface pointing at that slot: one allocation per boxChunk values.
//
// A slot is written once and never reused (the next value takes the next slot; a used-up chunk is left to the
// garbage collector), so a value handed to database/sql, and possibly kept by the caller (an int64 scanned into
// *any, a sql.Scanner keeping its src), never changes afterwards. The bytes a []byte value points to follow the
// driver.Rows contract as before: they alias the read buffer and are valid until the next call to Next.
//
// The cost: a kept value keeps its whole chunk (at most boxChunk slots) reachable.
const boxChunk = 128

// eface is the layout of an empty interface (runtime.eface): type word, then a pointer to the value for
// types that are not pointer-shaped, as all the boxed types here are.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	int64Type   = typeWord(int64(0))
	uint64Type  = typeWord(uint64(0))
	float32Type = typeWord(float32(0))
	float64Type = typeWord(float64(0))
	bytesType   = typeWord([]byte(nil))
	timeType    = typeWord(time.Time{})
)

// makeIface builds an interface of type typ whose value is *p.
func makeIface(typ, p unsafe.Pointer) (v driver.Value) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// boxer hands out boxed values from chunks. The zero value is ready to use; it belongs to one connection.
//
// Each chunk is used from its start, its next free slot given by an index: handing out a slot writes no
// pointer into the boxer (re-slicing the chunk would store a new slice pointer each time, a write barrier
// per value while the garbage collector runs).
type boxer struct {
	ints   chunk[int64]
	uints  chunk[uint64]
	floats chunk[float64]
	f32s   chunk[float32]
	slices chunk[[]byte]
	times  chunk[time.Time]
	big    bool // a value of the current bytes chunk aliases a large buffer
}

// chunk is a block of slots; s[next:] are unused.
type chunk[T any] struct {
	s    []T
	next int
}

// bigValue is the size from which a boxed []byte makes the bytes chunk be dropped when the result ends, so
// the chunk's slot does not keep a large (possibly shrunk-away) read buffer reachable.
const bigValue = 64 << 10

// release is called when a result set ends.
func (b *boxer) release() {
	if b.big {
		b.slices, b.big = chunk[[]byte]{}, false
	}
}

// slot stores v in the next unused slot of c (a new chunk of n slots when it is used up) and returns the
// slot's address. A slot is handed out once and never written again.
func slot[T any](c *chunk[T], n int, v T) unsafe.Pointer {
	i := c.next
	if i >= len(c.s) {
		c.s = make([]T, n)
		i = 0
	}
	p := &c.s[i]
	*p = v
	c.next = i + 1
	return unsafe.Pointer(p)
}

func (b *boxer) int64(v int64) driver.Value {
	if uint64(v) < 256 {
		return v // the runtime boxes small integers without allocating
	}
	return makeIface(int64Type, slot(&b.ints, boxChunk, v))
}

func (b *boxer) uint64(v uint64) driver.Value {
	return makeIface(uint64Type, slot(&b.uints, boxChunk, v))
}

func (b *boxer) float64(v float64) driver.Value {
	return makeIface(float64Type, slot(&b.floats, boxChunk, v))
}

func (b *boxer) float32(v float32) driver.Value {
	return makeIface(float32Type, slot(&b.f32s, boxChunk, v))
}

func (b *boxer) bytes(v []byte) driver.Value {
	if len(v) >= bigValue {
		b.big = true
	}
	return makeIface(bytesType, slot(&b.slices, boxChunk, v))
}

func (b *boxer) time(v time.Time) driver.Value {
	return makeIface(timeType, slot(&b.times, boxChunk/4, v))
}
