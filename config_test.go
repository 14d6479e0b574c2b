package rawmysql

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewConfigDefaults(t *testing.T) {
	c := NewConfig()
	assert.Equal(t, "", c.Net)
	assert.Equal(t, "", c.Addr)
	assert.Equal(t, "utf8mb4_general_ci", c.Collation)
	assert.Same(t, time.UTC, c.Loc)
	assert.Equal(t, 64<<20, c.MaxAllowedPacket)
	assert.Equal(t, 64, c.StmtCacheSize)
	assert.Equal(t, 1000, c.StmtCacheTotal)
	assert.True(t, c.AllowNativePasswords)
	assert.True(t, c.CheckConnLiveness)
	assert.True(t, c.KillQueryOnCancel)
	assert.False(t, c.AllowAllFiles)
	assert.False(t, c.ParseTime)
	assert.False(t, c.InterpolateParams)
	assert.Nil(t, c.TLS)
	assert.Nil(t, c.Params)
	assert.Equal(t, "/", c.FormatDSN(), "Net and Addr are filled by normalize, not NewConfig")
}

func TestConfigClone(t *testing.T) {
	assert.Nil(t, (*Config)(nil).Clone())

	cfg, err := ParseDSN("u:p@tcp(db.example.com)/db?tls=true&x=1")
	require.NoError(t, err)
	cp := cfg.Clone()
	assertConfigEqual(t, cfg, cp)

	cp.Params["x"] = "2"
	cp.Params["y"] = "3"
	cp.TLS.ServerName = "other"
	assert.Equal(t, map[string]string{"x": "1"}, cfg.Params)
	assert.Equal(t, "db.example.com", cfg.TLS.ServerName)
	assert.NotSame(t, cfg.TLS, cp.TLS)

	empty := &Config{Params: map[string]string{}}
	assert.NotNil(t, empty.Clone().Params, "an empty non-nil map stays non-nil")
	assert.Nil(t, (&Config{}).Clone().Params)
}

// Tracer, PacketTrace and Logger have no DSN form: FormatDSN leaves them out, Clone shares them.
func TestConfigTracerNoDSNForm(t *testing.T) {
	cfg, err := ParseDSN("u:p@tcp(db:3306)/shop?parseTime=true")
	require.NoError(t, err)
	want := cfg.FormatDSN()
	tr := &nopTracer{"t"}
	var traced int
	cfg.Tracer = tr
	cfg.PacketTrace = func(byte, uint8, []byte) { traced++ }
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	assert.Equal(t, want, cfg.FormatDSN(), "FormatDSN writes no tracer or logger")

	cp := cfg.Clone()
	assert.Same(t, tr, cp.Tracer.(*nopTracer))
	assert.Same(t, cfg.Logger, cp.Logger)
	require.NotNil(t, cp.PacketTrace)
	cp.PacketTrace('>', 0, nil)
	assert.Equal(t, 1, traced, "the clone calls the same PacketTrace")

	back, err := ParseDSN(cfg.FormatDSN())
	require.NoError(t, err)
	assert.Nil(t, back.Tracer)
	assert.Nil(t, back.PacketTrace)
	assert.Nil(t, NewConfig().Tracer)
}

func TestNormalizeDefaults(t *testing.T) {
	c := &Config{}
	require.NoError(t, c.normalize())
	assert.Equal(t, "tcp", c.Net)
	assert.Equal(t, "127.0.0.1:3306", c.Addr)
	assert.Same(t, time.UTC, c.Loc)
	assert.Equal(t, "utf8mb4_general_ci", c.Collation)
	assert.Nil(t, c.TLS)

	u := &Config{Net: "unix"}
	require.NoError(t, u.normalize())
	assert.Equal(t, "/tmp/mysql.sock", u.Addr)

	r := &Config{Net: "registered-elsewhere", Addr: "anything goes"}
	require.NoError(t, r.normalize())
	assert.Equal(t, "anything goes", r.Addr)
}

func TestNormalizeIdempotent(t *testing.T) {
	dsns := []string{
		"",
		"u:p@tcp(db.example.com)/db?tls=true&parseTime=true&loc=Local",
		"tcp(::1)/?tls=preferred",
		"/?tls=skip-verify&x=y",
		"unix(/run/mysqld.sock)/?collation=latin1_swedish_ci",
	}
	for _, dsn := range dsns {
		cfg, err := ParseDSN(dsn)
		require.NoError(t, err, dsn)
		again := cfg.Clone()
		require.NoError(t, again.normalize(), dsn)
		assertConfigEqual(t, cfg, again)
		require.NoError(t, again.normalize(), dsn)
		assertConfigEqual(t, cfg, again)
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		mod func(c *Config)
		msg string
	}{
		{func(c *Config) { c.MaxAllowedPacket = -1 }, "maxAllowedPacket: -1 is out of range"},
		{func(c *Config) { c.MaxAllowedPacket = 1<<30 + 1 }, "maxAllowedPacket: 1073741825 is out of range"},
		{func(c *Config) { c.StmtCacheSize = -1 }, "stmtCacheSize: -1 is out of range"},
		{func(c *Config) { c.Timeout = -time.Second }, "timeout: negative duration -1s"},
		{func(c *Config) { c.ReadTimeout = -1 }, "readTimeout: negative duration"},
		{func(c *Config) { c.WriteTimeout = -1 }, "writeTimeout: negative duration"},
		{func(c *Config) { c.TimeTruncate = -1 }, "timeTruncate: negative duration"},
		{func(c *Config) { c.Params = map[string]string{"parseTime": "true"} }, `Params["parseTime"] is a driver parameter`},
		{func(c *Config) { c.Collation = "nope" }, `collation: unknown collation "nope"`},
		{func(c *Config) { c.Charset = "utf8mb4 COLLATE x" }, "charset: invalid charset"},
		{func(c *Config) { c.Net = "mynet" }, "no default address for this network"},
		{func(c *Config) { c.Addr = "[x]y" }, "invalid TCP address"},
		{func(c *Config) { c.TLSConfig = "unregistered" }, `tls: no TLS config registered as "unregistered"`},
		{func(c *Config) { c.TLSKey = "k.pem" }, "tls-cert and tls-key must be given together"},
		{func(c *Config) { c.InterpolateParams, c.Collation = true, "big5_chinese_ci" }, "interpolateParams cannot be used with the big5"},
	}
	for _, tt := range tests {
		c := NewConfig()
		tt.mod(c)
		err := c.normalize()
		if assert.Error(t, err, tt.msg) {
			assert.Contains(t, err.Error(), "rawmysql: invalid config: ")
			assert.Contains(t, err.Error(), tt.msg)
		}
	}
}

func TestNormalizeUserTLS(t *testing.T) {
	user := &tls.Config{MinVersion: tls.VersionTLS13}
	c := NewConfig()
	c.Addr = "db.example.com"
	c.TLS = user
	c.TLSConfig = "false" // a TLS set in code wins over TLSConfig, as in go-sql-driver
	require.NoError(t, c.normalize())
	require.NotNil(t, c.TLS)
	assert.NotSame(t, user, c.TLS, "the user's config is cloned")
	assert.Equal(t, "", user.ServerName, "the user's config is not modified")
	assert.Equal(t, "db.example.com", c.TLS.ServerName)
	assert.Equal(t, uint16(tls.VersionTLS13), c.TLS.MinVersion)

	// Changes made to the TLS of a parsed Config survive a later normalize (NewConnector).
	cfg, err := ParseDSN("tcp(db.example.com)/?tls=true")
	require.NoError(t, err)
	cfg.TLS.ServerName = "proxy.example.com"
	require.NoError(t, cfg.normalize())
	assert.Equal(t, "proxy.example.com", cfg.TLS.ServerName)
}

// testPKI is a throwaway CA with a server and a client certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherKey                                             string // a key that matches neither certificate
	caPool                                               *x509.CertPool
	clientDER                                            []byte
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	writePEM := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return der
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rawmysql test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, k *ecdsa.PrivateKey) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{cn},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		require.NoError(t, err)
		return der
	}
	serverKey, clientKey := newKey(), newKey()
	p := &testPKI{caPool: x509.NewCertPool()}
	p.caPool.AddCert(caCert)
	p.caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	p.serverCert = writePEM("server.pem", "CERTIFICATE", issue(2, "db.test", x509.ExtKeyUsageServerAuth, serverKey))
	p.serverKey = writePEM("server-key.pem", "PRIVATE KEY", keyDER(serverKey))
	p.clientDER = issue(3, "client", x509.ExtKeyUsageClientAuth, clientKey)
	p.clientCert = writePEM("client.pem", "CERTIFICATE", p.clientDER)
	p.clientKey = writePEM("client-key.pem", "PRIVATE KEY", keyDER(clientKey))
	p.otherKey = writePEM("other-key.pem", "PRIVATE KEY", keyDER(newKey()))
	return p
}

// handshake runs a TLS handshake over loopback TCP between a server using the PKI's server certificate
// (requiring a client certificate signed by the CA when requireClient) and a client using client.
func (p *testPKI) handshake(t *testing.T, client *tls.Config, requireClient bool) (clientErr, serverErr error) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if requireClient {
		srvCfg.ClientAuth = tls.RequireAndVerifyClientCert
		srvCfg.ClientCAs = p.caPool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := tls.Server(c, srvCfg)
		err = s.Handshake()
		_ = s.Close()
		done <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	cl := tls.Client(conn, client)
	clientErr = cl.Handshake()
	if clientErr == nil {
		// TLS 1.3 reports a refused client certificate after the client's handshake: read to learn of it.
		_, clientErr = cl.Read(make([]byte, 1))
		if errors.Is(clientErr, io.EOF) {
			clientErr = nil
		}
	}
	_ = cl.Close()
	serverErr = <-done
	return clientErr, serverErr
}

func TestTLSFiles(t *testing.T) {
	p := newTestPKI(t)

	t.Run("ca only implies tls=true", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(db.test)/?tls-ca=" + p.caFile)
		require.NoError(t, err)
		require.NotNil(t, cfg.TLS)
		assert.Equal(t, "", cfg.TLSConfig)
		assert.Equal(t, "db.test", cfg.TLS.ServerName)
		assert.False(t, cfg.TLS.InsecureSkipVerify)
		require.NotNil(t, cfg.TLS.RootCAs)
		assert.True(t, p.caPool.Equal(cfg.TLS.RootCAs))
		assert.Empty(t, cfg.TLS.Certificates)

		clientErr, serverErr := p.handshake(t, cfg.TLS, false)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)
	})

	t.Run("ca, cert and key", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(db.test:3306)/?tls=true&tls-ca=" + p.caFile + "&tls-cert=" + p.clientCert + "&tls-key=" + p.clientKey)
		require.NoError(t, err)
		require.NotNil(t, cfg.TLS)
		require.Len(t, cfg.TLS.Certificates, 1)
		assert.Equal(t, p.clientDER, cfg.TLS.Certificates[0].Certificate[0])

		clientErr, serverErr := p.handshake(t, cfg.TLS, true)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)

		// The DSN round trip keeps the files and gives the same TLS.
		again, err := ParseDSN(cfg.FormatDSN())
		require.NoError(t, err)
		assertConfigEqual(t, cfg, again)
	})

	t.Run("verification uses the CA and the host name", func(t *testing.T) {
		// Without tls-ca the system roots do not know the test CA.
		cfg, err := ParseDSN("tcp(db.test)/?tls=true")
		require.NoError(t, err)
		clientErr, _ := p.handshake(t, cfg.TLS, false)
		require.Error(t, clientErr)

		// A host name the certificate does not name fails too.
		cfg, err = ParseDSN("tcp(other.test)/?tls-ca=" + p.caFile)
		require.NoError(t, err)
		clientErr, _ = p.handshake(t, cfg.TLS, false)
		require.Error(t, clientErr)
	})

	t.Run("skip-verify with a client certificate", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(1.2.3.4)/?tls=skip-verify&tls-cert=" + p.clientCert + "&tls-key=" + p.clientKey)
		require.NoError(t, err)
		assert.True(t, cfg.TLS.InsecureSkipVerify)
		assert.Equal(t, "", cfg.TLS.ServerName)
		require.Len(t, cfg.TLS.Certificates, 1)
		clientErr, serverErr := p.handshake(t, cfg.TLS, true)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)
	})

	t.Run("registered config with files on top", func(t *testing.T) {
		reg := &tls.Config{MinVersion: tls.VersionTLS12}
		require.NoError(t, RegisterTLSConfig("dsn-test-files", reg))
		t.Cleanup(func() { DeregisterTLSConfig("dsn-test-files") })

		cfg, err := ParseDSN("tcp(db.test)/?tls=dsn-test-files&tls-ca=" + p.caFile)
		require.NoError(t, err)
		assert.Equal(t, uint16(tls.VersionTLS12), cfg.TLS.MinVersion)
		assert.Equal(t, "db.test", cfg.TLS.ServerName)
		assert.True(t, p.caPool.Equal(cfg.TLS.RootCAs))
		assert.Nil(t, getTLSConfigClone("dsn-test-files").RootCAs, "the registered config is not modified")
	})

	t.Run("errors name the file and the cause", func(t *testing.T) {
		_, err := ParseDSN("/?tls-ca=" + p.clientKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-ca: no PEM certificate found in \""+p.clientKey+"\"")

		_, err = ParseDSN("/?tls-cert=" + p.clientCert + "&tls-key=" + p.otherKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-cert/tls-key: loading \""+p.clientCert+"\" and \""+p.otherKey+"\"")
		assert.Contains(t, err.Error(), "private key does not match public key")

		missing := filepath.Join(filepath.Dir(p.clientKey), "absent.pem")
		_, err = ParseDSN("/?tls-cert=" + p.clientCert + "&tls-key=" + missing)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-key: cannot read \""+missing+"\"")
		assert.True(t, errors.Is(err, fs.ErrNotExist))

		_, err = ParseDSN("/?tls-cert=" + p.clientKey + "&tls-key=" + p.clientKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-cert/tls-key")
	})
}

func TestConfigApplyOptions(t *testing.T) {
	cfg := NewConfig()
	require.NoError(t, cfg.Apply(TimeTruncate(time.Second), EnableCompression(true), Charset("latin1", "latin1_bin")))
	assert.Equal(t, time.Second, cfg.TimeTruncate)
	assert.True(t, cfg.Compress)
	assert.Equal(t, "latin1", cfg.Charset)
	assert.Equal(t, "latin1_bin", cfg.Collation)
	require.NoError(t, cfg.Apply(EnableCompression(false), Charset("utf8mb4", "")))
	assert.False(t, cfg.Compress)
	assert.Equal(t, "utf8mb4", cfg.Charset)
	assert.Empty(t, cfg.Collation)

	// The first failing option stops Apply.
	boom := errors.New("boom")
	ran := false
	err := cfg.Apply(func(*Config) error { return boom }, func(*Config) error { ran = true; return nil })
	require.ErrorIs(t, err, boom)
	assert.False(t, ran)

	// The hook is kept by Clone (a Connector's private copy).
	require.NoError(t, cfg.Apply(BeforeConnect(func(context.Context, *Config) error { return boom })))
	assert.NotNil(t, cfg.Clone().beforeConnect)
}

func TestStmtCacheDefaults(t *testing.T) {
	c := NewConfig()
	assert.Equal(t, 64, c.StmtCacheSize)
	assert.Equal(t, 1000, c.StmtCacheTotal)
	cfg, err := ParseDSN("/?stmtCacheTotal=0&stmtCacheSize=8")
	require.NoError(t, err)
	assert.Equal(t, 0, cfg.StmtCacheTotal)
	assert.Zero(t, newConnector(cfg).stmtBudget.Max(), "no pool-wide bound")
	assert.Equal(t, "tcp(127.0.0.1:3306)/?stmtCacheSize=8&stmtCacheTotal=0", cfg.FormatDSN())
	_, err = ParseDSN("/?stmtCacheTotal=-1")
	assert.ErrorContains(t, err, "stmtCacheTotal")
}
