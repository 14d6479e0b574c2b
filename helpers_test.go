package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/dsnparse"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helpers for tests against a real server (internal/testserver: one shared server per package; server_*_test.go).
//
// Parallel tests: a test calls t.Parallel() only when it shares nothing with the others — no package-level
// state (the Register* registries under its own names only, extraTestParams, onCancelStart,
// SetServerErrorType) and no server-wide state of the shared server (SET GLOBAL, global status counters,
// killing others' connections): the tests on a private server of their own (StartPrivate) and the long tests
// on tables of their own. Go starts the parallel tests once every sequential test has finished, so a
// sequential test may still change package-level state and restore it.

// extraTestParams are DSN parameters every openDB adds after its own: those of the environment variable
// RAWMYSQL_TEST_PARAMS (e.g. "compress=true" to run the whole suite compressed), then those a test suite sets
// (TestCompressedSuite).
var extraTestParams = os.Getenv("RAWMYSQL_TEST_PARAMS")

// joinParams joins DSN parameter lists, skipping empty ones.
func joinParams(lists ...string) string {
	var out []string
	for _, l := range lists {
		if l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "&")
}

// openDB opens a *sql.DB on the test server with extra DSN parameters (plus extraTestParams).
func openDB(t testing.TB, params string) *sql.DB {
	t.Helper()
	srv := testserver.Get(t)
	db, err := sql.Open("rawmysql", srv.DSN(joinParams(params, extraTestParams)))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Ping())
	return db
}

// tableName gives each test (and subtest) its own table: letters, digits and _ only, at most 64 bytes.
func tableName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 50 {
		h := fnv.New32a()
		h.Write([]byte(name))
		name = fmt.Sprintf("%s_%08x", name[:40], h.Sum32())
	}
	return "t_" + name
}

// seqTable returns a derived table (to be given an alias) of the integers 1..n in a column seq, for any server.
func seqTable(n int) string { return testserver.SeqTable(n) }

// mustExec runs q on db (a *sql.DB, *sql.Conn or *sql.Tx) and fails the test on an error.
func mustExec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string) sql.Result {
	t.Helper()
	res, err := db.ExecContext(context.Background(), q)
	require.NoError(t, err, q)
	return res
}

// sessionConn returns one connection of db, closed when the test ends, after running setup on it (SET ...).
func sessionConn(t testing.TB, db *sql.DB, setup ...string) *sql.Conn {
	t.Helper()
	c, err := db.Conn(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	for _, q := range setup {
		mustExec(t, c, q)
	}
	return c
}

// serverIsMySQL reports whether db's server is Oracle MySQL (not MariaDB), from SELECT VERSION() and
// @@version_comment.
func serverIsMySQL(t testing.TB, db *sql.DB) bool {
	t.Helper()
	var version, comment string
	require.NoError(t, db.QueryRow("SELECT VERSION(), @@version_comment").Scan(&version, &comment))
	return !strings.Contains(strings.ToLower(version+" "+comment), "mariadb")
}

// connID returns CONNECTION_ID() of the connection q runs on.
func connID(t testing.TB, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int64 {
	t.Helper()
	var id int64
	require.NoError(t, q.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id))
	return id
}

// runningCommand returns the COMMAND and INFO of connection id in the server's process list, seen through
// admin (another pool); found is false when the connection is gone.
func runningCommand(t testing.TB, admin *sql.DB, id int64) (command string, info sql.NullString, found bool) {
	t.Helper()
	err := admin.QueryRow("SELECT COMMAND, INFO FROM information_schema.PROCESSLIST WHERE ID = ?", id).Scan(&command, &info)
	if errors.Is(err, sql.ErrNoRows) {
		return "", info, false
	}
	require.NoError(t, err)
	return command, info, true
}

// waitNotRunning waits until connection id is idle (COMMAND "Sleep"), or has gone.
// The server sends the error of a killed statement slightly before its thread returns to "Sleep", and a
// connection recycled after a cancel shows the recycler's last command (COM_RESET_CONNECTION, COM_INIT_DB)
// until its thread is back to "Sleep", so the check allows a short bounded wait: far shorter than the
// statements the tests kill (30 s sleeps, lock waits).
func waitNotRunning(t *testing.T, admin *sql.DB, id int64) (command string, found bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		cmd, info, found := runningCommand(t, admin, id)
		if !found || cmd == "Sleep" {
			return cmd, found
		}
		if time.Now().After(deadline) {
			t.Errorf("connection %d still runs %s %q", id, cmd, info.String)
			return cmd, found
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone waits (bounded) until connection id has left the server's process list.
func waitGone(t *testing.T, admin *sql.DB, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, found := runningCommand(t, admin, id); !found {
			return
		}
		require.True(t, time.Now().Before(deadline), "connection %d still listed", id)
		time.Sleep(20 * time.Millisecond)
	}
}

// createAccount creates user on every host of accountHosts with the given IDENTIFIED/REQUIRE clause, grants it
// the test database, and drops it at the end of the test.
func createAccount(t *testing.T, srv *testserver.Server, user, clause string) {
	t.Helper()
	var b strings.Builder
	hosts := accountHosts(srv)
	for _, h := range hosts {
		fmt.Fprintf(&b, "DROP USER IF EXISTS '%s'@'%s';\n", user, h)
		fmt.Fprintf(&b, "CREATE USER '%s'@'%s' %s;\n", user, h, clause)
		fmt.Fprintf(&b, "GRANT ALL ON test.* TO '%s'@'%s';\n", user, h)
	}
	_, err := srv.Exec(b.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		var d strings.Builder
		for _, h := range hosts {
			fmt.Fprintf(&d, "DROP USER IF EXISTS '%s'@'%s';\n", user, h)
		}
		_, _ = srv.Exec(d.String())
	})
}

// userDSN is a DSN for user:password on srv over network ("tcp" or "unix") with params.
func userDSN(t *testing.T, srv *testserver.Server, network, user, password, params string) string {
	t.Helper()
	addr := srv.Addr
	if network == "unix" {
		if srv.Socket == "" {
			t.Skip("the test server has no unix socket")
		}
		addr = srv.Socket
	}
	dsn := fmt.Sprintf("%s:%s@%s(%s)/test", user, password, network, addr)
	if params != "" {
		dsn += "?" + params
	}
	return dsn
}

// connectOnce opens one connection with dsn and returns the error of a ping, and whether the connection
// used TLS.
func connectOnce(t *testing.T, dsn string) (tlsOn bool, err error) {
	t.Helper()
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return false, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	connector, err := NewConnector(cfg)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := connector.Connect(ctx)
	if err != nil {
		return false, err
	}
	defer dc.Close()
	c := dc.(*conn)
	if _, err := c.exec(ctx, "DO 1"); err != nil {
		return false, mapErr(err)
	}
	return c.pc.TLS(), nil
}

// transports are the ways a test account connects: plain TCP (tls=false), TLS (verified with the test CA),
// the default (no tls parameter: TLS because the server offers it) and the unix socket.
func transports(srv *testserver.Server) []struct{ name, network, params string } {
	return []struct{ name, network, params string }{
		{"tcp", "tcp", "tls=false"},
		{"tls", "tcp", "tls=true&tls-ca=" + srv.CAFile},
		{"default", "tcp", ""},
		{"unix", "unix", ""},
	}
}

// transportTLS reports whether the transport named name runs over TLS (see transports).
func transportTLS(name string) bool { return name == "tls" || name == "default" }

// requirePrivate skips t unless the server is this test binary's own (private or container: accounts may be
// created) and has TLS certificates.
func requirePrivate(t *testing.T, srv *testserver.Server) {
	t.Helper()
	if srv.Kind != testserver.KindPrivate && srv.Kind != testserver.KindDocker || srv.CAFile == "" {
		t.Skipf("needs a private or container test server with TLS certificates (have a %s server)", srv.Kind)
	}
}

// accountHosts are the hosts an account is created for, so that it logs in over TCP (IPv4 and IPv6) and over
// the unix socket of a server running with --skip-name-resolve. A container sees TCP clients coming from its
// network's gateway, so there the account is created for '%'.
func accountHosts(srv *testserver.Server) []string {
	if srv.Kind != testserver.KindPrivate {
		// A container (ours, or one `testenv run` names by RAWMYSQL_TEST_DSN) sees the client at its bridge
		// address, and a server given by DSN anywhere: any host.
		return []string{"%", "localhost"}
	}
	return []string{"127.0.0.1", "::1", "localhost"}
}

// rawConn runs fn with the driver connection of one pooled connection of db.
func rawConn(t *testing.T, db *sql.DB, fn func(c *conn)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	defer sc.Close()
	require.NoError(t, sc.Raw(func(dc any) error {
		fn(dc.(*conn))
		return nil
	}))
}

func mustConnector(t *testing.T, cfg *Config) *Connector {
	t.Helper()
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	return c
}

func mustParse(t *testing.T, dsn string) *Config {
	t.Helper()
	cfg, err := ParseDSN(dsn)
	require.NoError(t, err)
	return cfg
}

// Helpers for the Config and DSN tests.

// assertConfigEqual compares two Configs field by field. Loc is compared by name, TLS by the fields this package
// sets, the server key by value, Logger by identity, DialFunc and PacketTrace by presence.
func assertConfigEqual(t testing.TB, want, got *Config) {
	t.Helper()
	require.NotNil(t, want)
	require.NotNil(t, got)
	w, g := *want, *got

	assert.Equal(t, w.Loc == nil, g.Loc == nil, "Loc presence")
	if w.Loc != nil && g.Loc != nil {
		assert.Equal(t, w.Loc.String(), g.Loc.String(), "Loc")
	}
	w.Loc, g.Loc = nil, nil

	if assert.Equal(t, w.TLS == nil, g.TLS == nil, "TLS presence") && w.TLS != nil {
		assert.Equal(t, w.TLS.ServerName, g.TLS.ServerName, "TLS.ServerName")
		assert.Equal(t, w.TLS.InsecureSkipVerify, g.TLS.InsecureSkipVerify, "TLS.InsecureSkipVerify")
		assert.Equal(t, w.TLS.MinVersion, g.TLS.MinVersion, "TLS.MinVersion")
		if assert.Equal(t, w.TLS.RootCAs == nil, g.TLS.RootCAs == nil, "TLS.RootCAs presence") && w.TLS.RootCAs != nil {
			assert.True(t, w.TLS.RootCAs.Equal(g.TLS.RootCAs), "TLS.RootCAs")
		}
		if assert.Len(t, g.TLS.Certificates, len(w.TLS.Certificates), "TLS.Certificates") {
			for i := range w.TLS.Certificates {
				assert.Equal(t, w.TLS.Certificates[i].Certificate, g.TLS.Certificates[i].Certificate)
			}
		}
	}
	w.TLS, g.TLS = nil, nil

	if assert.Equal(t, w.pubKey == nil, g.pubKey == nil, "pubKey presence") && w.pubKey != nil {
		assert.True(t, w.pubKey.Equal(g.pubKey), "pubKey")
	}
	w.pubKey, g.pubKey = nil, nil

	assert.Equal(t, w.DialFunc == nil, g.DialFunc == nil, "DialFunc presence")
	w.DialFunc, g.DialFunc = nil, nil
	assert.Same(t, w.Logger, g.Logger, "Logger")
	w.Logger, g.Logger = nil, nil
	assert.Equal(t, w.PacketTrace == nil, g.PacketTrace == nil, "PacketTrace presence")
	w.PacketTrace, g.PacketTrace = nil, nil
	assert.Equal(t, w.Tracer, g.Tracer, "Tracer")
	w.Tracer, g.Tracer = nil, nil

	assert.Equal(t, w, g)
}

// expConfig is NewConfig after normalize of an empty DSN (tcp to 127.0.0.1:3306), changed by mod.
func expConfig(mod func(c *Config)) *Config {
	c := NewConfig()
	c.Net = "tcp"
	c.Addr = dsnparse.DefaultTCPAddr
	if mod != nil {
		mod(c)
	}
	return c
}

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}
