package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Charset(charset, collation) is applied after connecting.
func TestCharsetOptionApplied(t *testing.T) {
	srv := testserver.Get(t)
	cfg, err := ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	require.NoError(t, cfg.Apply(Charset("latin1", "latin1_bin")))
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	var cs, coll string
	require.NoError(t, db.QueryRow("SELECT @@character_set_client, @@collation_connection").Scan(&cs, &coll))
	assert.Equal(t, "latin1", cs)
	assert.Equal(t, "latin1_bin", coll)
}

// BeforeConnect runs before every new connection, on a copy of the Config: what it sets (here the database and
// the password) is used by that connection only, and its error fails the attempt.
func TestBeforeConnect(t *testing.T) {
	srv := testserver.Get(t)
	user := fmt.Sprintf("rawmysql_bc_%d", time.Now().UnixNano()%1e6)
	createAccount(t, srv, user, "IDENTIFIED BY 'right-token'")

	cfg, err := ParseDSN(fmt.Sprintf("%s:stale-token@tcp(%s)/?killQueryOnCancel=true", user, srv.Addr))
	require.NoError(t, err)
	var calls atomic.Int32
	var logs bytes.Buffer
	var logMu sync.Mutex
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	require.NoError(t, cfg.Apply(BeforeConnect(func(ctx context.Context, c *Config) error {
		calls.Add(1)
		if c.Passwd != "stale-token" {
			return errors.New("the hook must see the Connector's Config, not an earlier hook's result")
		}
		c.Passwd = "right-token" // a fresh IAM token, say
		c.DBName = "information_schema"
		return nil
	})))
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxIdleConns(1)

	var dbName string
	require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&dbName))
	assert.Equal(t, "information_schema", dbName)
	assert.Equal(t, int32(1), calls.Load())
	assert.Equal(t, "stale-token", connector.cfg.Passwd, "the Connector's Config is unchanged")

	// A second connection runs the hook again.
	ctx := context.Background()
	c1, err := db.Conn(ctx)
	require.NoError(t, err)
	c2, err := db.Conn(ctx)
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load())

	// KILL QUERY on cancel logs in with the hook's credentials: the statement is stopped on the server.
	id := connID(t, c2)
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = c2.ExecContext(qctx, "DO SLEEP(20)")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	admin := openDB(t, "")
	waitNotRunning(t, admin, id)
	// The driver logs the KILL once its reply is read, which may come after the server stopped the statement.
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		logMu.Lock()
		out = logs.String()
		logMu.Unlock()
		if strings.Contains(out, "KILL QUERY after context cancel") || time.Now().After(deadline) {
			break
		}
	}
	assert.Contains(t, out, "KILL QUERY after context cancel")
	assert.NotContains(t, out, "KILL QUERY after context cancel failed")
	assert.Equal(t, int32(2), calls.Load(), "the side connection does not run the hook")
	require.NoError(t, c1.Close())
	require.NoError(t, c2.Close())

	// The hook's error is the connection attempt's error.
	boom := errors.New("token service unavailable")
	require.NoError(t, cfg.Apply(BeforeConnect(func(context.Context, *Config) error { return boom })))
	c3, err := NewConnector(cfg)
	require.NoError(t, err)
	_, err = c3.Connect(ctx)
	require.ErrorIs(t, err, boom)
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// An unknown DSN parameter is a session variable whatever its name, as in go-sql-driver/mysql: ParseDSN keeps
// it, and the server judges it when connecting (golang-migrate's x-migrations-table is no variable).
func TestUnknownParamIsSessionVariable(t *testing.T) {
	srv := testserver.Get(t)
	cfg, err := ParseDSN(srv.DSN("x-migrations-table=schema_migrations"))
	require.NoError(t, err)
	assert.Equal(t, "schema_migrations", cfg.Params["x-migrations-table"])
	again, err := ParseDSN(cfg.FormatDSN())
	require.NoError(t, err)
	assert.Equal(t, cfg.Params, again.Params)

	db, err := sql.Open("rawmysql", srv.DSN("x-migrations-table=schema_migrations"))
	require.NoError(t, err)
	defer db.Close()
	err = db.Ping()
	var me *MySQLError
	require.ErrorAs(t, err, &me, "the server refuses SET x-migrations-table=...")
	assert.Equal(t, uint16(1064), me.Number)
}

// TestTimeTruncateKeepsYearOne: the zero date is written only for the zero time.Time itself, as go-sql-driver
// does; a time that timeTruncate brings down to 0001-01-01 00:00:00 is that date, with interpolation as without.
// The parameter is read back as text (MySQL's strict mode makes CAST('0000-00-00' AS DATETIME) NULL).
func TestTimeTruncateKeepsYearOne(t *testing.T) {
	for _, interpolate := range []string{"true", "false"} {
		db := openDB(t, "timeTruncate=1s&interpolateParams="+interpolate)
		var got string
		yearOne := time.Date(1, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
		require.NoError(t, db.QueryRow("SELECT CAST(? AS CHAR)", yearOne).Scan(&got))
		assert.Equal(t, "0001-01-01 00:00:00", got, "interpolateParams=%s", interpolate)
		require.NoError(t, db.QueryRow("SELECT CAST(? AS CHAR)", time.Time{}).Scan(&got))
		assert.True(t, strings.HasPrefix(got, "0000-00-00"), "interpolateParams=%s: the zero time gave %q", interpolate, got)
	}
}
