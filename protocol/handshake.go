package protocol

import (
	"bytes"
	"strings"
)

// Handshake is the server's initial Handshake v10 packet.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html
// and https://mariadb.com/kb/en/connection/#initial-handshake-packet.
type Handshake struct {
	ProtocolVersion uint8      // always 10
	ServerVersion   string     // human-readable version; MariaDB's "5.5.5-" replication prefix is removed
	ConnectionID    uint32     // thread id, used by KILL QUERY
	AuthData        []byte     // scramble: auth-plugin-data part 1 (8 bytes) + part 2 (12 bytes), trailing NUL removed
	Capabilities    Capability // server capability flags (lower and upper 16 bits)
	Charset         uint8      // server default collation id
	Status          StatusFlag // server status flags
	AuthPlugin      string     // auth plugin the scramble is for, e.g. "mysql_native_password"
	MariaDBCaps     uint32     // MariaDB extended capabilities (only when CLIENT_LONG_PASSWORD/CLIENT_MYSQL is clear)
}

// IsMariaDB reports whether the server version names MariaDB.
func (h *Handshake) IsMariaDB() bool { return strings.Contains(h.ServerVersion, "MariaDB") }

// IsVitessServer reports whether the server runs the MySQL server code of Vitess, which go-mysql-server and
// Dolt embed: its version names Vitess or Dolt, or its handshake lacks CLIENT_PS_MULTI_RESULTS, which every
// MySQL (5.5+) and MariaDB server offers and the Vitess server code never does (its default version, "8.0.33",
// looks like MySQL's).
func (h *Handshake) IsVitessServer() bool {
	v := strings.ToLower(h.ServerVersion)
	if strings.Contains(v, "vitess") || strings.Contains(v, "dolt") {
		return true
	}
	return !h.IsMariaDB() && !h.Capabilities.Has(ClientPSMultiResults)
}

// Decode parses a Handshake v10 payload. An ERR packet (0xFF) sent instead, e.g. "Host ... is not allowed
// to connect", is returned as *ServerError.
func (h *Handshake) Decode(src []byte) error {
	if len(src) > 0 && src[0] == 0xff {
		return DecodeError(src)
	}
	r := newReader("Handshake", src)
	h.ProtocolVersion = r.uint8("protocol version")
	if r.err() == nil && h.ProtocolVersion != 10 {
		return protoErr("Handshake", "unsupported protocol version %d (need 10)", h.ProtocolVersion)
	}
	ver := string(r.nulString("server version"))
	ver = strings.TrimPrefix(ver, "5.5.5-")
	h.ServerVersion = ver
	h.ConnectionID = r.uint32("connection id")
	part1 := r.bytes(8, "auth-plugin-data-part-1")
	r.skip(1, "filler")
	capLow := r.uint16("capability flags")
	if err := r.err(); err != nil {
		return err
	}
	h.Capabilities = Capability(capLow)
	h.AuthData = append(h.AuthData[:0], part1...)
	h.AuthPlugin = ""
	h.MariaDBCaps = 0
	if r.remaining() == 0 { // very old servers stop here
		return nil
	}
	h.Charset = r.uint8("character set")
	h.Status = StatusFlag(r.uint16("status flags"))
	h.Capabilities |= Capability(r.uint16("capability flags (upper)")) << 16
	authLen := int(r.uint8("auth-plugin-data length"))
	r.skip(6, "reserved")
	ext := r.uint32("reserved / MariaDB capabilities")
	if h.Capabilities&ClientLongPassword == 0 {
		h.MariaDBCaps = ext
	}
	if err := r.err(); err != nil {
		return err
	}
	if h.Capabilities.Has(ClientSecureConnection) {
		n := authLen - 8
		if n < 13 {
			n = 13
		}
		if n > r.remaining() { // tolerate servers that send a shorter part 2
			n = r.remaining()
		}
		part2 := r.bytes(n, "auth-plugin-data-part-2")
		if i := bytes.IndexByte(part2, 0); i >= 0 {
			part2 = part2[:i]
		}
		h.AuthData = append(h.AuthData, part2...)
	}
	if h.Capabilities.Has(ClientPluginAuth) && r.remaining() > 0 {
		rest := r.rest()
		if i := bytes.IndexByte(rest, 0); i >= 0 { // some servers omit the terminating NUL
			rest = rest[:i]
		}
		h.AuthPlugin = string(rest)
	}
	return r.err()
}

// AppendTo encodes the handshake (used by tests and fake servers).
func (h *Handshake) AppendTo(dst []byte) []byte {
	dst = append(dst, 10)
	dst = AppendNulString(dst, h.ServerVersion)
	dst = AppendUint32(dst, h.ConnectionID)
	var part1 [8]byte
	copy(part1[:], h.AuthData)
	dst = append(dst, part1[:]...)
	dst = append(dst, 0)
	dst = AppendUint16(dst, uint16(h.Capabilities))
	dst = append(dst, h.Charset)
	dst = AppendUint16(dst, uint16(h.Status))
	dst = AppendUint16(dst, uint16(h.Capabilities>>16))
	// auth-plugin-data length: the scramble and its NUL (at most 255; a 255-byte scramble then has no NUL).
	authLen := min(len(h.AuthData)+1, 255)
	if h.Capabilities.Has(ClientPluginAuth) {
		dst = append(dst, byte(authLen))
	} else {
		dst = append(dst, 0)
	}
	dst = append(dst, 0, 0, 0, 0, 0, 0)
	dst = AppendUint32(dst, h.MariaDBCaps)
	if h.Capabilities.Has(ClientSecureConnection) {
		// Part 2 is max(13, length-8) bytes, as Decode reads it: the rest of the scramble, NUL-padded.
		n := 13
		if h.Capabilities.Has(ClientPluginAuth) {
			n = max(n, authLen-8)
		}
		part2 := make([]byte, n)
		if len(h.AuthData) > 8 {
			copy(part2, h.AuthData[8:])
		}
		dst = append(dst, part2...)
	}
	if h.Capabilities.Has(ClientPluginAuth) {
		dst = AppendNulString(dst, h.AuthPlugin)
	}
	return dst
}

// HandshakeResponse is the client's HandshakeResponse41.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html.
type HandshakeResponse struct {
	Capabilities  Capability // negotiated client flags
	MaxPacketSize uint32     // client max packet size
	Charset       uint8      // connection collation id
	User          string
	AuthResponse  []byte
	Database      string      // sent when Capabilities has ClientConnectWithDB
	AuthPlugin    string      // sent when Capabilities has ClientPluginAuth
	Attributes    [][2]string // sent when Capabilities has ClientConnectAttrs, in order
	MariaDBCaps   uint32      // MariaDB extended capabilities, in the last 4 bytes of the filler (0 for MySQL)
}

// AppendTo appends the encoded payload.
func (p *HandshakeResponse) AppendTo(dst []byte) []byte {
	dst = AppendUint32(dst, uint32(p.Capabilities))
	dst = AppendUint32(dst, p.MaxPacketSize)
	dst = append(dst, p.Charset)
	dst = append(dst, make([]byte, 19)...)
	dst = AppendUint32(dst, p.MariaDBCaps)
	dst = AppendNulString(dst, p.User)
	switch {
	case p.Capabilities.Has(ClientPluginAuthLenencClientData):
		dst = AppendLenEncBytes(dst, p.AuthResponse)
	case p.Capabilities.Has(ClientSecureConnection):
		dst = append(dst, byte(len(p.AuthResponse)))
		dst = append(dst, p.AuthResponse...)
	default:
		dst = append(dst, p.AuthResponse...)
		dst = append(dst, 0)
	}
	if p.Capabilities.Has(ClientConnectWithDB) {
		dst = AppendNulString(dst, p.Database)
	}
	if p.Capabilities.Has(ClientPluginAuth) {
		dst = AppendNulString(dst, p.AuthPlugin)
	}
	if p.Capabilities.Has(ClientConnectAttrs) {
		var attrs []byte
		for _, kv := range p.Attributes {
			attrs = AppendLenEncString(attrs, kv[0])
			attrs = AppendLenEncString(attrs, kv[1])
		}
		dst = AppendLenEncBytes(dst, attrs)
	}
	return dst
}

// Decode parses a HandshakeResponse41 (used by tests and fake servers).
func (p *HandshakeResponse) Decode(src []byte) error {
	r := newReader("HandshakeResponse41", src)
	p.Capabilities = Capability(r.uint32("capability flags"))
	p.MaxPacketSize = r.uint32("max packet size")
	p.Charset = r.uint8("character set")
	r.skip(19, "filler")
	p.MariaDBCaps = r.uint32("filler / MariaDB capabilities")
	p.User = string(r.nulString("username"))
	switch {
	case p.Capabilities.Has(ClientPluginAuthLenencClientData):
		p.AuthResponse = r.lenencBytes("auth response")
	case p.Capabilities.Has(ClientSecureConnection):
		n := int(r.uint8("auth response length"))
		p.AuthResponse = r.bytes(n, "auth response")
	default:
		p.AuthResponse = r.nulString("auth response")
	}
	if p.Capabilities.Has(ClientConnectWithDB) {
		p.Database = string(r.nulString("database"))
	}
	if p.Capabilities.Has(ClientPluginAuth) {
		p.AuthPlugin = string(r.nulString("auth plugin name"))
	}
	p.Attributes = nil
	if p.Capabilities.Has(ClientConnectAttrs) {
		attrs := newReader("HandshakeResponse41 attributes", r.lenencBytes("attributes"))
		for attrs.err() == nil && attrs.remaining() > 0 {
			k := attrs.lenencBytes("attribute key")
			v := attrs.lenencBytes("attribute value")
			p.Attributes = append(p.Attributes, [2]string{string(k), string(v)})
		}
		if err := attrs.err(); err != nil {
			return err
		}
	}
	return r.err()
}

// AppendSSLRequest appends the SSLRequest payload: the first 32 bytes of a HandshakeResponse41 with
// ClientSSL set, sent before the TLS handshake (with MariaDB's extended capabilities, as in the response).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_ssl_request.html.
func AppendSSLRequest(dst []byte, caps Capability, maxPacket uint32, charset uint8, mariaDBCaps uint32) []byte {
	dst = AppendUint32(dst, uint32(caps|ClientSSL))
	dst = AppendUint32(dst, maxPacket)
	dst = append(dst, charset)
	dst = append(dst, make([]byte, 19)...)
	return AppendUint32(dst, mariaDBCaps)
}

// AuthSwitchRequest asks the client to authenticate with another plugin (0xFE header).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_auth_switch_request.html.
type AuthSwitchRequest struct {
	Plugin string
	Data   []byte // plugin data; the NUL ending a 20-byte scramble is removed (a 21-byte payload ending in 0)
}

// Decode parses an AuthSwitchRequest payload (starting with 0xFE).
func (p *AuthSwitchRequest) Decode(src []byte) error {
	r := newReader("AuthSwitchRequest", src)
	if h := r.uint8("header"); r.err() == nil && h != 0xfe {
		return protoErr("AuthSwitchRequest", "header 0x%02x, expected 0xfe", h)
	}
	if r.remaining() == 0 && r.err() == nil {
		// Old-style switch to mysql_old_password: no plugin name.
		p.Plugin = "mysql_old_password"
		p.Data = nil
		return nil
	}
	p.Plugin = string(r.nulString("plugin name"))
	data := r.rest()
	// Scramble-based plugins send 20 bytes and a NUL. Other data (client_ed25519's 32-byte nonce) is binary
	// and may itself end in a zero byte, so only that exact shape is trimmed.
	if n := len(data); n == 21 && data[n-1] == 0 {
		data = data[:n-1]
	}
	p.Data = append([]byte(nil), data...)
	return r.err()
}

// AppendTo encodes the AuthSwitchRequest (used by tests and fake servers): 0xFE, the plugin name and a NUL, then
// Data, followed by a NUL when Data is a 20-byte scramble (the NUL Decode removes).
func (p *AuthSwitchRequest) AppendTo(dst []byte) []byte {
	dst = append(dst, 0xfe)
	dst = AppendNulString(dst, p.Plugin)
	dst = append(dst, p.Data...)
	if len(p.Data) == 20 {
		dst = append(dst, 0)
	}
	return dst
}
