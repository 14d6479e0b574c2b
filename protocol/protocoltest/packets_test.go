package protocoltest

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestLenEncInt(t *testing.T) {
	cases := []struct {
		n    uint64
		want string
	}{
		{0, "00"},
		{250, "fa"},
		{251, "fcfb00"},
		{0xffff, "fcffff"},
		{0x10000, "fd000001"},
		{0xffffff, "fdffffff"},
		{0x1000000, "fe0000000100000000"},
		{^uint64(0), "feffffffffffffffff"},
	}
	for _, c := range cases {
		assert.Equal(t, unhex(t, c.want), LenEncInt(c.n), "n=%d", c.n)
	}
	assert.Equal(t, []byte{0}, LenEncString(nil))
	assert.Equal(t, []byte{3, 'a', 'b', 'c'}, LenEncString([]byte("abc")))
	long := make([]byte, 300)
	assert.Equal(t, []byte{0xfc, 0x2c, 0x01}, LenEncString(long)[:3])
	assert.Len(t, LenEncString(long), 303)
}

func TestReplyBuilders(t *testing.T) {
	// OK: header, affected 1, last id 5, status 0x0002, warnings 3, info.
	assert.Equal(t, append(unhex(t, "0001050200"+"0300"+"04"), "info"...), OK(1, 5, 2, 3, "info"))
	// Affected rows 300 takes the 0xfc form.
	assert.Equal(t, unhex(t, "00fc2c0100"+"0000"+"0000"), OK(300, 0, 0, 0, ""))
	// OK with 0xFE header: 0 affected, 0 last id, status 0x0022, warnings 1.
	assert.Equal(t, unhex(t, "fe0000"+"2200"+"0100"), OKDeprecateEOF(0x22, 1))
	// ERR 1064 (0x0428), '#', state, message.
	assert.Equal(t, append(unhex(t, "ff2804"), "#42000syntax"...), ERR(1064, "42000", "syntax"))
	assert.Equal(t, append(unhex(t, "ff2804"), "no state"...), ERR(1064, "", "no state"))
	// EOF: warnings 1, status 0x0002.
	assert.Equal(t, unhex(t, "fe01000200"), EOF(1, 2))
	// AuthSwitchRequest: 0xfe, plugin, NUL, data.
	sw := AuthSwitch("mysql_native_password", append(DefaultScramble(), 0))
	assert.Equal(t, byte(0xfe), sw[0])
	assert.Equal(t, "mysql_native_password\x00", string(sw[1:23]))
	assert.Equal(t, append(DefaultScramble(), 0), sw[23:])
	// AuthMoreData: 0x01 then data (0x03 = fast auth success).
	assert.Equal(t, []byte{0x01, 0x03}, AuthMoreData([]byte{0x03}))
}

func TestColumnDefAndRows(t *testing.T) {
	col := Column{Schema: "test", Table: "t", OrgTable: "t1", Name: "id", OrgName: "id_",
		Charset: 63, Length: 11, Type: 3, Flags: 0x4203, Decimals: 2}
	want := unhex(t, ""+
		"03646566"+ // catalog "def"
		"0474657374"+ // schema "test"
		"0174"+ // table "t"
		"027431"+ // org_table "t1"
		"026964"+ // name "id"
		"0369645f"+ // org_name "id_"
		"0c"+ // length of the fixed fields
		"3f00"+ // character set 63
		"0b000000"+ // column length 11
		"03"+ // type LONG
		"0342"+ // flags 0x4203
		"02"+ // decimals
		"0000") // filler
	assert.Equal(t, want, ColumnDef(col))

	assert.Equal(t, []byte{1, 'a', 0xfb, 0}, TextRow([]byte("a"), nil, []byte{}))
	assert.Equal(t, []byte{}, TextRow())
}

func TestSendResultSetWithEOF(t *testing.T) {
	cols := []Column{{Name: "x"}, {Name: "y"}}
	srv := NewServer(t, func(c *Conn) {
		c.ExpectCommand()
		c.SendResultSet(cols, [][][]byte{{[]byte("1"), nil}}, false)
	})
	cl := dialClient(t, srv.Addr())
	cl.command(0x03, []byte("SELECT x, y"))
	assert.Equal(t, []byte{2}, cl.read())
	assert.Equal(t, ColumnDef(cols[0]), cl.read())
	assert.Equal(t, ColumnDef(cols[1]), cl.read())
	assert.Equal(t, EOF(0, StatusAutocommit), cl.read(), "EOF after the column definitions")
	assert.Equal(t, []byte{1, '1', 0xfb}, cl.read())
	assert.Equal(t, EOF(0, StatusAutocommit), cl.read(), "EOF after the rows")
	assert.Equal(t, uint8(7), cl.seq)
}

func TestHandshakePacketLayout(t *testing.T) {
	o := HandshakeOpts{
		ServerVersion:       "5.5.5-10.11.6-MariaDB",
		ConnID:              7,
		Capabilities:        protocol.ClientProtocol41 | protocol.ClientSecureConnection | protocol.ClientPluginAuth,
		MariaDBCapabilities: 0x1c,
		Charset:             8,
		Status:              0x22,
		AuthPlugin:          "client_ed25519",
	}
	p := HandshakePacket(o)
	hs := parseHandshake(t, p)
	assert.Equal(t, "5.5.5-10.11.6-MariaDB", hs.version)
	assert.Equal(t, uint32(7), hs.connID)
	assert.Equal(t, o.Capabilities, hs.caps)
	assert.Equal(t, uint32(0x1c), hs.mariaCap)
	assert.Equal(t, uint8(8), hs.charset)
	assert.Equal(t, uint16(0x22), hs.status)
	assert.Equal(t, DefaultScramble(), hs.scramble)
	assert.Equal(t, "client_ed25519", hs.plugin)
	// 1 + version NUL + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13 + plugin NUL.
	assert.Len(t, p, 1+22+4+8+1+2+1+2+2+1+10+13+15)
	// auth_plugin_data_len: 20 scramble bytes + NUL.
	assert.Equal(t, byte(21), p[1+22+4+8+1+2+1+2+2])

	// Without PLUGIN_AUTH and SECURE_CONNECTION: data length 0, no part 2, no name.
	p = HandshakePacket(HandshakeOpts{Capabilities: protocol.ClientProtocol41})
	fixed := 1 + len("8.0.36-fake") + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2
	require.Len(t, p, fixed+1+10)
	assert.Equal(t, byte(0), p[fixed])
	assert.Equal(t, DefaultScramble()[:8], p[1+len("8.0.36-fake")+1+4:][:8])

	// A short scramble is padded to the 12-byte minimum of part 2.
	p = HandshakePacket(HandshakeOpts{Scramble: []byte("0123456789")})
	hs = parseHandshake(t, p)
	assert.Equal(t, append([]byte("0123456789"), make([]byte, 10)...), hs.scramble)

	// TLS adds CLIENT_SSL to explicit capabilities too.
	p = HandshakePacket(HandshakeOpts{Capabilities: DefaultCapabilities, TLS: &tls.Config{}})
	assert.NotZero(t, parseHandshake(t, p).caps&protocol.ClientSSL)
}

func TestCapabilityDefaults(t *testing.T) {
	for _, f := range []protocol.Capability{protocol.ClientProtocol41, protocol.ClientSecureConnection, protocol.ClientPluginAuth, protocol.ClientPluginAuthLenencClientData,
		protocol.ClientConnectWithDB, protocol.ClientConnectAttrs, protocol.ClientTransactions, protocol.ClientMultiResults, protocol.ClientPSMultiResults,
		protocol.ClientMultiStatements, protocol.ClientDeprecateEOF, protocol.ClientLongPassword, protocol.ClientLongFlag, protocol.ClientFoundRows, protocol.ClientLocalFiles} {
		assert.NotZero(t, DefaultCapabilities&f, "flag %#x", f)
	}
	assert.Zero(t, DefaultCapabilities&protocol.ClientSSL)
	assert.Equal(t, protocol.Capability(0x00000200), protocol.ClientProtocol41)
	assert.Equal(t, protocol.Capability(0x00000800), protocol.ClientSSL)
	assert.Equal(t, protocol.Capability(0x00008000), protocol.ClientSecureConnection)
	assert.Equal(t, protocol.Capability(0x00080000), protocol.ClientPluginAuth)
	assert.Equal(t, protocol.Capability(0x00200000), protocol.ClientPluginAuthLenencClientData)
	assert.Equal(t, protocol.Capability(0x01000000), protocol.ClientDeprecateEOF)
}

func TestAuthChecks(t *testing.T) {
	sc := DefaultScramble()
	// Vectors computed outside Go (Python hashlib) from the client-side formulas.
	native := unhex(t, "b3e999b852b6c173bf6a34c737bd33405b6415c9")
	sha2 := unhex(t, "914876d96ca2d41c19914039874f3e942ec91ce81bc3742668e97d3e780af392")

	assert.True(t, NativePasswordCheck(sc, "secret", native))
	assert.True(t, NativePasswordCheck(append(sc, 0), "secret", native), "trailing NUL ignored")
	assert.False(t, NativePasswordCheck(sc, "Secret", native))
	assert.False(t, NativePasswordCheck(sc, "secret", native[:19]))
	assert.False(t, NativePasswordCheck(sc, "secret", nil))
	assert.True(t, NativePasswordCheck(sc, "", nil))
	assert.False(t, NativePasswordCheck(sc, "", native))
	assert.True(t, NativePasswordCheck([]byte("abcdefghijklmnopqrst"), "pw", clientNative([]byte("abcdefghijklmnopqrst"), "pw")))

	assert.True(t, CachingSHA2Check(sc, "secret", sha2))
	assert.True(t, CachingSHA2Check(append(sc, 0), "secret", sha2))
	assert.False(t, CachingSHA2Check(sc, "secreT", sha2))
	assert.False(t, CachingSHA2Check(sc, "secret", native))
	assert.True(t, CachingSHA2Check(sc, "", []byte{}))
	assert.False(t, CachingSHA2Check(sc, "", sha2))
	flipped := append([]byte(nil), sha2...)
	flipped[31] ^= 1
	assert.False(t, CachingSHA2Check(sc, "secret", flipped))
	assert.True(t, CachingSHA2Check(sc, "pässwörd", clientSHA2(sc, "pässwörd")))
}

// fullResponse is a HandshakeResponse41 with every optional field present.
func fullResponse() []byte {
	caps := protocol.ClientProtocol41 | protocol.ClientSecureConnection | protocol.ClientPluginAuthLenencClientData | protocol.ClientConnectWithDB |
		protocol.ClientPluginAuth | protocol.ClientConnectAttrs | protocol.ClientZstdCompression
	b := binary.LittleEndian.AppendUint32(nil, uint32(caps))
	b = binary.LittleEndian.AppendUint32(b, 0x1000000)
	b = append(b, 255)
	b = append(b, make([]byte, 19)...)
	b = binary.LittleEndian.AppendUint32(b, 0x0d) // MariaDB extended capabilities
	b = append(b, "root\x00"...)
	b = append(b, LenEncString(make([]byte, 300))...)
	b = append(b, "db1\x00"...)
	b = append(b, "caching_sha2_password\x00"...)
	attrs := append(LenEncString([]byte("_pid")), LenEncString([]byte("123"))...)
	attrs = append(attrs, LenEncString([]byte("empty"))...)
	attrs = append(attrs, LenEncString(nil)...)
	b = append(b, LenEncString(attrs)...)
	return append(b, 3) // zstd level
}

func TestParseHandshakeResponse(t *testing.T) {
	p := fullResponse()
	h, err := ParseHandshakeResponse(p)
	require.NoError(t, err)
	assert.Equal(t, uint32(0x1000000), h.MaxPacket)
	assert.Equal(t, uint8(255), h.Charset)
	assert.Equal(t, uint32(0x0d), h.MariaDBCapabilities)
	assert.Equal(t, "root", h.User)
	assert.Equal(t, make([]byte, 300), h.AuthResponse)
	assert.Equal(t, "db1", h.DB)
	assert.Equal(t, "caching_sha2_password", h.AuthPlugin)
	assert.Equal(t, map[string]string{"_pid": "123", "empty": ""}, h.Attrs)
	assert.Equal(t, uint8(3), h.ZstdLevel)
	assert.Equal(t, p, h.Raw)

	// Every proper prefix is truncated somewhere: an error, never a panic.
	for n := 0; n < len(p); n++ {
		_, err := ParseHandshakeResponse(p[:n])
		require.Error(t, err, "prefix of %d bytes", n)
		require.Contains(t, err.Error(), "rawmysql: protocoltest: ")
	}
	_, err = ParseHandshakeResponse(append(p, 0))
	assert.ErrorContains(t, err, "trailing")

	// Pre-4.1 responses are refused.
	old := append([]byte(nil), p...)
	binary.LittleEndian.PutUint32(old, uint32(protocol.ClientSecureConnection))
	_, err = ParseHandshakeResponse(old)
	assert.ErrorContains(t, err, "CLIENT_PROTOCOL_41")

	// Without SECURE_CONNECTION the auth response is NUL-terminated.
	b := binary.LittleEndian.AppendUint32(nil, uint32(protocol.ClientProtocol41))
	b = append(b, make([]byte, 4+1+23)...)
	b = append(b, "u\x00pw\x00"...)
	h, err = ParseHandshakeResponse(b)
	require.NoError(t, err)
	assert.Equal(t, "u", h.User)
	assert.Equal(t, []byte("pw"), h.AuthResponse)
	assert.Nil(t, h.Attrs)

	// A 1-byte auth length that lies about the bytes present.
	b = binary.LittleEndian.AppendUint32(nil, uint32(protocol.ClientProtocol41|protocol.ClientSecureConnection))
	b = append(b, make([]byte, 4+1+23)...)
	b = append(b, "u\x00\x14abc"...)
	_, err = ParseHandshakeResponse(b)
	assert.ErrorContains(t, err, "need 20 bytes")

	// An invalid length-encoded prefix (0xff) in the attributes.
	b = binary.LittleEndian.AppendUint32(nil, uint32(protocol.ClientProtocol41|protocol.ClientConnectAttrs))
	b = append(b, make([]byte, 4+1+23)...)
	b = append(b, "u\x00\x00\x02\xff\x00"...)
	_, err = ParseHandshakeResponse(b)
	assert.ErrorContains(t, err, "invalid length-encoded integer")

	// A huge lenenc length does not allocate.
	b = binary.LittleEndian.AppendUint32(nil, uint32(protocol.ClientProtocol41|protocol.ClientPluginAuthLenencClientData))
	b = append(b, make([]byte, 4+1+23)...)
	b = append(b, "u\x00\xfe\xff\xff\xff\xff\xff\xff\xff\x7f"...)
	_, err = ParseHandshakeResponse(b)
	assert.ErrorContains(t, err, "exceeds")
}

func FuzzParseHandshakeResponse(f *testing.F) {
	f.Add(fullResponse())
	f.Add(response41(protocol.ClientProtocol41|protocol.ClientSecureConnection|protocol.ClientPluginAuth|protocol.ClientConnectWithDB|protocol.ClientConnectAttrs,
		"bob", []byte("12345678901234567890"), "test", "mysql_native_password", [][2]string{{"a", "b"}}))
	f.Add(sslRequest(protocol.ClientProtocol41 | protocol.ClientSSL))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := ParseHandshakeResponse(p)
		if err != nil {
			if h != nil {
				t.Fatal("non-nil response with an error")
			}
			return
		}
		if string(h.Raw) != string(p) {
			t.Fatal("Raw differs from the input")
		}
		if h.Capabilities&protocol.ClientProtocol41 == 0 {
			t.Fatal("accepted a response without CLIENT_PROTOCOL_41")
		}
		// The driver's own decoder (written separately) must read the same fields from what this one accepts.
		var d protocol.HandshakeResponse
		if err := d.Decode(p); err != nil {
			t.Fatalf("protocol.HandshakeResponse.Decode rejects what ParseHandshakeResponse accepts: %v", err)
		}
		if d.Capabilities != h.Capabilities || d.MaxPacketSize != h.MaxPacket || d.Charset != h.Charset ||
			d.User != h.User || !bytes.Equal(d.AuthResponse, h.AuthResponse) || d.Database != h.DB ||
			d.AuthPlugin != h.AuthPlugin || d.MariaDBCaps != h.MariaDBCapabilities {
			t.Fatalf("decoders disagree: %+v vs %+v", d, h)
		}
		attrs := map[string]string{}
		for _, kv := range d.Attributes {
			attrs[kv[0]] = kv[1]
		}
		if len(attrs)+len(h.Attrs) > 0 && !reflect.DeepEqual(attrs, h.Attrs) {
			t.Fatalf("attributes: %q vs %q", d.Attributes, h.Attrs)
		}
	})
}
