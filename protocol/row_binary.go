package protocol

import (
	"encoding/binary"
	"math"
)

// ValueKind tells which fields of a BinaryValue hold a decoded binary-protocol value.
type ValueKind uint8

// Binary value kinds.
const (
	ValNull     ValueKind = iota
	ValInt                // I (signed integer column)
	ValUint               // U (UNSIGNED integer column)
	ValFloat32            // F holds the float32 value widened exactly
	ValFloat64            // F
	ValBytes              // B: strings, blobs, DECIMAL, BIT, JSON, ENUM, SET, GEOMETRY (aliases the packet)
	ValDateTime           // DATE, DATETIME, TIMESTAMP: Year..Micro
	ValTime               // TIME: Neg, Days, Hour, Minute, Second, Micro
)

// BinaryValue is one decoded value of a binary-protocol row.
type BinaryValue struct {
	Kind ValueKind
	I    int64
	U    uint64
	F    float64
	B    []byte

	Year                 uint16
	Month, Day           uint8
	Hour, Minute, Second uint8
	Micro                uint32
	Neg                  bool
	Days                 uint32
}

// DecodeBinaryRow decodes a binary-protocol row (header 0x00, NULL bitmap with offset 2, values) using the
// column types. dst must have one slot per column. Byte values alias payload.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html.
func DecodeBinaryRow(payload []byte, cols []Column, dst []BinaryValue) error {
	const pkt = "BinaryResultsetRow"
	n := len(cols)
	nb := (n + 7 + 2) / 8
	if len(payload) < 1+nb || payload[0] != 0x00 {
		return protoErr(pkt, "row of %d bytes is too short for %d columns or has a bad header", len(payload), n)
	}
	bitmap := payload[1 : 1+nb]
	pos := 1 + nb
	need := func(k int, i int) bool {
		return k >= 0 && k <= len(payload)-pos
	}
	for i := range cols {
		v := &dst[i]
		bit := i + 2
		if bitmap[bit/8]&(1<<(bit%8)) != 0 {
			v.Kind = ValNull
			continue
		}
		col := &cols[i]
		unsigned := col.Flags&FlagUnsigned != 0
		switch col.Type {
		case TypeNull:
			v.Kind = ValNull
		case TypeTiny:
			if !need(1, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			b := payload[pos]
			pos++
			if unsigned {
				v.Kind, v.U = ValUint, uint64(b)
			} else {
				v.Kind, v.I = ValInt, int64(int8(b))
			}
		case TypeShort, TypeYear:
			if !need(2, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			u := binary.LittleEndian.Uint16(payload[pos:])
			pos += 2
			if unsigned || col.Type == TypeYear {
				v.Kind, v.U = ValUint, uint64(u)
			} else {
				v.Kind, v.I = ValInt, int64(int16(u))
			}
		case TypeInt24, TypeLong:
			if !need(4, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			u := binary.LittleEndian.Uint32(payload[pos:])
			pos += 4
			if unsigned {
				v.Kind, v.U = ValUint, uint64(u)
			} else {
				v.Kind, v.I = ValInt, int64(int32(u))
			}
		case TypeLongLong:
			if !need(8, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			u := binary.LittleEndian.Uint64(payload[pos:])
			pos += 8
			if unsigned {
				v.Kind, v.U = ValUint, u
			} else {
				v.Kind, v.I = ValInt, int64(u)
			}
		case TypeFloat:
			if !need(4, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			v.Kind, v.F = ValFloat32, float64(math.Float32frombits(binary.LittleEndian.Uint32(payload[pos:])))
			pos += 4
		case TypeDouble:
			if !need(8, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			v.Kind, v.F = ValFloat64, math.Float64frombits(binary.LittleEndian.Uint64(payload[pos:]))
			pos += 8
		case TypeDate, TypeNewDate, TypeDateTime, TypeDateTime2, TypeTimestamp, TypeTimestamp2:
			if !need(1, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			l := int(payload[pos])
			pos++
			if l != 0 && l != 4 && l != 7 && l != 11 || !need(l, i) {
				return protoErr(pkt, "column %d (%s): invalid length %d", i, col.Type, l)
			}
			*v = BinaryValue{Kind: ValDateTime}
			b := payload[pos : pos+l]
			pos += l
			if l >= 4 {
				v.Year = binary.LittleEndian.Uint16(b)
				v.Month, v.Day = b[2], b[3]
			}
			if l >= 7 {
				v.Hour, v.Minute, v.Second = b[4], b[5], b[6]
			}
			if l == 11 {
				v.Micro = binary.LittleEndian.Uint32(b[7:])
			}
		case TypeTime, TypeTime2:
			if !need(1, i) {
				return protoErr(pkt, "column %d (%s): truncated", i, col.Type)
			}
			l := int(payload[pos])
			pos++
			if l != 0 && l != 8 && l != 12 || !need(l, i) {
				return protoErr(pkt, "column %d (%s): invalid length %d", i, col.Type, l)
			}
			*v = BinaryValue{Kind: ValTime}
			b := payload[pos : pos+l]
			pos += l
			if l >= 8 {
				v.Neg = b[0] == 1
				v.Days = binary.LittleEndian.Uint32(b[1:])
				v.Hour, v.Minute, v.Second = b[5], b[6], b[7]
			}
			if l == 12 {
				v.Micro = binary.LittleEndian.Uint32(b[8:])
			}
		default:
			ln, null, m := ReadLenEncInt(payload[pos:])
			if m == 0 || null {
				return protoErr(pkt, "column %d (%s): invalid length", i, col.Type)
			}
			pos += m
			if ln > uint64(len(payload)-pos) {
				return protoErr(pkt, "column %d (%s): length %d exceeds the %d bytes left", i, col.Type, ln, len(payload)-pos)
			}
			end := pos + int(ln)
			v.Kind, v.B = ValBytes, payload[pos:end:end]
			pos = end
		}
	}
	if pos != len(payload) {
		return protoErr(pkt, "%d trailing bytes after %d values", len(payload)-pos, n)
	}
	return nil
}
