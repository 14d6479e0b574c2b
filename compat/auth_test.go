package compat

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run rawmysql against the server side of github.com/dolthub/vitess go/mysql, code we did not
// write, for the MySQL 8 exchanges MariaDB cannot show: caching_sha2_password fast and full authentication, the
// auth switch, and mysql_clear_password.

// connect opens one connection with cfg, runs a query and returns the user name the server saw.
func connect(t *testing.T, cfg *rawmysql.Config) (string, error) {
	t.Helper()
	cfg.Timeout = 10 * time.Second
	cfg.MaxAllowedPacket = 16 << 20 // the test handler knows no @@max_allowed_packet
	connector, err := rawmysql.NewConnector(cfg)
	if err != nil {
		return "", err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var user, query string
	err = db.QueryRowContext(ctx, "SELECT 'hello'").Scan(&user, &query)
	if err == nil {
		assert.Equal(t, "SELECT 'hello'", query)
	}
	return user, err
}

// vitessConfig is a Config for user on a vitess server; pool, when set, enables verified TLS.
func vitessConfig(network, addr, user, password string, pool *x509.CertPool) *rawmysql.Config {
	cfg := rawmysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = network, addr, user, password
	if pool != nil {
		cfg.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	return cfg
}

var testUsers = map[string]string{"app": "app-Secret-1", "empty": ""}

func TestVitessCachingSHA2OverTLS(t *testing.T) {
	auth := newAuthServer(testUsers, mysql.CachingSha2Password, mysql.CachingSha2Password)
	srvTLS, pool := selfSignedTLS(t)
	addr := startVitess(t, "tcp", auth, srvTLS)

	// First login: not in the server's cache, so full authentication sends the password over TLS.
	user, err := connect(t, vitessConfig("tcp", addr, "app", "app-Secret-1", pool))
	require.NoError(t, err)
	assert.Equal(t, "app", user)
	assert.Equal(t, int64(1), auth.fullAuths.Load(), "full authentication")
	assert.Equal(t, int64(0), auth.fastAuths.Load())

	// Second login: the cache knows the user, the scramble alone suffices (fast auth, 0x03).
	_, err = connect(t, vitessConfig("tcp", addr, "app", "app-Secret-1", pool))
	require.NoError(t, err)
	assert.Equal(t, int64(1), auth.fastAuths.Load(), "fast authentication")
	assert.Equal(t, int64(1), auth.fullAuths.Load())

	// Wrong password on the fast path, and for an unknown user: the server's access-denied error.
	for _, c := range []struct{ user, pw string }{{"app", "wrong-pw-1"}, {"nobody", "wrong-pw-2"}} {
		_, err = connect(t, vitessConfig("tcp", addr, c.user, c.pw, pool))
		var me *rawmysql.MySQLError
		require.ErrorAs(t, err, &me, "user %s", c.user)
		assert.Equal(t, uint16(mysql.ERAccessDeniedError), me.Number)
		assert.NotContains(t, err.Error(), c.pw)
	}
}

func TestVitessCachingSHA2FullAuthWrongPassword(t *testing.T) {
	auth := newAuthServer(testUsers, mysql.CachingSha2Password, mysql.CachingSha2Password)
	srvTLS, pool := selfSignedTLS(t)
	addr := startVitess(t, "tcp", auth, srvTLS)
	_, err := connect(t, vitessConfig("tcp", addr, "app", "not-it-7", pool))
	var me *rawmysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(mysql.ERAccessDeniedError), me.Number)
	assert.NotContains(t, err.Error(), "not-it-7")
}

func TestVitessCachingSHA2UnixSocket(t *testing.T) {
	auth := newAuthServer(testUsers, mysql.CachingSha2Password, mysql.CachingSha2Password)
	addr := startVitess(t, "unix", auth, nil)
	for i := 0; i < 2; i++ { // full auth (password over the socket), then fast auth
		user, err := connect(t, vitessConfig("unix", addr, "app", "app-Secret-1", nil))
		require.NoError(t, err)
		assert.Equal(t, "app", user)
	}
	assert.Equal(t, int64(1), auth.fullAuths.Load())
	assert.Equal(t, int64(1), auth.fastAuths.Load())
}

func TestVitessAuthSwitch(t *testing.T) {
	t.Run("native handshake, caching_sha2 account", func(t *testing.T) {
		// The handshake names mysql_native_password; the only method is caching_sha2_password, so the server
		// switches. Two logins: full, then fast authentication after the switch.
		auth := newAuthServer(testUsers, mysql.MysqlNativePassword, mysql.CachingSha2Password)
		srvTLS, pool := selfSignedTLS(t)
		addr := startVitess(t, "tcp", auth, srvTLS)
		for i := 0; i < 2; i++ {
			user, err := connect(t, vitessConfig("tcp", addr, "app", "app-Secret-1", pool))
			require.NoError(t, err)
			assert.Equal(t, "app", user)
		}
		assert.Equal(t, int64(1), auth.fullAuths.Load())
		assert.Equal(t, int64(1), auth.fastAuths.Load())
	})
	t.Run("caching_sha2 handshake, native account, plain TCP", func(t *testing.T) {
		auth := newAuthServer(testUsers, mysql.CachingSha2Password, mysql.MysqlNativePassword)
		addr := startVitess(t, "tcp", auth, nil)
		user, err := connect(t, vitessConfig("tcp", addr, "app", "app-Secret-1", nil))
		require.NoError(t, err)
		assert.Equal(t, "app", user)
	})
	t.Run("caching_sha2 handshake, native account, allowNativePasswords=false", func(t *testing.T) {
		auth := newAuthServer(testUsers, mysql.CachingSha2Password, mysql.MysqlNativePassword)
		addr := startVitess(t, "tcp", auth, nil)
		cfg := vitessConfig("tcp", addr, "app", "app-Secret-1", nil)
		cfg.AllowNativePasswords = false
		_, err := connect(t, cfg)
		var ue *protocol.UnsupportedPluginError
		require.ErrorAs(t, err, &ue)
		assert.Equal(t, "mysql_native_password", ue.Plugin)
	})
}

func TestVitessClearPassword(t *testing.T) {
	auth := newAuthServer(testUsers, mysql.MysqlNativePassword, mysql.MysqlClearPassword)
	srvTLS, pool := selfSignedTLS(t)
	addr := startVitess(t, "tcp", auth, srvTLS)

	_, err := connect(t, vitessConfig("tcp", addr, "app", "app-Secret-1", pool))
	var ue *protocol.UnsupportedPluginError
	require.ErrorAs(t, err, &ue, "refused without allowCleartextPasswords")
	assert.Equal(t, "mysql_clear_password", ue.Plugin)
	assert.Equal(t, int64(0), auth.clearAuths.Load())

	cfg := vitessConfig("tcp", addr, "app", "app-Secret-1", pool)
	cfg.AllowCleartextPasswords = true
	user, err := connect(t, cfg)
	require.NoError(t, err)
	assert.Equal(t, "app", user)
	assert.Equal(t, int64(1), auth.clearAuths.Load())
}
