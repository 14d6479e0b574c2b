package protocoltest

import "github.com/rawmysql/rawmysql/protocol"

// The packet builders below are protocol's encoders under the short names the fake-server scripts use: one
// encoder per packet in the repository, checked against captured bytes in protocol's fixture tests.

// LenEncInt encodes n as a length-encoded integer: one byte below 0xfb, else
// 0xfc + 2 bytes, 0xfd + 3 bytes or 0xfe + 8 bytes, little-endian.
func LenEncInt(n uint64) []byte { return protocol.AppendLenEncInt(nil, n) }

// LenEncString encodes b as a length-encoded string: LenEncInt(len(b)) then b.
func LenEncString(b []byte) []byte { return protocol.AppendLenEncBytes(nil, b) }

// OK returns an OK_Packet payload (0x00 header) for a client with
// CLIENT_PROTOCOL_41 and without CLIENT_SESSION_TRACK: lenenc affected rows,
// lenenc last insert id, 2 bytes status, 2 bytes warnings, then info (when not
// empty) as a lenenc string, as MySQL and MariaDB write it.
func OK(affected, lastInsertID uint64, status, warnings uint16, info string) []byte {
	p := protocol.OKPacket{AffectedRows: affected, LastInsertID: lastInsertID, Status: protocol.StatusFlag(status),
		Warnings: warnings, Info: info}
	return p.AppendTo(nil)
}

// OKDeprecateEOF returns the OK_Packet with a 0xFE header that ends a result
// set when CLIENT_DEPRECATE_EOF is on: 0xFE, lenenc 0 affected rows, lenenc 0
// last insert id, 2 bytes status, 2 bytes warnings.
func OKDeprecateEOF(status, warnings uint16) []byte {
	p := protocol.OKPacket{Status: protocol.StatusFlag(status), Warnings: warnings}
	return p.AppendEOFTo(nil)
}

// ERR returns an ERR_Packet payload: 0xFF, 2 bytes error number, then '#' and
// the SQL state (normally 5 characters, written as given) when sqlState is not
// empty, then the message as the rest of the packet.
func ERR(number uint16, sqlState, msg string) []byte {
	return protocol.AppendError(nil, &protocol.ServerError{Number: number, SQLState: sqlState, Message: msg})
}

// EOF returns an EOF_Packet payload (CLIENT_PROTOCOL_41 form): 0xFE, 2 bytes
// warnings, 2 bytes status.
func EOF(warnings, status uint16) []byte {
	p := protocol.EOFPacket{Warnings: warnings, Status: protocol.StatusFlag(status)}
	return p.AppendTo(nil)
}

// AuthSwitch returns a Protocol::AuthSwitchRequest payload: 0xFE, the plugin
// name and a NUL, then data as given (for the scramble-based plugins, the new
// 20-byte scramble followed by a NUL).
func AuthSwitch(plugin string, data []byte) []byte {
	if len(data) == 21 && data[20] == 0 {
		data = data[:20] // AppendTo writes the scramble's NUL
	}
	p := protocol.AuthSwitchRequest{Plugin: plugin, Data: data}
	return p.AppendTo(nil)
}

// AuthMoreData returns a Protocol::AuthMoreData payload: 0x01 then data (for
// caching_sha2_password: 0x03 fast auth success, 0x04 full auth needed, or a
// PEM public key).
func AuthMoreData(data []byte) []byte {
	return append([]byte{0x01}, data...)
}

// Column describes one column for ColumnDef. Charset is the collation id
// (63 = binary), Length the display length, Type the MYSQL_TYPE_* code.
type Column struct {
	Schema, Table, OrgTable, Name, OrgName string
	Charset                                uint16
	Length                                 uint32
	Type                                   byte
	Flags                                  uint16
	Decimals                               byte
}

// ColumnDef returns a Protocol::ColumnDefinition41 payload: lenenc strings
// catalog ("def"), schema, table, org_table, name, org_name; lenenc 0x0c (the
// length of the fixed block); 2 bytes character set, 4 bytes column length,
// 1 byte type, 2 bytes flags, 1 byte decimals, 2 filler bytes.
func ColumnDef(col Column) []byte {
	c := protocol.Column{Catalog: "def", Schema: col.Schema, Table: col.Table, OrgTable: col.OrgTable, Name: col.Name,
		OrgName: col.OrgName, Charset: col.Charset, Length: col.Length, Type: protocol.FieldType(col.Type),
		Flags: protocol.FieldFlag(col.Flags), Decimals: col.Decimals}
	return c.AppendTo(nil)
}

// TextRow returns a ProtocolText::ResultsetRow payload: each value as a
// length-encoded string, a nil value as 0xFB (NULL). An empty non-nil value is
// the empty string (0x00).
func TextRow(values ...[]byte) []byte { return protocol.AppendTextRow([]byte{}, values) }

// SendResultSet writes a whole text-protocol result set with consecutive
// sequence ids: the column count, a ColumnDef per column, an EOF unless
// deprecateEOF, a TextRow per row, and finally EOF(0, StatusAutocommit) or,
// with deprecateEOF, OKDeprecateEOF(StatusAutocommit, 0).
func (c *Conn) SendResultSet(cols []Column, rows [][][]byte, deprecateEOF bool) {
	c.WritePacket(LenEncInt(uint64(len(cols))))
	for _, col := range cols {
		c.WritePacket(ColumnDef(col))
	}
	if !deprecateEOF {
		c.WritePacket(EOF(0, StatusAutocommit))
	}
	for _, row := range rows {
		c.WritePacket(TextRow(row...))
	}
	if deprecateEOF {
		c.WritePacket(OKDeprecateEOF(StatusAutocommit, 0))
	} else {
		c.WritePacket(EOF(0, StatusAutocommit))
	}
}
