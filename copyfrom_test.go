package rawmysql

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeLoadData parses data in CopyFrom's LOAD DATA format as the server does (FIELDS TERMINATED BY '\t'
// ENCLOSED BY ” ESCAPED BY '\' LINES TERMINATED BY '\n'): a field that is exactly \N is NULL (nil); \0 \b \n \r
// \t \Z are NUL, backspace, newline, carriage return, tab, ^Z; a backslash before any other byte keeps that
// byte.
func decodeLoadData(data []byte) ([][][]byte, error) {
	var rows [][][]byte
	var row [][]byte
	var field []byte
	raw := 0 // bytes of the field as written (to spot \N alone)
	isNull := false
	endField := func() {
		if isNull && raw == 2 {
			row = append(row, nil)
		} else {
			row = append(row, append([]byte{}, field...))
		}
		field, raw, isNull = field[:0], 0, false
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\\':
			if i+1 == len(data) {
				return nil, errors.New("backslash at the end")
			}
			i++
			e := data[i]
			raw += 2
			switch e {
			case '0':
				field = append(field, 0)
			case 'b':
				field = append(field, '\b')
			case 'n':
				field = append(field, '\n')
			case 'r':
				field = append(field, '\r')
			case 't':
				field = append(field, '\t')
			case 'Z':
				field = append(field, 0x1a)
			case 'N':
				if raw == 2 {
					isNull = true
				}
				field = append(field, 'N')
			default:
				field = append(field, e)
			}
		case '\t':
			endField()
		case '\n':
			endField()
			rows = append(rows, row)
			row = nil
		default:
			raw++
			field = append(field, c)
		}
	}
	if raw != 0 || row != nil {
		return nil, errors.New("last line not terminated")
	}
	return rows, nil
}

// FuzzLoadDataEscape: any strings and byte values escaped by CopyFrom decode (by the server's rules) to the
// very values, NULL stays NULL, and the field and line structure is kept.
func FuzzLoadDataEscape(f *testing.F) {
	f.Add("a\tb", []byte("\\N"), "\n", true)
	f.Add("\\", []byte{0, 0x1a, '\r'}, "\\N", false)
	f.Add("", []byte{}, "NULL", true)
	c := &conn{cfg: NewConfig()}
	f.Fuzz(func(t *testing.T, s string, b []byte, s2 string, null bool) {
		row := []any{s, b, s2, nil}
		if null {
			row[1] = []byte(nil)
		}
		var buf []byte
		for i, v := range row {
			if i > 0 {
				buf = append(buf, '\t')
			}
			var err error
			buf, err = c.appendLoadDataField(buf, v)
			require.NoError(t, err)
		}
		buf = append(buf, '\n')
		rows, err := decodeLoadData(append(buf, buf...))
		require.NoError(t, err)
		require.Len(t, rows, 2)
		for _, r := range rows {
			require.Len(t, r, 4)
			assert.Equal(t, []byte(s), r[0])
			if null {
				assert.Nil(t, r[1])
			} else {
				assert.True(t, bytes.Equal(b, r[1]) && r[1] != nil, "%q vs %q", b, r[1])
			}
			assert.Equal(t, []byte(s2), r[2])
			assert.Nil(t, r[3])
		}
	})
}
