package protocol

import (
	"bytes"
	"encoding/binary"
)

// reader decodes one packet payload. Every read is bounds-checked; the first failure sticks (later reads
// return zero values) and is reported by err, naming the packet being decoded. Slices it returns alias src.
type reader struct {
	src    []byte
	pos    int
	packet string
	fail   error
}

func newReader(packet string, src []byte) reader { return reader{src: src, packet: packet} }

func (r *reader) err() error { return r.fail }

func (r *reader) setErr(format string, args ...any) {
	if r.fail == nil {
		r.fail = protoErr(r.packet, format, args...)
	}
}

func (r *reader) remaining() int { return len(r.src) - r.pos }

func (r *reader) need(n int, what string) bool {
	if r.fail != nil {
		return false
	}
	if n < 0 || n > len(r.src)-r.pos {
		r.setErr("%s: need %d bytes at offset %d, have %d", what, n, r.pos, len(r.src)-r.pos)
		return false
	}
	return true
}

func (r *reader) uint8(what string) uint8 {
	if !r.need(1, what) {
		return 0
	}
	v := r.src[r.pos]
	r.pos++
	return v
}

func (r *reader) uint16(what string) uint16 {
	if !r.need(2, what) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.src[r.pos:])
	r.pos += 2
	return v
}

func (r *reader) uint32(what string) uint32 {
	if !r.need(4, what) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.src[r.pos:])
	r.pos += 4
	return v
}

// bytes returns the next n bytes (aliasing src).
func (r *reader) bytes(n int, what string) []byte {
	if !r.need(n, what) {
		return nil
	}
	b := r.src[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return b
}

func (r *reader) skip(n int, what string) {
	if r.need(n, what) {
		r.pos += n
	}
}

// rest returns everything left (aliasing src).
func (r *reader) rest() []byte {
	if r.fail != nil {
		return nil
	}
	b := r.src[r.pos:len(r.src):len(r.src)]
	r.pos = len(r.src)
	return b
}

// nulString reads up to a NUL byte and consumes the NUL.
func (r *reader) nulString(what string) []byte {
	if r.fail != nil {
		return nil
	}
	i := bytes.IndexByte(r.src[r.pos:], 0)
	if i < 0 {
		r.setErr("%s: missing NUL terminator", what)
		return nil
	}
	b := r.src[r.pos : r.pos+i : r.pos+i]
	r.pos += i + 1
	return b
}

// lenencInt reads a length-encoded integer. null reports the 0xFB NULL marker.
func (r *reader) lenencInt(what string) (v uint64, null bool) {
	if !r.need(1, what) {
		return 0, false
	}
	v, null, n := ReadLenEncInt(r.src[r.pos:])
	if n == 0 {
		r.setErr("%s: truncated or invalid length-encoded integer at offset %d", what, r.pos)
		return 0, false
	}
	r.pos += n
	return v, null
}

// lenencBytes reads a length-encoded string; the length is checked against the bytes present before use.
func (r *reader) lenencBytes(what string) []byte {
	n, null := r.lenencInt(what)
	if r.fail != nil {
		return nil
	}
	if null {
		r.setErr("%s: unexpected NULL", what)
		return nil
	}
	if n > uint64(len(r.src)-r.pos) {
		r.setErr("%s: length %d exceeds the %d bytes left in the packet", what, n, len(r.src)-r.pos)
		return nil
	}
	return r.bytes(int(n), what)
}

// ReadLenEncInt decodes a length-encoded integer at the start of b. It returns the value, whether it was the
// NULL marker 0xFB, and the number of bytes used; n == 0 means b is truncated or starts with 0xFF (invalid).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_dt_integers.html.
func ReadLenEncInt(b []byte) (v uint64, null bool, n int) {
	if len(b) == 0 {
		return 0, false, 0
	}
	switch c := b[0]; {
	case c < 0xfb:
		return uint64(c), false, 1
	case c == 0xfb:
		return 0, true, 1
	case c == 0xfc:
		if len(b) < 3 {
			return 0, false, 0
		}
		return uint64(b[1]) | uint64(b[2])<<8, false, 3
	case c == 0xfd:
		if len(b) < 4 {
			return 0, false, 0
		}
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, false, 4
	case c == 0xfe:
		if len(b) < 9 {
			return 0, false, 0
		}
		return binary.LittleEndian.Uint64(b[1:]), false, 9
	default: // 0xff is an error marker, never a length
		return 0, false, 0
	}
}

// AppendLenEncInt appends n as a length-encoded integer.
func AppendLenEncInt(dst []byte, n uint64) []byte {
	switch {
	case n < 0xfb:
		return append(dst, byte(n))
	case n <= 0xffff:
		return append(dst, 0xfc, byte(n), byte(n>>8))
	case n <= 0xffffff:
		return append(dst, 0xfd, byte(n), byte(n>>8), byte(n>>16))
	default:
		dst = append(dst, 0xfe)
		return AppendUint64(dst, n)
	}
}

// AppendLenEncString appends s prefixed by its length-encoded length.
func AppendLenEncString(dst []byte, s string) []byte {
	dst = AppendLenEncInt(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendLenEncBytes appends b prefixed by its length-encoded length.
func AppendLenEncBytes(dst []byte, b []byte) []byte {
	dst = AppendLenEncInt(dst, uint64(len(b)))
	return append(dst, b...)
}

// AppendNulString appends s followed by a NUL byte.
func AppendNulString(dst []byte, s string) []byte {
	dst = append(dst, s...)
	return append(dst, 0)
}

// AppendUint16 appends v little-endian.
func AppendUint16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }

// AppendUint32 appends v little-endian.
func AppendUint32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

// AppendUint64 appends v little-endian.
func AppendUint64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }
