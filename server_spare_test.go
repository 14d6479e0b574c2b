package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdKill makes the KILL of the connection behind c wait until the returned release is called (also called
// at cleanup), so that its background recovery provably cannot end before then. c is returned to the pool.
func holdKill(t *testing.T, c *sql.Conn) (id int64, release func()) {
	t.Helper()
	id = connID(t, c)
	gate := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	require.NoError(t, c.Raw(func(dc any) error {
		pc := dc.(*conn).pc
		kill := pc.CancelFunc
		require.NotNil(t, kill, "KILL QUERY on cancel is armed")
		pc.CancelFunc = func(ctx context.Context) error {
			<-gate
			return kill(ctx)
		}
		return nil
	}))
	require.NoError(t, c.Close())
	return id, release
}

// A cancelled statement frees its pool slot at once: database/sql closes the connection when the cancelled
// call returns, and the next statement on the same *sql.DB (pool of 1) runs on another connection while the
// cancelled one is still being recovered (its KILL is held until the next statement has returned, so the
// next statement cannot have waited for it). The recovered connection is then killed, drained, reset and
// reused through the spare list.
func TestCancelFreesPoolSlot(t *testing.T) {
	recovered := trackRecoveries(t)
	db := openDB(t, "")
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	admin := openDB(t, "")
	c, err := db.Conn(context.Background())
	require.NoError(t, err)
	id, release := holdKill(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = db.ExecContext(ctx, "DO SLEEP(30)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st := db.Stats()
	assert.Zero(t, st.OpenConnections, "the cancelled connection still holds its pool slot (in use %d, idle %d)", st.InUse, st.Idle)

	var other int64
	require.NoError(t, db.QueryRow("SELECT CONNECTION_ID()").Scan(&other), "the next statement on the pool")
	assert.NotEqual(t, id, other, "the connection whose cancel is not settled was handed out")
	cmd, info, found := runningCommand(t, admin, id)
	require.True(t, found)
	assert.Equal(t, "Query", cmd, "the cancelled statement still runs (%q): its KILL is held", info.String)

	release()
	recovered()
	cmd, found = waitNotRunning(t, admin, id)
	require.True(t, found, "the recovered connection was kept")
	assert.Equal(t, "Sleep", cmd, "the KILL stopped the statement")
	// Connect takes the spare before dialling: close the pool's idle connection so that it must connect.
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(1)
	assert.Equal(t, id, connID(t, db), "the killed, drained and reset connection is reused")
}

// A recycled connection is as clean as a new one: the session variables, the character set, user variables,
// temporary tables, user locks and the default database the cancelled session changed are reset, and the
// transaction that a cancelled locking read opened (autocommit=0) is rolled back, its row lock released.
// DB.Close closes the spare.
func TestRecycledSpareIsClean(t *testing.T) {
	srv := testserver.Get(t)
	recovered := trackRecoveries(t)
	db := openDB(t, "")
	db.SetMaxOpenConns(1)
	admin := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, admin, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, admin, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+tbl+" VALUES (1, 1)")
	mustExec(t, admin, "CREATE DATABASE IF NOT EXISTS rawmysql_other")
	var dsnDB, globalMode string
	require.NoError(t, admin.QueryRow("SELECT DATABASE(), @@GLOBAL.sql_mode").Scan(&dsnDB, &globalMode))
	lock := "rawmysql_" + tbl

	ctx := context.Background()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	id := connID(t, c)
	for _, q := range []string{
		"SET @leftover = 42",
		"SET SESSION sql_mode = 'ANSI_QUOTES'",
		"SET NAMES latin1",
		"CREATE TEMPORARY TABLE rawmysql_tmp (x INT)",
		"DO GET_LOCK('" + lock + "', 0)",
		"SET autocommit = 0",
		"USE rawmysql_other",
	} {
		_, err := c.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	// A locking read that sleeps: its transaction (autocommit=0) holds the row lock when it is killed.
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = c.ExecContext(cctx, "SELECT v, SLEEP(30) FROM "+dsnDB+"."+tbl+" WHERE id = 1 FOR UPDATE")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, c.Close())
	recovered()

	c, err = db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, id, connID(t, c), "the recycled connection is not the one the pool got (nothing to check)")
	var (
		leftover            sql.NullInt64
		mode, cs, coll, cur string
		autocommit          int
	)
	require.NoError(t, c.QueryRowContext(ctx, "SELECT @leftover, @@SESSION.sql_mode, @@character_set_client, @@collation_connection, DATABASE(), @@autocommit").
		Scan(&leftover, &mode, &cs, &coll, &cur, &autocommit))
	assert.False(t, leftover.Valid, "user variable kept")
	assert.Equal(t, globalMode, mode, "session sql_mode kept")
	assert.Equal(t, "utf8mb4", cs, "character set not restored")
	assert.Equal(t, defaultCollation, coll, "collation not restored")
	assert.Equal(t, dsnDB, cur, "default database not the DSN's")
	assert.Equal(t, 1, autocommit, "autocommit not restored")
	_, err = c.ExecContext(ctx, "SELECT * FROM "+dsnDB+".rawmysql_tmp")
	assert.Error(t, err, "temporary table kept")
	var free int
	require.NoError(t, admin.QueryRow("SELECT IS_FREE_LOCK('"+lock+"')").Scan(&free))
	assert.Equal(t, 1, free, "user lock kept")
	inTxQuery := "SELECT @@in_transaction"
	if !srv.IsMariaDB() {
		inTxQuery = "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()"
	}
	var inTx int
	require.NoError(t, c.QueryRowContext(ctx, inTxQuery).Scan(&inTx))
	assert.Zero(t, inTx, "transaction still open")
	// The row lock of the killed locking read is released: another session locks the row without waiting.
	tx, err := admin.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("SET SESSION innodb_lock_wait_timeout = 1")
	require.NoError(t, err)
	var v int
	assert.NoError(t, tx.QueryRow("SELECT v FROM "+tbl+" WHERE id = 1 FOR UPDATE").Scan(&v), "row lock kept")
	require.NoError(t, tx.Rollback())
	require.NoError(t, c.Close())

	// Nothing leaks: DB.Close closes the spare (and the pooled connection).
	require.NoError(t, db.Close())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, found := runningCommand(t, admin, id); !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection %d still open after DB.Close", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mustExec(t, admin, "DROP DATABASE rawmysql_other")
	_, _ = admin.Exec("KILL " + strconv.FormatInt(id, 10)) // in case of failure above
}

// resetFailer fails the write of COM_RESET_CONNECTION (a whole packet: length 1, sequence 0, 0x1f) once armed.
type resetFailer struct {
	net.Conn
	armed *atomic.Bool
	hits  *atomic.Int32
}

func (c *resetFailer) Write(p []byte) (int, error) {
	if c.armed.Load() && bytes.Equal(p, []byte{1, 0, 0, 0, byte(protocol.ComResetConnection)}) {
		c.hits.Add(1)
		c.Conn.Close()
		return 0, errors.New("test: COM_RESET_CONNECTION refused")
	}
	return c.Conn.Write(p)
}

// A recovered connection that is not proven clean is closed, never handed out: here its COM_RESET_CONNECTION
// fails after a clean kill and drain.
func TestRecycleClosesUnprovenConnection(t *testing.T) {
	srv := testserver.Get(t)
	recovered := trackRecoveries(t)
	cfg, err := ParseDSN(srv.DSN("tls=false"))
	require.NoError(t, err)
	var armed atomic.Bool
	var hits atomic.Int32
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &resetFailer{Conn: nc, armed: &armed, hits: &hits}, nil
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	id := connID(t, db)
	armed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = db.ExecContext(ctx, "DO SLEEP(30)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	recovered()
	require.Equal(t, int32(1), hits.Load(), "the recycler sent COM_RESET_CONNECTION")
	armed.Store(false)
	assert.NotEqual(t, id, connID(t, db), "a connection whose reset failed was handed out")
}
