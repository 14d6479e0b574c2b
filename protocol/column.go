package protocol

// Column is a decoded ColumnDefinition41.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_column_definition.html.
type Column struct {
	Catalog  string    // always "def"
	Schema   string    // database
	Table    string    // table alias
	OrgTable string    // physical table
	Name     string    // column alias
	OrgName  string    // physical column
	Charset  uint16    // collation id of the column (63 = binary)
	Length   uint32    // maximum display length in bytes
	Type     FieldType // MYSQL_TYPE_*
	Flags    FieldFlag // NOT_NULL, UNSIGNED, BINARY, ...
	Decimals uint8     // fractional digits (0x1f: not fixed)
}

// Decode parses a ColumnDefinition41 payload. Strings are copied: a Column outlives the read buffer.
// Layout: catalog, schema, table, org_table, name, org_name (each lenenc string), lenenc length of the fixed
// fields (0x0c), charset (2), column length (4), type (1), flags (2), decimals (1), filler (2).
func (c *Column) Decode(src []byte) error {
	r := newReader("ColumnDefinition41", src)
	catalog := r.lenencBytes("catalog")
	schema := r.lenencBytes("schema")
	table := r.lenencBytes("table")
	orgTable := r.lenencBytes("org_table")
	name := r.lenencBytes("name")
	orgName := r.lenencBytes("org_name")
	fixed, _ := r.lenencInt("length of fixed fields")
	if r.err() == nil && fixed < 0x0a {
		return protoErr("ColumnDefinition41", "fixed-length fields block is %d bytes, need at least 10", fixed)
	}
	c.Charset = r.uint16("character set")
	c.Length = r.uint32("column length")
	c.Type = FieldType(r.uint8("type"))
	c.Flags = FieldFlag(r.uint16("flags"))
	c.Decimals = r.uint8("decimals")
	if err := r.err(); err != nil {
		return err
	}
	c.Catalog = internDef(catalog)
	c.Schema = string(schema)
	c.Table = string(table)
	c.OrgTable = string(orgTable)
	c.Name = string(name)
	c.OrgName = string(orgName)
	return nil
}

func internDef(b []byte) string {
	if string(b) == "def" {
		return "def"
	}
	return string(b)
}

// AppendTo encodes the column definition (used by tests and fake servers).
func (c *Column) AppendTo(dst []byte) []byte {
	dst = AppendLenEncString(dst, c.Catalog)
	dst = AppendLenEncString(dst, c.Schema)
	dst = AppendLenEncString(dst, c.Table)
	dst = AppendLenEncString(dst, c.OrgTable)
	dst = AppendLenEncString(dst, c.Name)
	dst = AppendLenEncString(dst, c.OrgName)
	dst = append(dst, 0x0c)
	dst = AppendUint16(dst, c.Charset)
	dst = AppendUint32(dst, c.Length)
	dst = append(dst, byte(c.Type))
	dst = AppendUint16(dst, uint16(c.Flags))
	dst = append(dst, c.Decimals, 0, 0)
	return dst
}

// DecodeTextRow splits a text-protocol row into its values: each is a sub-slice of payload (capped, so an
// append cannot overwrite the next value), nil for SQL NULL (0xFB). dst must have one slot per column.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset_row.html.
func DecodeTextRow(payload []byte, dst [][]byte) error {
	pos := 0
	for i := range dst {
		if pos >= len(payload) {
			return protoErr("TextResultsetRow", "row has %d values, expected %d", i, len(dst))
		}
		v, next, ok := TextValue(payload, pos)
		if !ok {
			if n, _, m := ReadLenEncInt(payload[pos:]); m > 0 {
				return protoErr("TextResultsetRow", "value %d: length %d exceeds the %d bytes left", i, n, len(payload)-pos-m)
			}
			return protoErr("TextResultsetRow", "value %d: truncated or invalid length", i)
		}
		dst[i] = v
		pos = next
	}
	if pos != len(payload) {
		return protoErr("TextResultsetRow", "%d trailing bytes after %d values", len(payload)-pos, len(dst))
	}
	return nil
}

// TextValue returns the value of a text-protocol row that starts at payload[pos] and the position after it:
// a capped sub-slice of payload, nil for SQL NULL (0xFB). ok is false when no value starts there (pos at or
// past the end), its length is invalid or truncated, or it runs past the end of payload. Walking a row with
// TextValue accepts exactly what DecodeTextRow accepts; it lets a caller convert each value as it is split,
// in one pass. The common case (a value shorter than 251 bytes) is inlined.
func TextValue(payload []byte, pos int) (v []byte, next int, ok bool) {
	if uint(pos) < uint(len(payload)) {
		if end := pos + 1 + int(payload[pos]); payload[pos] < 0xfb && end <= len(payload) {
			return payload[pos+1 : end : end], end, true
		}
	}
	return textValueSlow(payload, pos)
}

func textValueSlow(payload []byte, pos int) (v []byte, next int, ok bool) {
	if pos < 0 || pos >= len(payload) {
		return nil, pos, false
	}
	if payload[pos] == 0xfb {
		return nil, pos + 1, true
	}
	n, _, m := ReadLenEncInt(payload[pos:])
	if m == 0 {
		return nil, pos, false
	}
	pos += m
	if n > uint64(len(payload)-pos) {
		return nil, pos - m, false
	}
	end := pos + int(n)
	return payload[pos:end:end], end, true
}

// AppendTextRow encodes a text-protocol row; nil values become NULL (used by tests and fake servers).
func AppendTextRow(dst []byte, values [][]byte) []byte {
	for _, v := range values {
		if v == nil {
			dst = append(dst, 0xfb)
			continue
		}
		dst = AppendLenEncBytes(dst, v)
	}
	return dst
}
