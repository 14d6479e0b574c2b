package protocoltest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testClient is a minimal MySQL client written against raw net.Conn, with its
// own framing, so the fake server is checked against independent code.
type testClient struct {
	t   *testing.T
	nc  net.Conn
	seq uint8
}

func dialClient(t *testing.T, addr string) *testClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(30*time.Second)))
	return &testClient{t: t, nc: nc}
}

// frame writes one frame with the given sequence id.
func (c *testClient) frame(seq uint8, payload []byte) {
	c.t.Helper()
	n := len(payload)
	hdr := []byte{byte(n), byte(n >> 8), byte(n >> 16), seq}
	_, err := c.nc.Write(append(hdr, payload...))
	require.NoError(c.t, err)
}

// write sends payload as a packet, split at 0xFFFFFF, with consecutive ids.
func (c *testClient) write(payload []byte) {
	c.t.Helper()
	for {
		n := min(len(payload), 0xFFFFFF)
		c.frame(c.seq, payload[:n])
		c.seq++
		payload = payload[n:]
		if n < 0xFFFFFF {
			return
		}
	}
}

// readFrame reads one frame and returns its header fields and payload.
func (c *testClient) readFrame() (n int, seq uint8, payload []byte) {
	c.t.Helper()
	var hdr [4]byte
	_, err := io.ReadFull(c.nc, hdr[:])
	require.NoError(c.t, err)
	n = int(binary.LittleEndian.Uint32(append(hdr[:3:3], 0)))
	payload = make([]byte, n)
	_, err = io.ReadFull(c.nc, payload)
	require.NoError(c.t, err)
	return n, hdr[3], payload
}

// read reads one packet (joining split frames) and checks the sequence ids.
func (c *testClient) read() []byte {
	c.t.Helper()
	var out []byte
	for {
		n, seq, p := c.readFrame()
		require.Equal(c.t, c.seq, seq, "server sequence id")
		c.seq++
		out = append(out, p...)
		if n < 0xFFFFFF {
			return out
		}
	}
}

// command starts a new command: sequence 0.
func (c *testClient) command(cmd byte, arg []byte) {
	c.t.Helper()
	c.seq = 0
	c.write(append([]byte{cmd}, arg...))
}

// handshake is the client's view of a Handshake v10 packet, parsed here
// independently of the package's encoder.
type handshake struct {
	version  string
	connID   uint32
	scramble []byte
	caps     protocol.Capability
	charset  uint8
	status   uint16
	plugin   string
	mariaCap uint32
}

func parseHandshake(t *testing.T, p []byte) handshake {
	t.Helper()
	require.Equal(t, byte(10), p[0], "protocol version")
	p = p[1:]
	i := bytes.IndexByte(p, 0)
	require.GreaterOrEqual(t, i, 0)
	var h handshake
	h.version = string(p[:i])
	p = p[i+1:]
	h.connID = binary.LittleEndian.Uint32(p)
	h.scramble = append([]byte(nil), p[4:12]...)
	require.Equal(t, byte(0), p[12], "filler")
	h.caps = protocol.Capability(binary.LittleEndian.Uint16(p[13:]))
	h.charset = p[15]
	h.status = binary.LittleEndian.Uint16(p[16:])
	h.caps |= protocol.Capability(binary.LittleEndian.Uint16(p[18:])) << 16
	dataLen := int(p[20])
	require.Equal(t, make([]byte, 6), p[21:27], "reserved")
	h.mariaCap = binary.LittleEndian.Uint32(p[27:])
	p = p[31:]
	part2 := max(13, dataLen-8)
	h.scramble = append(h.scramble, p[:part2-1]...) // drop the NUL
	require.Equal(t, byte(0), p[part2-1])
	p = p[part2:]
	i = bytes.IndexByte(p, 0)
	require.Equal(t, len(p)-1, i, "plugin name is the last field")
	h.plugin = string(p[:i])
	return h
}

// clientNative computes a mysql_native_password response the way a client
// does: SHA1(pw) XOR SHA1(scramble ‖ SHA1(SHA1(pw))).
func clientNative(scramble []byte, pw string) []byte {
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	m := sha1.Sum(append(append([]byte(nil), scramble...), s2[:]...))
	for i := range s1 {
		s1[i] ^= m[i]
	}
	return s1[:]
}

// response41 builds a HandshakeResponse41 payload by hand.
func response41(caps protocol.Capability, user string, auth []byte, db, plugin string, attrs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(caps))
	b = binary.LittleEndian.AppendUint32(b, 1<<24)
	b = append(b, 45)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, user...), 0)
	b = append(b, byte(len(auth)))
	b = append(b, auth...)
	if caps&protocol.ClientConnectWithDB != 0 {
		b = append(append(b, db...), 0)
	}
	if caps&protocol.ClientPluginAuth != 0 {
		b = append(append(b, plugin...), 0)
	}
	if caps&protocol.ClientConnectAttrs != 0 {
		var a []byte
		for _, kv := range attrs {
			a = append(a, byte(len(kv[0])))
			a = append(a, kv[0]...)
			a = append(a, byte(len(kv[1])))
			a = append(a, kv[1]...)
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b
}

func TestHandshakeAuthAndQuery(t *testing.T) {
	type seen struct {
		resp     *HandshakeResponse
		authOK   bool
		cmd      byte
		arg      []byte
		quit     byte
		finalErr error
	}
	got := make(chan seen, 1)
	srv := NewServer(t, func(c *Conn) {
		var s seen
		defer func() { s.finalErr = c.Err(); got <- s }()
		c.SendHandshake(HandshakeOpts{})
		s.resp = c.ExpectHandshakeResponse()
		if s.resp == nil {
			return
		}
		s.authOK = NativePasswordCheck(c.Scramble(), "secret", s.resp.AuthResponse)
		if !s.authOK {
			c.WritePacket(ERR(1045, "28000", "Access denied"))
			return
		}
		c.WritePacket(OK(0, 0, StatusAutocommit, 0, ""))
		s.cmd, s.arg = c.ExpectCommand()
		c.SendResultSet([]Column{{Name: "a", OrgName: "a", Charset: 63, Length: 20, Type: 8}},
			[][][]byte{{[]byte("1")}, {nil}}, true)
		s.quit, _ = c.ExpectCommand()
	})

	cl := dialClient(t, srv.Addr())
	hs := parseHandshake(t, cl.read())
	assert.Equal(t, "8.0.36-fake", hs.version)
	assert.Equal(t, uint32(42), hs.connID)
	assert.Equal(t, DefaultScramble(), hs.scramble)
	assert.Equal(t, DefaultCapabilities, hs.caps)
	assert.Zero(t, hs.caps&protocol.ClientSSL, "no TLS offered without a TLS config")
	assert.Equal(t, uint8(45), hs.charset)
	assert.Equal(t, StatusAutocommit, hs.status)
	assert.Equal(t, "mysql_native_password", hs.plugin)

	caps := protocol.ClientProtocol41 | protocol.ClientSecureConnection | protocol.ClientPluginAuth | protocol.ClientConnectWithDB | protocol.ClientConnectAttrs | protocol.ClientDeprecateEOF
	cl.write(response41(caps, "bob", clientNative(hs.scramble, "secret"), "test", "mysql_native_password",
		[][2]string{{"_client_name", "rawmysql"}, {"_os", "linux"}}))
	assert.Equal(t, []byte{0, 0, 0, 2, 0, 0, 0}, cl.read(), "OK after auth, seq 2")

	cl.command(0x03, []byte("SELECT 1"))
	assert.Equal(t, []byte{1}, cl.read(), "column count")
	col := cl.read()
	assert.Equal(t, ColumnDef(Column{Name: "a", OrgName: "a", Charset: 63, Length: 20, Type: 8}), col)
	assert.Equal(t, []byte{1, '1'}, cl.read())
	assert.Equal(t, []byte{0xfb}, cl.read())
	assert.Equal(t, []byte{0xfe, 0, 0, 2, 0, 0, 0}, cl.read())
	assert.Equal(t, uint8(6), cl.seq, "replies continued from 1")
	cl.command(0x01, nil)

	s := <-got
	require.NotNil(t, s.resp)
	assert.Equal(t, caps, s.resp.Capabilities)
	assert.Equal(t, uint32(1<<24), s.resp.MaxPacket)
	assert.Equal(t, uint8(45), s.resp.Charset)
	assert.Equal(t, "bob", s.resp.User)
	assert.Equal(t, "test", s.resp.DB)
	assert.Equal(t, "mysql_native_password", s.resp.AuthPlugin)
	assert.Equal(t, map[string]string{"_client_name": "rawmysql", "_os": "linux"}, s.resp.Attrs)
	assert.False(t, s.resp.SSLRequested)
	assert.True(t, s.authOK)
	assert.Equal(t, byte(0x03), s.cmd)
	assert.Equal(t, []byte("SELECT 1"), s.arg)
	assert.Equal(t, byte(0x01), s.quit)
	assert.NoError(t, s.finalErr)
	assert.Equal(t, 1, srv.Conns())
}

func TestWrongPasswordGetsERR(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {
		c.SendHandshake(HandshakeOpts{Scramble: []byte("abcdefghijklmnopqrst")})
		r := c.ExpectHandshakeResponse()
		if r != nil && !NativePasswordCheck(c.Scramble(), "secret", r.AuthResponse) {
			c.WritePacket(ERR(1045, "28000", "Access denied"))
		}
	})
	cl := dialClient(t, srv.Addr())
	hs := parseHandshake(t, cl.read())
	assert.Equal(t, []byte("abcdefghijklmnopqrst"), hs.scramble)
	cl.write(response41(protocol.ClientProtocol41|protocol.ClientSecureConnection, "bob", clientNative(hs.scramble, "wrong"), "", "", nil))
	want := append([]byte{0xff, 0x15, 0x04, '#'}, "28000Access denied"...)
	assert.Equal(t, want, cl.read())
}

func TestSplitPacketsBothWays(t *testing.T) {
	big := make([]byte, 0xFFFFFF+10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	srv := NewServer(t, func(c *Conn) {
		_, arg := c.ExpectCommand()
		got <- arg
		c.WritePacket(big)
		// A payload of exactly 0xFFFFFF bytes ends with an empty frame.
		c.WritePacket(big[:0xFFFFFF])
		c.WritePacket(nil)
	})
	cl := dialClient(t, srv.Addr())
	// The client sends a 16 MiB+ command: frames of 0xFFFFFF (seq 0) and 9 (seq 1),
	// so the server's reply continues at seq 2.
	cl.seq = 0
	cl.write(big[:len(big)-1])
	arg := <-got
	assert.Equal(t, len(big)-2, len(arg))
	assert.True(t, bytes.Equal(big[1:len(big)-1], arg))

	n, seq, p := cl.readFrame()
	assert.Equal(t, 0xFFFFFF, n)
	assert.Equal(t, uint8(2), seq)
	n2, seq2, p2 := cl.readFrame()
	assert.Equal(t, 10, n2)
	assert.Equal(t, uint8(3), seq2)
	assert.True(t, bytes.Equal(big, append(p, p2...)))

	n, seq, _ = cl.readFrame()
	assert.Equal(t, 0xFFFFFF, n)
	assert.Equal(t, uint8(4), seq)
	n, seq, _ = cl.readFrame()
	assert.Equal(t, 0, n, "empty frame after an exact 0xFFFFFF payload")
	assert.Equal(t, uint8(5), seq)
	n, seq, _ = cl.readFrame()
	assert.Equal(t, 0, n, "an empty packet")
	assert.Equal(t, uint8(6), seq)
}

func TestReadPacketExactMaxPayload(t *testing.T) {
	got := make(chan []byte, 1)
	srv := NewServer(t, func(c *Conn) {
		got <- c.ReadPacket()
	})
	cl := dialClient(t, srv.Addr())
	payload := bytes.Repeat([]byte{0xab}, 0xFFFFFF)
	cl.frame(0, payload)
	cl.frame(1, nil)
	p := <-got
	assert.Equal(t, 0xFFFFFF, len(p))
	assert.True(t, bytes.Equal(payload, p))
}

func TestSequenceMismatch(t *testing.T) {
	type res struct {
		cmd byte
		arg []byte
		err error
	}
	got := make(chan res, 1)
	srv := NewServer(t, func(c *Conn) {
		cmd, arg := c.ExpectCommand()
		// Once failed, further reads return nil at once.
		extra := c.ReadPacket()
		assert.Nil(t, extra)
		got <- res{cmd, arg, c.Err()}
	})
	cl := dialClient(t, srv.Addr())
	cl.frame(3, []byte{0x03, 'x'})
	r := <-got
	assert.Equal(t, byte(0), r.cmd)
	assert.Nil(t, r.arg)
	require.Error(t, r.err)
	assert.Contains(t, r.err.Error(), "rawmysql: protocoltest: packet sequence id 3, want 0")
	srv.Close()
	require.Len(t, srv.Errs(), 1)
	assert.Equal(t, r.err, srv.Errs()[0])
}

func TestSplitPacketSequenceMismatch(t *testing.T) {
	got := make(chan error, 1)
	srv := NewServer(t, func(c *Conn) {
		assert.Nil(t, c.ReadPacket())
		got <- c.Err()
	})
	cl := dialClient(t, srv.Addr())
	cl.frame(0, make([]byte, 0xFFFFFF))
	cl.frame(0, []byte{1}) // the continuation must carry seq 1
	err := <-got
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sequence id 0, want 1")
}

func TestClientEOF(t *testing.T) {
	got := make(chan error, 1)
	srv := NewServer(t, func(c *Conn) {
		c.SendHandshake(HandshakeOpts{})
		assert.Nil(t, c.ExpectHandshakeResponse())
		got <- c.Err()
	})
	cl := dialClient(t, srv.Addr())
	cl.read()
	require.NoError(t, cl.nc.Close())
	err := <-got
	require.Error(t, err)
	assert.ErrorIs(t, err, io.EOF)
}

func TestTruncatedPayload(t *testing.T) {
	got := make(chan error, 1)
	srv := NewServer(t, func(c *Conn) {
		assert.Nil(t, c.ReadPacket())
		got <- c.Err()
	})
	cl := dialClient(t, srv.Addr())
	_, err := cl.nc.Write([]byte{10, 0, 0, 0, 'a', 'b'})
	require.NoError(t, err)
	require.NoError(t, cl.nc.Close())
	err = <-got
	require.Error(t, err)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestReadTimeout(t *testing.T) {
	got := make(chan error, 1)
	srv := NewServer(t, func(c *Conn) {
		c.SetTimeout(50 * time.Millisecond)
		assert.Nil(t, c.ReadPacket())
		got <- c.Err()
	})
	cl := dialClient(t, srv.Addr()) // connects and sends nothing
	err := <-got
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	_ = cl
}

func TestServerCloseUnblocksScripts(t *testing.T) {
	started := make(chan struct{}, 2)
	srv := NewServer(t, func(c *Conn) {
		started <- struct{}{}
		c.ReadPacket() // blocks on a silent client until the server closes
	})
	dialClient(t, srv.Addr())
	dialClient(t, srv.Addr())
	<-started
	<-started
	assert.Equal(t, 2, srv.Conns())
	srv.Close() // returns only once both scripts have returned
	errs := srv.Errs()
	require.Len(t, errs, 2)
	for _, err := range errs {
		// A script is blocked in ReadPacket's read or, if Close came first,
		// stopped at ReadPacket's SetDeadline: either way the closed socket.
		assert.ErrorIs(t, err, net.ErrClosed)
		assert.Contains(t, err.Error(), "rawmysql: protocoltest: ")
	}
	srv.Close() // idempotent
}

func TestWriteRawAndSeq(t *testing.T) {
	srv := NewServer(t, func(c *Conn) {
		c.SetSeq(7)
		c.WritePacket([]byte("hi"))
		assert.Equal(t, uint8(8), c.Seq())
		c.WriteRaw([]byte{0xff, 0xff, 0xff}) // a header cut short
		assert.Equal(t, uint8(8), c.Seq(), "WriteRaw leaves the sequence id alone")
		c.Errorf("custom %d", 1)
		c.Errorf("second")
		assert.EqualError(t, c.Err(), "rawmysql: protocoltest: custom 1")
		assert.NotNil(t, c.NetConn())
	})
	cl := dialClient(t, srv.Addr())
	n, seq, p := cl.readFrame()
	assert.Equal(t, 2, n)
	assert.Equal(t, uint8(7), seq)
	assert.Equal(t, []byte("hi"), p)
	rest, err := io.ReadAll(cl.nc)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xff, 0xff, 0xff}, rest)
}

func TestSSLRequestWithoutTLS(t *testing.T) {
	got := make(chan error, 1)
	srv := NewServer(t, func(c *Conn) {
		c.SendHandshake(HandshakeOpts{Capabilities: DefaultCapabilities | protocol.ClientSSL})
		assert.Nil(t, c.ExpectHandshakeResponse())
		got <- c.Err()
	})
	cl := dialClient(t, srv.Addr())
	hs := parseHandshake(t, cl.read())
	assert.NotZero(t, hs.caps&protocol.ClientSSL, "explicit capabilities are sent as given")
	cl.write(sslRequest(protocol.ClientProtocol41 | protocol.ClientSSL | protocol.ClientSecureConnection))
	err := <-got
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SSLRequest")
}

func sslRequest(caps protocol.Capability) []byte {
	return protocol.AppendSSLRequest(nil, caps, 1<<24, 45, 0)
}

// selfSigned returns a server TLS config with a fresh self-signed certificate
// for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "protocoltest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestTLSUpgrade(t *testing.T) {
	srvCfg, pool := selfSigned(t)
	type res struct {
		resp  *HandshakeResponse
		isTLS bool
		err   error
	}
	got := make(chan res, 1)
	srv := NewServer(t, func(c *Conn) {
		c.SendHandshake(HandshakeOpts{TLS: srvCfg, AuthPlugin: "caching_sha2_password"})
		r := c.ExpectHandshakeResponse()
		_, isTLS := c.NetConn().(*tls.Conn)
		if r != nil && CachingSHA2Check(c.Scramble(), "pw", r.AuthResponse) {
			c.WritePacket(OK(0, 0, StatusAutocommit, 0, ""))
		}
		got <- res{r, isTLS, c.Err()}
	})
	cl := dialClient(t, srv.Addr())
	hs := parseHandshake(t, cl.read())
	require.NotZero(t, hs.caps&protocol.ClientSSL, "TLS config offers SSL")
	assert.Equal(t, "caching_sha2_password", hs.plugin)

	caps := protocol.ClientProtocol41 | protocol.ClientSSL | protocol.ClientSecureConnection | protocol.ClientPluginAuth
	cl.write(sslRequest(caps))
	tc := tls.Client(cl.nc, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	require.NoError(t, tc.Handshake())
	cl.nc = tc
	cl.write(response41(caps, "alice", clientSHA2(hs.scramble, "pw"), "", "caching_sha2_password", nil))
	assert.Equal(t, []byte{0, 0, 0, 2, 0, 0, 0}, cl.read())
	assert.Equal(t, uint8(4), cl.seq, "SSLRequest 1, response 2, OK 3")

	r := <-got
	require.NoError(t, r.err)
	require.NotNil(t, r.resp)
	assert.True(t, r.resp.SSLRequested)
	assert.True(t, r.isTLS)
	assert.Equal(t, "alice", r.resp.User)
}

// clientSHA2 computes a caching_sha2_password fast-auth response the way a
// client does: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) ‖ scramble).
func clientSHA2(scramble []byte, pw string) []byte {
	s1 := sha256.Sum256([]byte(pw))
	s2 := sha256.Sum256(s1[:])
	m := sha256.Sum256(append(s2[:], scramble...))
	for i := range s1 {
		s1[i] ^= m[i]
	}
	return s1[:]
}
