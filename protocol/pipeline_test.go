package protocol

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// COM_STMT_BULK_EXECUTE layout (https://mariadb.com/kb/en/com_stmt_bulk_execute/): the types are sent once,
// from each column's first non-NULL value; each row has one indicator byte per parameter.
func TestAppendBulkExecute(t *testing.T) {
	rows := [][]Param{
		{{Kind: ParamNull}, {Kind: ParamString, S: "ab"}, {Kind: ParamUint, U: 2}},
		{{Kind: ParamInt, I: -1}, {Kind: ParamNull}, {Kind: ParamUint, U: 3}},
		{{Kind: ParamTime, T: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)}, {Kind: ParamBytes, B: []byte{0}}, {Kind: ParamDouble, F: 0.5}},
	}
	got := AppendBulkExecute(nil, LastPrepared, rows[:2], false)
	want := []byte{
		0xfa,                   // COM_STMT_BULK_EXECUTE
		0xff, 0xff, 0xff, 0xff, // statement id -1: the one prepared just before
		0x80, 0x00, // flags: SEND_TYPES_TO_SERVER
		byte(TypeLongLong), 0x00, // column 1: first non-NULL is a signed integer
		byte(TypeVarString), 0x00, // column 2: string
		byte(TypeLongLong), 0x80, // column 3: unsigned
		// row 1
		0x01,                 // NULL
		0x00, 0x02, 'a', 'b', // value: lenenc string
		0x00, 2, 0, 0, 0, 0, 0, 0, 0, // value: 8-byte integer
		// row 2
		0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01,
		0x00, 3, 0, 0, 0, 0, 0, 0, 0,
	}
	assert.Equal(t, want, got)

	// Every kind encodes as in COM_STMT_EXECUTE.
	got = AppendBulkExecute(nil, 7, rows[2:], false)
	exec := AppendExecute(nil, 7, rows[2])
	assert.Equal(t, []byte{byte(TypeDateTime), 0, byte(TypeBlob), 0, byte(TypeDouble), 0}, got[7:13])
	// COM_STMT_EXECUTE: cmd, id, flags, iterations (10), NULL bitmap (1), bound (1), types (6), then values.
	assert.Equal(t, exec[18:18+5], got[14:19], "DATETIME value")
}
