package rawmysql

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests need Oracle MySQL (8.0+; written against MySQL 9.7) as the test server (RAWMYSQL_TEST_DSN with
// an administrative account): they skip on MariaDB. The unix-socket cases need the server's socket path as
// seen by the test (RAWMYSQL_TEST_MYSQL_SOCKET, else @@socket if that file exists).

// requireMySQL opens the test server as root and skips t unless it is Oracle MySQL.
func requireMySQL(t *testing.T) *sql.DB {
	t.Helper()
	db := openDB(t, "")
	if !serverIsMySQL(t, db) {
		t.Skip("needs Oracle MySQL (caching_sha2_password, sha256_password, MySQL's expired-password handling)")
	}
	return db
}

// mysqlAccount creates user@'%' with a random password and the IDENTIFIED WITH plugin, granted the test
// database, dropped at the end of the test. It returns the password.
func mysqlAccount(t *testing.T, db *sql.DB, user, plugin, extra string) string {
	t.Helper()
	var b [8]byte
	_, _ = rand.Read(b[:])
	pw := "Pw-" + hex.EncodeToString(b[:])
	_, err := db.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
	require.NoError(t, err)
	_, err = db.Exec("CREATE USER '" + user + "'@'%' IDENTIFIED WITH " + plugin + " BY '" + pw + "' " + extra)
	if err != nil {
		t.Skipf("cannot create a %s account: %v", plugin, err)
	}
	t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	_, err = db.Exec("GRANT ALL ON test.* TO '" + user + "'@'%'")
	require.NoError(t, err)
	return pw
}

// mysqlSocket is the server's unix socket as reachable from the test, or "".
func mysqlSocket(t *testing.T, db *sql.DB) string {
	if s := os.Getenv("RAWMYSQL_TEST_MYSQL_SOCKET"); s != "" {
		return s
	}
	var s sql.NullString
	require.NoError(t, db.QueryRow("SELECT @@socket").Scan(&s))
	if s.Valid && s.String != "" {
		if _, err := os.Stat(s.String); err == nil {
			return s.String
		}
	}
	return ""
}

// registerStatusKey registers the RSA public key the server shows in the status variable under a unique name.
func registerStatusKey(t *testing.T, db *sql.DB, variable string) string {
	t.Helper()
	var name, pem string
	require.NoError(t, db.QueryRow("SHOW STATUS LIKE '"+variable+"'").Scan(&name, &pem))
	key, err := protocol.ParsePublicKey([]byte(pem))
	require.NoError(t, err, "server key %q", pem)
	reg := "test-" + t.Name()
	RegisterServerPubKey(reg, key)
	t.Cleanup(func() { DeregisterServerPubKey(reg) })
	return reg
}

// mysqlUserDSN is the DSN of user:pw on the test server's TCP address (or the unix socket) with params.
func mysqlUserDSN(t *testing.T, user, pw, socket, params string) string {
	t.Helper()
	srv := testserver.Get(t)
	if srv.Addr == "" && socket == "" {
		t.Skip("the test server has no TCP address")
	}
	dsn := user + ":" + pw + "@tcp(" + srv.Addr + ")/test"
	if socket != "" {
		dsn = user + ":" + pw + "@unix(" + socket + ")/test"
	}
	if params != "" {
		dsn += "?" + params
	}
	return dsn
}

// TestMySQLCachingSHA2FullAuth logs in to a caching_sha2_password account (MySQL 8+'s default) whose entry
// in the server's authentication cache is cold, so the server asks for the full password, over every channel
// that may carry it: TLS (the default for a DSN without tls, as MySQL's clients' ssl-mode=PREFERRED), the
// unix socket, RSA with a pinned key and RSA with the key fetched from the server. tls=false without a key
// refuses to send the password. A wrong password is the server's 1045.
func TestMySQLCachingSHA2FullAuth(t *testing.T) {
	db := requireMySQL(t)
	const user = "rm_sha2_full"
	pw := mysqlAccount(t, db, user, "caching_sha2_password", "")
	cold := func(t *testing.T) {
		// Changing the password drops the account's cache entry: the next login is a full authentication.
		_, err := db.Exec("ALTER USER '" + user + "'@'%' IDENTIFIED BY '" + pw + "'")
		require.NoError(t, err)
	}
	key := registerStatusKey(t, db, "Caching_sha2_password_rsa_public_key")
	socket := mysqlSocket(t, db)

	cases := []struct {
		name, socket, params string
		wantTLS              bool
	}{
		{"default DSN uses TLS", "", "", true},
		{"tls=skip-verify", "", "tls=skip-verify", true},
		{"tls=preferred", "", "tls=preferred", true},
		{"RSA pinned key", "", "tls=false&serverPubKey=" + key, false},
		{"RSA retrieved key", "", "tls=false&allowPublicKeyRetrieval=true", false},
		{"unix socket", socket, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unix socket" && socket == "" {
				t.Skip("the server's unix socket is not reachable (set RAWMYSQL_TEST_MYSQL_SOCKET)")
			}
			cold(t)
			// Strict plaintext: the cache is cold, so the password is refused to be sent.
			_, err := connectOnce(t, mysqlUserDSN(t, user, pw, "", "tls=false"))
			var ae *protocol.AuthError
			require.ErrorAs(t, err, &ae, "tls=false without a key must refuse a cold full authentication")
			assert.NotContains(t, err.Error(), pw)

			tlsOn, err := connectOnce(t, mysqlUserDSN(t, user, pw, tc.socket, tc.params))
			require.NoError(t, err)
			assert.Equal(t, tc.wantTLS, tlsOn)
		})
	}

	t.Run("fast auth once the cache is warm", func(t *testing.T) {
		cold(t)
		_, err := connectOnce(t, mysqlUserDSN(t, user, pw, "", "")) // full authentication over TLS
		require.NoError(t, err)
		// The server now has the account cached: the scramble alone logs in, even on plain TCP without a key.
		tlsOn, err := connectOnce(t, mysqlUserDSN(t, user, pw, "", "tls=false"))
		require.NoError(t, err)
		assert.False(t, tlsOn)
		_, err = connectOnce(t, mysqlUserDSN(t, user, "Wrong-"+pw, "", "tls=false"))
		var ae *protocol.AuthError
		require.ErrorAs(t, err, &ae, "a wrong scramble makes the server ask for the full password")
	})

	t.Run("wrong password is 1045", func(t *testing.T) {
		for _, params := range []string{"", "tls=skip-verify", "tls=false&allowPublicKeyRetrieval=true"} {
			cold(t)
			_, err := connectOnce(t, mysqlUserDSN(t, user, "Wrong-"+pw, "", params))
			var me *MySQLError
			require.ErrorAs(t, err, &me, "params %q: %v", params, err)
			assert.Equal(t, uint16(1045), me.Number, params)
			assert.NotContains(t, err.Error(), pw)
			assert.NotContains(t, err.Error(), "TLS")
		}
	})

	t.Run("database/sql pool with the default DSN", func(t *testing.T) {
		cold(t)
		udb, err := sql.Open("rawmysql", mysqlUserDSN(t, user, pw, "", ""))
		require.NoError(t, err)
		defer udb.Close()
		var cipher, name string
		require.NoError(t, udb.QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
		assert.NotEmpty(t, cipher, "the session is encrypted")
	})
}

// TestMySQLSHA256Password logs in to a sha256_password account: the password travels in clear only over TLS,
// RSA-encrypted otherwise (pinned key or fetched key), and is never sent without one of them.
func TestMySQLSHA256Password(t *testing.T) {
	db := requireMySQL(t)
	const user = "rm_sha256"
	pw := mysqlAccount(t, db, user, "sha256_password", "")
	key := registerStatusKey(t, db, "Rsa_public_key")
	socket := mysqlSocket(t, db)
	for _, tc := range []struct {
		name, socket, params string
		wantTLS              bool
	}{
		{"default DSN uses TLS", "", "", true},
		{"tls=skip-verify", "", "tls=skip-verify", true},
		{"RSA pinned key", "", "tls=false&serverPubKey=" + key, false},
		{"RSA retrieved key", "", "tls=false&allowPublicKeyRetrieval=true", false},
		{"unix socket with pinned key", socket, "serverPubKey=" + key, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unix socket with pinned key" && socket == "" {
				t.Skip("the server's unix socket is not reachable (set RAWMYSQL_TEST_MYSQL_SOCKET)")
			}
			tlsOn, err := connectOnce(t, mysqlUserDSN(t, user, pw, tc.socket, tc.params))
			require.NoError(t, err)
			assert.Equal(t, tc.wantTLS, tlsOn)
		})
	}
	t.Run("tls=false without a key sends nothing", func(t *testing.T) {
		_, err := connectOnce(t, mysqlUserDSN(t, user, pw, "", "tls=false"))
		var ae *protocol.AuthError
		require.ErrorAs(t, err, &ae)
	})
	t.Run("wrong password is 1045", func(t *testing.T) {
		_, err := connectOnce(t, mysqlUserDSN(t, user, "Wrong-"+pw, "", ""))
		var me *MySQLError
		require.ErrorAs(t, err, &me)
		assert.Equal(t, uint16(1045), me.Number)
	})
}

// TestMySQLExpiredPassword logs in to an account whose password has expired. MySQL either refuses the login
// (disconnect_on_expired_password=ON, its default: 1862) or lets the session in "sandbox mode" where every
// statement fails with 1820; both surface as an ExpiredPasswordError wrapping the server's error.
func TestMySQLExpiredPassword(t *testing.T) {
	db := requireMySQL(t)
	const user = "rm_expired97"
	pw := mysqlAccount(t, db, user, "caching_sha2_password", "PASSWORD EXPIRE")
	var disconnect int
	require.NoError(t, db.QueryRow("SELECT @@GLOBAL.disconnect_on_expired_password").Scan(&disconnect))
	want := uint16(protocol.ErMustChangePassword) // sandbox mode
	if disconnect == 1 {
		want = protocol.ErMustChangePasswordLogin
	}
	_, err := connectOnce(t, mysqlUserDSN(t, user, pw, "", ""))
	var ee *protocol.ExpiredPasswordError
	require.ErrorAs(t, err, &ee)
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, want, me.Number)
	assert.Contains(t, err.Error(), "expired")
	assert.NotContains(t, err.Error(), pw)
}
