//go:build !rawmysql_safe && !purego

package rawmysql

import (
	"database/sql/driver"
	"time"
	"unsafe"
)

// Boxing: database/sql takes row values as driver.Value (an interface), and putting an int64, float64, []byte
// or time.Time into an interface allocates a copy of it on the heap, once per value. Those allocations are most
// of the garbage a scan produces. A boxer instead writes each value into a slot it owns and builds the
// interface pointing at that slot.
//
// Numbers and times go to slots of chunks allocated for boxChunk values: one allocation per boxChunk values.
// Such a slot is written once and never reused (the next value takes the next slot; a used-up chunk is left to
// the garbage collector), so a number or time handed to database/sql, and possibly kept by the caller (an
// int64 scanned into *any, a sql.Scanner keeping its src), never changes afterwards. The cost: a kept value
// keeps its whole chunk (at most boxChunk slots) reachable.
//
// A []byte value goes to the slot of its column, rewritten on every row (bytesAt). Its bytes alias the read
// buffer and, by the driver.Rows and sql.Scanner contracts, are valid only until the next call to Next:
// database/sql copies them whenever it keeps them (Scan into *[]byte, *any, *string, a named []byte type),
// sql.RawBytes copies the slice header, and a Scanner must copy them. So nothing may keep the boxed []byte
// itself across rows, and its slice header needs no slot of its own. Slots of fresh chunks for []byte values
// were 72 of the 96 bytes a row of the bench/ typed scan allocated in the driver (three []byte columns); the
// allocations set how often the garbage collector runs during a scan.
//
// Building an interface by hand relies on the runtime's layout of an empty interface (a type word, then a
// pointer to the value). A self-check at start-up (boxLayoutOK) compares that assumption with interfaces the
// runtime built; if it fails, every value is boxed the ordinary way. Building with the tag rawmysql_safe (or
// purego) leaves this file and its unsafe out altogether (box_safe.go).
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

// boxLayoutOK reports whether the start-up self-check found the interface layout makeIface assumes. When it is
// false (a runtime that lays interfaces out differently) the boxer returns values boxed by the runtime. Tests
// set it to exercise that fallback.
var boxLayoutOK = checkBoxLayout(readEface)

// readEface returns the two words of *v as the runtime stores them.
func readEface(v *any) eface { return *(*eface)(unsafe.Pointer(v)) }

// checkBoxLayout checks, on interfaces built by the runtime and read with read, that the first word is the
// type (equal for two values of a type, different between types) and the second points to the value; then
// that interfaces built by makeIface hold what was written, for every type the boxer builds. Values are read
// through the second word only after the first checks passed, and only as the 8-byte value it should hold (a
// swapped layout would read a type descriptor there, which is larger), so a wrong layout returns false
// instead of crashing.
func checkBoxLayout(read func(*any) eface) bool {
	if unsafe.Sizeof(eface{}) != unsafe.Sizeof(any(nil)) {
		return false
	}
	const a, b = int64(0x5eed_1234_abcd_0001), int64(-0x7a11_0000_0000_0042)
	va, vb, vf := any(a), any(b), any(float64(1.5))
	ea, eb, ef := read(&va), read(&vb), read(&vf)
	if ea.typ == nil || ea.data == nil || ea.typ != eb.typ || ea.typ == ef.typ || ea.typ != int64Type ||
		ef.typ != float64Type || *(*int64)(ea.data) != a || *(*int64)(eb.data) != b {
		return false
	}
	i, u, f, f32 := a, uint64(1<<63+5), 3.25, float32(-0.75)
	bs := []byte("layout")
	tm := time.Date(2024, 2, 29, 12, 34, 56, 123456000, time.UTC)
	gi, ok1 := makeIface(int64Type, unsafe.Pointer(&i)).(int64)
	gu, ok2 := makeIface(uint64Type, unsafe.Pointer(&u)).(uint64)
	gf, ok3 := makeIface(float64Type, unsafe.Pointer(&f)).(float64)
	gf32, ok4 := makeIface(float32Type, unsafe.Pointer(&f32)).(float32)
	gb, ok5 := makeIface(bytesType, unsafe.Pointer(&bs)).([]byte)
	gt, ok6 := makeIface(timeType, unsafe.Pointer(&tm)).(time.Time)
	return ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && gi == i && gu == u && gf == f && gf32 == f32 &&
		len(gb) == len(bs) && &gb[0] == &bs[0] && gt == tm
}

// makeIface builds an interface of type typ whose value is *p.
func makeIface(typ, p unsafe.Pointer) (v driver.Value) {
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// boxer hands out boxed values from chunks, and []byte values from the slots of their columns. The zero value
// is ready to use; it belongs to one connection.
//
// Each chunk is used from its start, its next free slot given by an index: handing out a slot writes no
// pointer into the boxer (re-slicing the chunk would store a new slice pointer each time, a write barrier
// per value while the garbage collector runs).
type boxer struct {
	ints   chunk[int64]
	uints  chunk[uint64]
	floats chunk[float64]
	f32s   chunk[float32]
	times  chunk[time.Time]
	// cols[i] is the []byte value of column i of the current row (see bytesAt).
	cols [][]byte
}

// chunk is a block of slots; s[next:] are unused.
type chunk[T any] struct {
	s    []T
	next int
}

// release is called when a result set ends: the column slots let go of the values of the last row, so they
// do not keep a read buffer (possibly a large one, dropped when the connection goes idle) reachable. The slots
// of a very wide result are not kept for the next one.
func (b *boxer) release() {
	if len(b.cols) > maxKeptCols {
		b.cols = nil
	}
	clear(b.cols)
}

// maxKeptCols is the most column slots a boxer keeps between result sets.
const maxKeptCols = 1024

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
	if uint64(v) < 256 || !boxLayoutOK {
		return v // the runtime boxes small integers without allocating
	}
	return makeIface(int64Type, slot(&b.ints, boxChunk, v))
}

func (b *boxer) uint64(v uint64) driver.Value {
	if !boxLayoutOK {
		return v
	}
	return makeIface(uint64Type, slot(&b.uints, boxChunk, v))
}

func (b *boxer) float64(v float64) driver.Value {
	if !boxLayoutOK {
		return v
	}
	return makeIface(float64Type, slot(&b.floats, boxChunk, v))
}

func (b *boxer) float32(v float32) driver.Value {
	if !boxLayoutOK {
		return v
	}
	return makeIface(float32Type, slot(&b.f32s, boxChunk, v))
}

// bytesAt boxes v as the []byte value of column i of the current row, in the column's slot: the slot, and so
// the value of the previous row's column i, is rewritten by the next row. Values of different columns of a row
// never share a slot.
func (b *boxer) bytesAt(i int, v []byte) driver.Value {
	if !boxLayoutOK {
		return v
	}
	if i >= len(b.cols) {
		b.growCols(i)
	}
	p := &b.cols[i]
	*p = v
	return makeIface(bytesType, unsafe.Pointer(p))
}

// growCols makes room for the slot of column i. The slots of the current row stay where they are (values
// handed out for it keep pointing into the old array, which only they keep reachable).
func (b *boxer) growCols(i int) {
	cols := make([][]byte, max(i+1, 2*len(b.cols), 8))
	copy(cols, b.cols)
	b.cols = cols
}

func (b *boxer) time(v time.Time) driver.Value {
	if !boxLayoutOK {
		return v
	}
	return makeIface(timeType, slot(&b.times, boxChunk/4, v))
}
