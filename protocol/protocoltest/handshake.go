package protocoltest

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"

	"github.com/rawmysql/rawmysql/protocol"
)

// DefaultCapabilities is the capability set SendHandshake offers when
// HandshakeOpts.Capabilities is zero: a modern MySQL 8 server without TLS
// (protocol.ClientSSL is added when HandshakeOpts.TLS is set).
const DefaultCapabilities = protocol.ClientLongPassword | protocol.ClientFoundRows | protocol.ClientLongFlag | protocol.ClientConnectWithDB |
	protocol.ClientLocalFiles | protocol.ClientProtocol41 | protocol.ClientTransactions | protocol.ClientSecureConnection |
	protocol.ClientMultiStatements | protocol.ClientMultiResults | protocol.ClientPSMultiResults | protocol.ClientPluginAuth |
	protocol.ClientConnectAttrs | protocol.ClientPluginAuthLenencClientData | protocol.ClientDeprecateEOF

// Server status flags (SERVER_STATUS_flags_enum) most scripts need.
// They are protocol's StatusFlag values as the uint16 the packet builders take.
const (
	StatusInTrans           = uint16(protocol.StatusInTrans)           // a transaction is open
	StatusAutocommit        = uint16(protocol.StatusAutocommit)        // autocommit is on
	StatusMoreResultsExists = uint16(protocol.StatusMoreResultsExists) // another result set follows
)

// HandshakeOpts configures the Handshake v10 packet SendHandshake writes. Zero
// fields take the documented defaults.
type HandshakeOpts struct {
	// ServerVersion is the human-readable version; default "8.0.36-fake".
	ServerVersion string
	// ConnID is the connection (thread) id; default 42.
	ConnID uint32
	// Scramble is the auth plugin data, normally 20 bytes; default
	// DefaultScramble(). The first 8 bytes go in part 1, the rest (padded with
	// zeros to 12 bytes) and a NUL in part 2.
	Scramble []byte
	// Capabilities are the server's capability flags; default
	// DefaultCapabilities. protocol.ClientSSL is added whenever TLS is set.
	Capabilities protocol.Capability
	// MariaDBCapabilities are MariaDB's extended capabilities, written in the
	// last 4 reserved bytes; MariaDB clients read them only when Capabilities
	// lacks protocol.ClientLongPassword (CLIENT_MYSQL). Default 0.
	MariaDBCapabilities uint32
	// Charset is the server's default collation id (lower 8 bits); default 45
	// (utf8mb4_general_ci).
	Charset uint8
	// Status is the server status; default StatusAutocommit.
	Status uint16
	// AuthPlugin names the plugin the scramble belongs to; default
	// "mysql_native_password". Sent only with protocol.ClientPluginAuth.
	AuthPlugin string
	// TLS, if set, makes the server offer protocol.ClientSSL and lets
	// ExpectHandshakeResponse upgrade the connection after an SSLRequest.
	TLS *tls.Config
}

// DefaultScramble returns a copy of the 20-byte scramble SendHandshake uses
// when HandshakeOpts.Scramble is empty: a fixed pattern with no zero byte.
func DefaultScramble() []byte {
	s := make([]byte, 20)
	for i := range s {
		s[i] = byte(0x21 + i*5)
	}
	return s
}

func (o HandshakeOpts) withDefaults() HandshakeOpts {
	if o.ServerVersion == "" {
		o.ServerVersion = "8.0.36-fake"
	}
	if o.ConnID == 0 {
		o.ConnID = 42
	}
	if len(o.Scramble) == 0 {
		o.Scramble = DefaultScramble()
	} else {
		o.Scramble = append([]byte(nil), o.Scramble...)
	}
	if o.Capabilities == 0 {
		o.Capabilities = DefaultCapabilities
	}
	if o.TLS != nil {
		o.Capabilities |= protocol.ClientSSL
	}
	if o.Charset == 0 {
		o.Charset = 45
	}
	if o.Status == 0 {
		o.Status = StatusAutocommit
	}
	if o.AuthPlugin == "" {
		o.AuthPlugin = "mysql_native_password"
	}
	return o
}

// HandshakePacket returns the payload of a Protocol::HandshakeV10 packet for o
// (defaults filled in):
//
//	1   protocol version 0x0a
//	NUL server version
//	4   connection id
//	8   auth-plugin-data part 1, then a 0x00 filler
//	2   capability flags, lower 16 bits
//	1   character set
//	2   status flags
//	2   capability flags, upper 16 bits
//	1   auth-plugin-data length (0 without CLIENT_PLUGIN_AUTH)
//	10  reserved zeros (MariaDB: 6 zeros + 4 bytes extended capabilities)
//	n   auth-plugin-data part 2 (≥ 12 bytes + NUL), with CLIENT_SECURE_CONNECTION
//	NUL auth plugin name, with CLIENT_PLUGIN_AUTH
func HandshakePacket(o HandshakeOpts) []byte {
	o = o.withDefaults()
	b := []byte{0x0a}
	b = append(b, o.ServerVersion...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, o.ConnID)
	part1 := make([]byte, 8)
	copy(part1, o.Scramble)
	b = append(b, part1...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Capabilities))
	b = append(b, o.Charset)
	b = binary.LittleEndian.AppendUint16(b, o.Status)
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Capabilities>>16))
	var part2 []byte
	if len(o.Scramble) > 8 {
		part2 = append(part2, o.Scramble[8:]...)
	}
	for len(part2) < 12 {
		part2 = append(part2, 0)
	}
	part2 = append(part2, 0)
	if o.Capabilities&protocol.ClientPluginAuth != 0 {
		b = append(b, byte(8+len(part2)))
	} else {
		b = append(b, 0)
	}
	b = append(b, 0, 0, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, o.MariaDBCapabilities)
	if o.Capabilities&protocol.ClientSecureConnection != 0 {
		b = append(b, part2...)
	}
	if o.Capabilities&protocol.ClientPluginAuth != 0 {
		b = append(b, o.AuthPlugin...)
		b = append(b, 0)
	}
	return b
}

// SendHandshake writes the server's initial Handshake v10 packet (see
// HandshakePacket) with the current sequence id (0 on a fresh Conn) and
// remembers o for ExpectHandshakeResponse and Scramble.
func (c *Conn) SendHandshake(o HandshakeOpts) {
	o = o.withDefaults()
	c.hs = &o
	c.WritePacket(HandshakePacket(o))
}

// Scramble returns the scramble the last SendHandshake sent (20 bytes by
// default), or nil before SendHandshake.
func (c *Conn) Scramble() []byte {
	if c.hs == nil {
		return nil
	}
	return append([]byte(nil), c.hs.Scramble...)
}

// HandshakeResponse is a parsed Protocol::HandshakeResponse41.
type HandshakeResponse struct {
	Capabilities protocol.Capability // client capability flags
	// MariaDBCapabilities are the last 4 bytes of the 23-byte filler, where
	// MariaDB clients put extended capabilities (zero from MySQL clients).
	MariaDBCapabilities uint32
	MaxPacket           uint32            // client's max packet size
	Charset             uint8             // client collation id
	User                string            // user name
	AuthResponse        []byte            // auth plugin response (empty for an empty password)
	DB                  string            // initial database, with CLIENT_CONNECT_WITH_DB
	AuthPlugin          string            // plugin the response belongs to, with CLIENT_PLUGIN_AUTH
	Attrs               map[string]string // connection attributes, with CLIENT_CONNECT_ATTRS (else nil)
	ZstdLevel           uint8             // compression level, with CLIENT_ZSTD_COMPRESSION_ALGORITHM
	SSLRequested        bool              // the client sent an SSLRequest and the connection was upgraded
	Raw                 []byte            // the whole response payload
}

// ExpectHandshakeResponse reads the client's handshake response. If the client
// first sends an SSLRequest (a 32-byte payload with protocol.ClientSSL set) and the
// handshake offered TLS, it upgrades the connection with tls.Server and reads
// the real response over TLS; an SSLRequest without HandshakeOpts.TLS is an
// error. It returns nil on any error (recorded in Err), including a malformed
// response.
func (c *Conn) ExpectHandshakeResponse() *HandshakeResponse {
	p := c.ReadPacket()
	if p == nil {
		return nil
	}
	ssl := false
	if len(p) == 32 && protocol.Capability(binary.LittleEndian.Uint32(p)).Has(protocol.ClientSSL) {
		if c.hs == nil || c.hs.TLS == nil {
			c.Errorf("client sent an SSLRequest but the handshake offered no TLS")
			return nil
		}
		if !c.upgradeTLS(c.hs.TLS) {
			return nil
		}
		ssl = true
		if p = c.ReadPacket(); p == nil {
			return nil
		}
	}
	r, err := ParseHandshakeResponse(p)
	if err != nil {
		c.fail(err)
		return nil
	}
	r.SSLRequested = ssl
	return r
}

func (c *Conn) upgradeTLS(cfg *tls.Config) bool {
	nc := c.conn()
	if nc == nil {
		return false
	}
	tc := tls.Server(nc, cfg)
	if err := tc.Handshake(); err != nil {
		c.fail(fmt.Errorf("rawmysql: protocoltest: TLS handshake: %w", err))
		return false
	}
	c.mu.Lock()
	c.nc = tc
	c.mu.Unlock()
	return true
}

// ParseHandshakeResponse decodes a Protocol::HandshakeResponse41 payload:
//
//	4   capability flags
//	4   max packet size
//	1   character set
//	23  filler (MariaDB: 19 zeros + 4 bytes extended capabilities)
//	NUL user name
//	    auth response: lenenc with CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
//	    else 1-byte length with CLIENT_SECURE_CONNECTION, else NUL-terminated
//	NUL database, with CLIENT_CONNECT_WITH_DB
//	NUL auth plugin name, with CLIENT_PLUGIN_AUTH
//	    lenenc length + lenenc key/value pairs, with CLIENT_CONNECT_ATTRS
//	1   zstd level, with CLIENT_ZSTD_COMPRESSION_ALGORITHM
//
// Fields are read according to the client's own capability flags. A response
// without CLIENT_PROTOCOL_41, a truncated field or trailing bytes is an error.
func ParseHandshakeResponse(p []byte) (*HandshakeResponse, error) {
	r := &reader{b: p, what: "HandshakeResponse41"}
	h := &HandshakeResponse{Raw: append([]byte(nil), p...)}
	h.Capabilities = protocol.Capability(r.uint32())
	h.MaxPacket = r.uint32()
	h.Charset = r.byte()
	filler := r.bytes(23)
	if r.err == nil {
		h.MariaDBCapabilities = binary.LittleEndian.Uint32(filler[19:])
	}
	if r.err == nil && h.Capabilities&protocol.ClientProtocol41 == 0 {
		return nil, fmt.Errorf("rawmysql: protocoltest: handshake response without CLIENT_PROTOCOL_41 (capabilities %#x)", h.Capabilities)
	}
	h.User = string(r.nulString())
	switch {
	case h.Capabilities&protocol.ClientPluginAuthLenencClientData != 0:
		h.AuthResponse = r.lenEncBytes()
	case h.Capabilities&protocol.ClientSecureConnection != 0:
		h.AuthResponse = r.bytes(int(r.byte()))
	default:
		h.AuthResponse = r.nulString()
	}
	h.AuthResponse = append([]byte{}, h.AuthResponse...)
	if h.Capabilities&protocol.ClientConnectWithDB != 0 {
		h.DB = string(r.nulString())
	}
	if h.Capabilities&protocol.ClientPluginAuth != 0 {
		h.AuthPlugin = string(r.nulString())
	}
	if h.Capabilities&protocol.ClientConnectAttrs != 0 {
		h.Attrs = map[string]string{}
		ar := &reader{b: r.lenEncBytes(), what: "HandshakeResponse41 attributes"}
		for r.err == nil && ar.err == nil && len(ar.b) > 0 {
			k := ar.lenEncBytes()
			v := ar.lenEncBytes()
			if ar.err == nil {
				h.Attrs[string(k)] = string(v)
			}
		}
		if r.err == nil {
			r.err = ar.err
		}
	}
	if h.Capabilities&protocol.ClientZstdCompression != 0 {
		h.ZstdLevel = r.byte()
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("rawmysql: protocoltest: %s: %d trailing bytes", r.what, len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return h, nil
}

// reader is a bounds-checked reader over a payload; its first error sticks and
// later reads return zero values.
type reader struct {
	b    []byte
	what string
	err  error
}

func (r *reader) short(n int) {
	if r.err == nil {
		r.err = fmt.Errorf("rawmysql: protocoltest: %s: need %d bytes, have %d", r.what, n, len(r.b))
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.short(n)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return v[0]
}

func (r *reader) uint32() uint32 {
	v := r.bytes(4)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *reader) nulString() []byte {
	if r.err != nil {
		return nil
	}
	for i, ch := range r.b {
		if ch == 0 {
			v := r.b[:i:i]
			r.b = r.b[i+1:]
			return v
		}
	}
	r.err = fmt.Errorf("rawmysql: protocoltest: %s: string without NUL terminator", r.what)
	return nil
}

func (r *reader) lenEncInt() uint64 {
	first := r.byte()
	switch {
	case r.err != nil:
		return 0
	case first < 0xfb:
		return uint64(first)
	case first == 0xfc:
		v := r.bytes(2)
		if v == nil {
			return 0
		}
		return uint64(binary.LittleEndian.Uint16(v))
	case first == 0xfd:
		v := r.bytes(3)
		if v == nil {
			return 0
		}
		return uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16
	case first == 0xfe:
		v := r.bytes(8)
		if v == nil {
			return 0
		}
		return binary.LittleEndian.Uint64(v)
	default:
		r.err = fmt.Errorf("rawmysql: protocoltest: %s: invalid length-encoded integer prefix %#x", r.what, first)
		return 0
	}
}

func (r *reader) lenEncBytes() []byte {
	n := r.lenEncInt()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("rawmysql: protocoltest: %s: length %d exceeds the %d bytes left", r.what, n, len(r.b))
		return nil
	}
	return r.bytes(int(n))
}
