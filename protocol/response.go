package protocol

// OKPacket reports a successful command (header 0x00, or 0xFE ending a result set with CLIENT_DEPRECATE_EOF).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html.
type OKPacket struct {
	AffectedRows uint64
	LastInsertID uint64
	Status       StatusFlag
	Warnings     uint16
	Info         string // human-readable information, e.g. "Rows matched: 1  Changed: 1  Warnings: 0"
	// SessionState is the session state information (CLIENT_SESSION_TRACK) when Status has
	// StatusSessionStateChange: the entries' bytes (checked by Decode), to be walked with
	// NewSessionStateIter([]byte(SessionState)) or DecodeSessionState; "" when the state did not change. A
	// string keeps OKPacket comparable and costs an allocation only for an OK that carries state.
	SessionState string
}

// Decode parses an OK packet payload (header 0x00 or 0xFE).
func (p *OKPacket) Decode(src []byte) error {
	r := newReader("OK", src)
	h := r.uint8("header")
	if r.err() == nil && h != 0x00 && h != 0xfe {
		return protoErr("OK", "header 0x%02x, expected 0x00 or 0xfe", h)
	}
	p.AffectedRows, _ = r.lenencInt("affected rows")
	p.LastInsertID, _ = r.lenencInt("last insert id")
	p.Status = StatusFlag(r.uint16("status flags"))
	p.Warnings = r.uint16("warnings")
	if err := r.err(); err != nil {
		return err
	}
	p.SessionState = ""
	if p.Status&StatusSessionStateChange != 0 {
		// Servers set the flag only for a client that asked for CLIENT_SESSION_TRACK: then the info is
		// length-encoded (possibly empty) and the session state block follows, length-encoded too.
		p.Info = ""
		if r.remaining() > 0 {
			p.Info = string(r.lenencBytes("info"))
			if r.remaining() > 0 {
				block := r.lenencBytes("session state info")
				if err := validateSessionState(block); err != nil {
					return err
				}
				p.SessionState = string(block)
			}
		}
		return r.err()
	}
	// Without session state the protocol pages call the info "string<EOF>", but
	// MySQL and MariaDB write it length-encoded (net_store_data). go-mysql-server writes a length that is too
	// short, so a length up to the rest of the packet is skipped and the whole rest taken; a rest that does not
	// start with such a length is taken as written.
	p.Info = ""
	if rest := r.rest(); len(rest) > 0 {
		if n, null, k := ReadLenEncInt(rest); k > 0 && !null && n > 0 && uint64(len(rest)-k) >= n {
			rest = rest[k:]
		}
		p.Info = string(rest)
	}
	return nil
}

// AppendTo encodes the OK packet with header 0x00.
func (p *OKPacket) AppendTo(dst []byte) []byte {
	dst = append(dst, 0)
	dst = AppendLenEncInt(dst, p.AffectedRows)
	dst = AppendLenEncInt(dst, p.LastInsertID)
	dst = AppendUint16(dst, uint16(p.Status))
	dst = AppendUint16(dst, p.Warnings)
	if p.Status&StatusSessionStateChange != 0 {
		dst = AppendLenEncString(dst, p.Info)
		return AppendLenEncString(dst, p.SessionState)
	}
	if p.Info == "" {
		return dst
	}
	return AppendLenEncString(dst, p.Info)
}

// EOFPacket ends column definitions or rows when CLIENT_DEPRECATE_EOF is not in use (header 0xFE, < 9 bytes).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_eof_packet.html.
type EOFPacket struct {
	Warnings uint16
	Status   StatusFlag
}

// Decode parses an EOF packet payload.
func (p *EOFPacket) Decode(src []byte) error {
	r := newReader("EOF", src)
	h := r.uint8("header")
	if r.err() == nil && h != 0xfe {
		return protoErr("EOF", "header 0x%02x, expected 0xfe", h)
	}
	if r.remaining() == 0 && r.err() == nil { // pre-4.1 form
		p.Warnings, p.Status = 0, 0
		return nil
	}
	p.Warnings = r.uint16("warnings")
	p.Status = StatusFlag(r.uint16("status flags"))
	return r.err()
}

// AppendTo encodes the EOF packet.
func (p *EOFPacket) AppendTo(dst []byte) []byte {
	dst = append(dst, 0xfe)
	dst = AppendUint16(dst, p.Warnings)
	return AppendUint16(dst, uint16(p.Status))
}

// IsEOFPacket reports whether payload is an EOF packet (or a 0xFE-headed OK ending a result set): header 0xFE
// and shorter than 9 bytes when CLIENT_DEPRECATE_EOF is off, shorter than 16 MiB when it is on. A longer 0xFE
// packet is a row whose first value has a length of 8 bytes or more.
func IsEOFPacket(payload []byte, deprecateEOF bool) bool {
	if len(payload) == 0 || payload[0] != 0xfe {
		return false
	}
	if deprecateEOF {
		return len(payload) < MaxPayloadLen
	}
	return len(payload) < 9
}

// DecodeError parses an ERR packet payload (header 0xFF) into a *ServerError, or a *ProtocolError if the
// packet is malformed. See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html.
func DecodeError(src []byte) error {
	r := newReader("ERR", src)
	if h := r.uint8("header"); r.err() == nil && h != 0xff {
		return protoErr("ERR", "header 0x%02x, expected 0xff", h)
	}
	e := &ServerError{Number: r.uint16("error code")}
	if err := r.err(); err != nil {
		return err
	}
	rest := r.rest()
	if len(rest) >= 6 && rest[0] == '#' {
		e.SQLState = string(rest[1:6])
		rest = rest[6:]
	}
	e.Message = string(rest)
	return e
}

// AppendError encodes an ERR packet (used by tests and fake servers).
func AppendError(dst []byte, e *ServerError) []byte {
	dst = append(dst, 0xff)
	dst = AppendUint16(dst, e.Number)
	if e.SQLState != "" {
		dst = append(dst, '#')
		dst = append(dst, e.SQLState...)
	}
	return append(dst, e.Message...)
}
