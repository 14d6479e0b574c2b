package rawmysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sslCipher returns the session's Ssl_cipher status ("" on a plaintext connection), asked through dsn.
func sslCipher(t *testing.T, cfg *Config) (cipher string, err error) {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	connector, err := NewConnector(cfg)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := connector.Connect(ctx)
	if err != nil {
		return "", err
	}
	defer dc.Close()
	c := dc.(*conn)
	q := "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'"
	if !strings.Contains(c.pc.ServerVersion(), "MariaDB") { // MySQL keeps status variables in performance_schema only
		q = "SELECT VARIABLE_VALUE FROM performance_schema.session_status WHERE VARIABLE_NAME = 'Ssl_cipher'"
	}
	v, err := c.queryScalar(ctx, q)
	if err != nil {
		return "", err
	}
	assert.Equal(t, v != "", c.pc.TLS(), "the server's view of TLS matches the client's")
	return v, nil
}

func TestTLSModes(t *testing.T) {
	srv := testserver.Get(t)
	requirePrivate(t, srv)
	caPEM, err := os.ReadFile(srv.CAFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))

	t.Run("tls=true with tls-ca verifies 127.0.0.1", func(t *testing.T) {
		c, err := sslCipher(t, mustParse(t, srv.DSN("tls=true&tls-ca="+srv.CAFile)))
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("tls-ca alone implies verification", func(t *testing.T) {
		cfg := mustParse(t, srv.DSN("tls-ca="+srv.CAFile))
		require.NotNil(t, cfg.TLS)
		assert.Equal(t, "127.0.0.1", cfg.TLS.ServerName)
		c, err := sslCipher(t, cfg)
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("localhost name is verified", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(srv.Addr)
		cfg := mustParse(t, srv.DSN("tls=true&tls-ca="+srv.CAFile))
		cfg.Addr = net.JoinHostPort("localhost", port)
		cfg.TLS = nil
		c, err := sslCipher(t, cfg)
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("tls=true without the CA fails verification", func(t *testing.T) {
		_, err := sslCipher(t, mustParse(t, srv.DSN("tls=true")))
		var ue x509.UnknownAuthorityError
		require.ErrorAs(t, err, &ue)
	})
	t.Run("wrong server name fails verification", func(t *testing.T) {
		cfg := mustParse(t, srv.DSN(""))
		cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "db.example.com"}
		_, err := sslCipher(t, cfg)
		var he x509.HostnameError
		require.ErrorAs(t, err, &he)
	})
	t.Run("tls=skip-verify", func(t *testing.T) {
		c, err := sslCipher(t, mustParse(t, srv.DSN("tls=skip-verify")))
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("tls=preferred with a TLS server", func(t *testing.T) {
		c, err := sslCipher(t, mustParse(t, srv.DSN("tls=preferred")))
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("RegisterTLSConfig", func(t *testing.T) {
		require.NoError(t, RegisterTLSConfig("rm-test-custom", &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}))
		defer DeregisterTLSConfig("rm-test-custom")
		c, err := sslCipher(t, mustParse(t, srv.DSN("tls=rm-test-custom")))
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("Config.TLS", func(t *testing.T) {
		cfg := mustParse(t, srv.DSN(""))
		cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		c, err := sslCipher(t, cfg)
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("no tls parameter uses the TLS the server offers", func(t *testing.T) {
		c, err := sslCipher(t, mustParse(t, srv.DSN("")))
		require.NoError(t, err)
		assert.NotEmpty(t, c)
	})
	t.Run("tls=false is plaintext", func(t *testing.T) {
		c, err := sslCipher(t, mustParse(t, srv.DSN("tls=false")))
		require.NoError(t, err)
		assert.Empty(t, c)
	})
	t.Run("unix socket without tls parameter is plaintext", func(t *testing.T) {
		if srv.Socket == "" {
			t.Skip("no unix socket")
		}
		c, err := sslCipher(t, mustParse(t, "root@unix("+srv.Socket+")/test"))
		require.NoError(t, err)
		assert.Empty(t, c)
	})
}

func TestTLSClientCertificateRequireX509(t *testing.T) {
	srv := testserver.Get(t)
	requirePrivate(t, srv)
	createAccount(t, srv, "rm_x509", "IDENTIFIED BY 'x509-pw' REQUIRE X509")
	base := "tls=true&tls-ca=" + srv.CAFile

	_, err := connectOnce(t, userDSN(t, srv, "tcp", "rm_x509", "x509-pw", base))
	var me *MySQLError
	require.ErrorAs(t, err, &me, "without a client certificate the account is refused")
	assert.Equal(t, uint16(1045), me.Number)

	tlsOn, err := connectOnce(t, userDSN(t, srv, "tcp", "rm_x509", "x509-pw", base+"&tls-cert="+srv.ClientCertFile+"&tls-key="+srv.ClientKeyFile))
	require.NoError(t, err)
	assert.True(t, tlsOn)
}

func TestTLSServerWithoutTLS(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a second server")
	}
	srv := testserver.StartPrivate(t, "--skip-ssl")
	for _, params := range []string{"tls=preferred", ""} {
		t.Run("tls="+params+" falls back to plaintext", func(t *testing.T) {
			c, err := sslCipher(t, mustParse(t, srv.DSN(params)))
			require.NoError(t, err)
			assert.Empty(t, c)
		})
	}
	for _, params := range []string{"tls=true", "tls=skip-verify", "tls-ca=" + srv.CAFile} {
		t.Run(params+" is refused", func(t *testing.T) {
			_, err := sslCipher(t, mustParse(t, srv.DSN(params)))
			var te *protocol.TLSUnavailableError
			require.ErrorAs(t, err, &te)
			assert.Contains(t, err.Error(), "plaintext")
		})
	}
}
