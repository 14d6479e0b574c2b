package protocol

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Captured from MariaDB 10.11: COM_STMT_PREPARE_OK for a statement with 6 columns and 1 parameter.
func TestStmtPrepareOK(t *testing.T) {
	raw := unhex(t, "00"+ // status OK
		"01000000"+ // statement id 1
		"0600"+ // 6 columns
		"0100"+ // 1 parameter
		"00"+ // reserved
		"0000") // 0 warnings
	var p StmtPrepareOK
	require.NoError(t, p.Decode(raw))
	require.Equal(t, StmtPrepareOK{StatementID: 1, NumColumns: 6, NumParams: 1}, p)
	for i := 0; i < 10; i++ {
		require.Error(t, p.Decode(raw[:i]), "cut at %d", i)
	}
	require.Error(t, p.Decode(unhex(t, "ff 0100000006000100000000")))
}

// COM_STMT_EXECUTE sent for statement 1 with one string argument "hi" (captured bytes).
func TestAppendExecute(t *testing.T) {
	got := AppendExecute(nil, 1, []Param{{Kind: ParamString, S: "hi"}})
	require.Equal(t, unhex(t, "17"+ // COM_STMT_EXECUTE
		"01000000"+ // statement id
		"00"+ // flags: CURSOR_TYPE_NO_CURSOR
		"01000000"+ // iteration count
		"00"+ // NULL bitmap
		"01"+ // new-params-bound
		"fd00"+ // type VAR_STRING, signed
		"026869"), got) // "hi"

	got = AppendExecute(nil, 7, []Param{
		{Kind: ParamNull}, {Kind: ParamInt, I: -2}, {Kind: ParamUint, U: 1 << 63}, {Kind: ParamDouble, F: 1.5},
		{Kind: ParamBytes, B: []byte{0}}, {Kind: ParamTime, T: time.Date(2024, 2, 29, 12, 34, 56, 500000000, time.UTC)},
		{Kind: ParamLongData}, {Kind: ParamNull}, {Kind: ParamNull},
	})
	require.Equal(t, unhex(t, "17 07000000 00 01000000"+
		"8101"+ // NULL bitmap: params 0, 7, 8
		"01"+
		"0600 0800 0880 0500 fc00 0c00 fc00 0600 0600"+ // types
		"feffffffffffffff"+ // -2
		"0000000000000080"+ // 1<<63
		"000000000000f83f"+ // 1.5
		"0100"+ // blob
		"0b e807 02 1d 0c 22 38 20a10700"), got) // DATETIME with microseconds; long data sends no value
}

// A binary row captured from MariaDB for
// SELECT ? AS a, CAST(-5 AS SIGNED) AS i, NULL AS n, CAST('2024-02-29 12:34:56.5' AS DATETIME(1)), CAST('-01:02:03' AS TIME), 1.5e0.
const fixtureBinaryRow = "00" + // header
	"10" + // NULL bitmap (offset 2): column 2 is NULL
	"026869" + // a: VAR_STRING "hi"
	"fbffffff" + // i: LONG -5
	"0b e807 02 1d 0c 22 38 20a10700" + // dt: length 11, 2024-02-29 12:34:56.500000
	"08 01 00000000 01 02 03" + // tm: length 8, negative, 0 days, 01:02:03
	"000000000000f83f" // d: DOUBLE 1.5

var fixtureBinaryCols = []Column{
	{Name: "a", Type: TypeVarString, Charset: 45},
	{Name: "i", Type: TypeLong, Flags: FlagNotNull | FlagBinary},
	{Name: "n", Type: TypeNull},
	{Name: "dt", Type: TypeDateTime, Decimals: 1},
	{Name: "tm", Type: TypeTime},
	{Name: "d", Type: TypeDouble, Decimals: 31},
}

func TestDecodeBinaryRow(t *testing.T) {
	raw := unhex(t, fixtureBinaryRow)
	vals := make([]BinaryValue, len(fixtureBinaryCols))
	require.NoError(t, DecodeBinaryRow(raw, fixtureBinaryCols, vals))
	require.Equal(t, BinaryValue{Kind: ValBytes, B: []byte("hi")}, vals[0])
	require.Equal(t, BinaryValue{Kind: ValInt, I: -5}, vals[1])
	require.Equal(t, ValNull, vals[2].Kind)
	require.Equal(t, BinaryValue{Kind: ValDateTime, Year: 2024, Month: 2, Day: 29, Hour: 12, Minute: 34, Second: 56, Micro: 500000}, vals[3])
	require.Equal(t, BinaryValue{Kind: ValTime, Neg: true, Hour: 1, Minute: 2, Second: 3}, vals[4])
	require.Equal(t, BinaryValue{Kind: ValFloat64, F: 1.5}, vals[5])
	for i := 0; i < len(raw); i++ {
		require.Error(t, DecodeBinaryRow(raw[:i], fixtureBinaryCols, vals), "cut at %d", i)
	}
	require.Error(t, DecodeBinaryRow(append(raw, 0), fixtureBinaryCols, vals), "trailing byte")
	// Unsigned and small integer widths.
	cols := []Column{{Type: TypeTiny}, {Type: TypeTiny, Flags: FlagUnsigned}, {Type: TypeShort}, {Type: TypeLongLong, Flags: FlagUnsigned}, {Type: TypeYear}, {Type: TypeFloat}}
	row := unhex(t, "00 00 ff ff feff ffffffffffffffff e807 0000c03f")
	vals = make([]BinaryValue, len(cols))
	require.NoError(t, DecodeBinaryRow(row, cols, vals))
	require.Equal(t, int64(-1), vals[0].I)
	require.Equal(t, uint64(255), vals[1].U)
	require.Equal(t, int64(-2), vals[2].I)
	require.Equal(t, uint64(1<<64-1), vals[3].U)
	require.Equal(t, uint64(2024), vals[4].U)
	require.Equal(t, ValFloat32, vals[5].Kind)
	require.Equal(t, 1.5, vals[5].F)
}

func FuzzDecodeBinaryRow(f *testing.F) {
	f.Add(unhex(f, fixtureBinaryRow))
	f.Fuzz(func(t *testing.T, b []byte) {
		vals := make([]BinaryValue, len(fixtureBinaryCols))
		_ = DecodeBinaryRow(b, fixtureBinaryCols, vals)
	})
}

func FuzzStmtPrepareOK(f *testing.F) {
	f.Add(unhex(f, "00 01000000 0600 0100 00 0000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p StmtPrepareOK
		_ = p.Decode(b)
	})
}
