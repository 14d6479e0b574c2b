package rawmysql

// Tests for the connection lifecycle defects of issue 10 (cancellation, connection state, discard). Each
// test names the defect it covers. They use only database/sql, the driver's Connector and the shared test
// helpers, so they also run (and fail) against the code before the fix.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Defect 1: a cancel that lands at the end of query A must never break the next, innocent query B on the same
// connection (a KILL QUERY sent for A must not hit B): the cancel after the last row (the pattern of
// go-sql-driver's TestRawBytesAreNotModified), and deadlines that expire around the end of a statement.
func TestLateCancelSparesNextQuery(t *testing.T) {
	db := openDB(t, "")
	db.SetMaxOpenConns(1)
	rng := rand.New(rand.NewSource(1))
	failures := 0
	var firstErr error
	next := func() {
		var v int
		if err := db.QueryRowContext(context.Background(), "SELECT 2").Scan(&v); err != nil || v != 2 {
			failures++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT, v BLOB)")
	mustExec(t, db, "INSERT INTO "+tbl+" SELECT seq, REPEAT('x', 3072) FROM "+seqTable(4)+" s")
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		rows, err := db.QueryContext(ctx, "SELECT id, v FROM "+tbl)
		require.NoError(t, err)
		require.True(t, rows.Next())
		cancel() // rows are still in flight
		time.Sleep(100 * time.Microsecond)
		rows.Close()
		next()

		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.Intn(1500))*time.Microsecond)
		_, _ = db.ExecContext(ctx, "DO SLEEP(0.001)")
		cancel()
		next()
	}
	assert.Zero(t, failures, "queries with a fresh context failed after a cancelled one; first error: %v", firstErr)
}

// Defect 1, deterministically: the watcher of query A, fired after A's rows were read but before they were
// closed, must not act on the next query B. With one P the watcher's goroutine runs only once B blocks on
// the network; a watcher not bound to its command then killed B (SLEEP returns 1 when killed).
func TestStaleWatcherSparesNextQuery(t *testing.T) {
	srv := testserver.Get(t)
	connector, err := (&Driver{}).OpenConnector(srv.DSN(""))
	require.NoError(t, err)
	dc, err := connector.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	q := dc.(driver.QueryerContext)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	dest := make([]driver.Value, 1)
	for i := 0; i < 10; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		r, err := q.QueryContext(ctx, "SELECT 1", nil)
		require.NoError(t, err)
		for r.Next(dest) == nil {
		}
		cancel()
		r.Close()
		ctxB, cancelB := context.WithCancel(context.Background()) // a fresh context, never cancelled
		defer cancelB()
		r, err = q.QueryContext(ctxB, "SELECT SLEEP(0.2)", nil)
		require.NoError(t, err, "iteration %d", i)
		require.NoError(t, r.Next(dest), "iteration %d", i)
		assert.Equal(t, "0", fmt.Sprint(dest[0]), "iteration %d: SLEEP was interrupted", i)
		require.NoError(t, r.Close())
	}
}

// Defect 2: a statement cancelled inside a transaction must not let later statements report success in a
// transaction that is rolled back: the connection is discarded (later statements on it get driver.ErrBadConn,
// as go-sql-driver's), and no connection goes back to the pool inside a transaction.
func TestCancelInsideTransactionLosesNothing(t *testing.T) {
	db := openDB(t, "")
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (round INT, v INT) ENGINE=InnoDB")
	reported := 0
	for round := 0; round < 10; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		conn, err := db.Conn(context.Background())
		require.NoError(t, err)
		tx, err := conn.BeginTx(ctx, nil)
		require.NoError(t, err)
		timer := time.AfterFunc(100*time.Millisecond, cancel)
		_, err = tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s VALUES (%d, SLEEP(1))", tbl, round))
		require.ErrorIs(t, err, context.Canceled)
		// The caller goes on with the same connection while database/sql rolls back in the background.
		_, err = conn.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO %s VALUES (%d, 2)", tbl, round))
		if err == nil {
			reported++
			var n int
			require.NoError(t, db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE round = %d AND v = 2", tbl, round)).Scan(&n))
			assert.Equal(t, 1, n, "round %d: an INSERT reported success but was not committed", round)
		} else {
			assert.Equal(t, driver.ErrBadConn, err, "round %d: the connection of the cancelled transaction is unusable", round)
		}
		conn.Close()
		timer.Stop()
		cancel()
	}
	// No pooled connection is inside a transaction. MariaDB says so in @@in_transaction; MySQL has no such
	// variable, and its InnoDB lists the open transaction (these ones wrote a row) in INNODB_TRX.
	inTxQuery := "SELECT @@in_transaction"
	if !testserver.Get(t).IsMariaDB() {
		inTxQuery = "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()"
	}
	conns := make([]*sql.Conn, 4)
	for i := range conns {
		c, err := db.Conn(context.Background())
		require.NoError(t, err)
		conns[i] = c
		var inTx int
		require.NoError(t, c.QueryRowContext(context.Background(), inTxQuery).Scan(&inTx))
		assert.Zero(t, inTx, "a pooled connection is inside a transaction")
	}
	for _, c := range conns {
		c.Close()
	}
	t.Logf("%d of 10 follow-up INSERTs reported success (each was committed)", reported)
}

// Defect 5: the caller gets the context's error at once, even when the KILL side connection cannot be
// opened; the pool does not hand out the cancelled connection in the meantime.
func TestCancelReturnsBeforeKill(t *testing.T) {
	real := testserver.Get(t)
	cfg, err := ParseDSN(real.DSN("timeout=30s"))
	require.NoError(t, err)
	release := make(chan struct{})
	var released atomic.Bool
	var dials atomic.Int32
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 2 { // the KILL side connection: blocked until the test releases it
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(2)
	var id int64
	require.NoError(t, db.QueryRow("SELECT CONNECTION_ID()").Scan(&id))
	watchdog := time.AfterFunc(4*time.Second, func() { released.Store(true); close(release) })
	defer func() {
		if watchdog.Stop() {
			close(release)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = db.ExecContext(ctx, "DO SLEEP(3)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, released.Load(), "the caller waited for the KILL side connection")
	// Meanwhile the pool serves another connection, never the one still being recovered.
	var other int64
	require.NoError(t, db.QueryRow("SELECT CONNECTION_ID()").Scan(&other))
	assert.NotEqual(t, id, other, "the connection whose cancel is not settled was handed out")
}

// goid returns the current goroutine's id (for checking which goroutine a callback runs on).
func goid() string {
	var buf [64]byte
	s := buf[:runtime.Stack(buf[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	return string(s[:bytes.IndexByte(s, ' ')])
}

// Defect 6: the packet tracer never sees the KILL side connection (its login holds the auth response), and it
// is called only on the goroutine running the command.
func TestPacketTraceSkipsSideConnection(t *testing.T) {
	srv := testserver.Get(t)
	cfg, err := ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	var mu sync.Mutex
	var logins int
	var goroutines = map[string]bool{}
	tracing := atomic.Bool{}
	cfg.PacketTrace = func(dir byte, seq uint8, payload []byte) {
		if !tracing.Load() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		goroutines[goid()] = true
		if dir == '>' && seq == 1 && bytes.Contains(payload, []byte(cfg.User+"\x00")) {
			logins++ // a HandshakeResponse
		}
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	dc, err := connector.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	c := dc.(driver.ExecerContext)
	tracing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	me := goid()
	_, err = c.ExecContext(ctx, "DO SLEEP(3)", nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Let a background KILL and drain run, then use the connection again (on this goroutine).
	_, err = c.ExecContext(context.Background(), "DO 1", nil)
	if err != nil {
		require.ErrorIs(t, err, driver.ErrBadConn)
	}
	tracing.Store(false)
	mu.Lock()
	defer mu.Unlock()
	assert.Zero(t, logins, "the tracer saw a login after the main connection's")
	assert.Equal(t, map[string]bool{me: true}, goroutines, "the tracer ran on another goroutine")
}

// Defect 7: maxAllowedPacket bounds what is read, compressed or not: a larger row fails cleanly and the
// connection is discarded.
func TestMaxAllowedPacketBoundsReads(t *testing.T) {
	for _, params := range []string{"maxAllowedPacket=4194304", "maxAllowedPacket=4194304&compress=true"} {
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			db.SetMaxOpenConns(1)
			var s string
			err := db.QueryRow("SELECT REPEAT('x', 8 << 20)").Scan(&s)
			require.Error(t, err, "a row of 8 MiB with maxAllowedPacket=4MiB")
			assert.Contains(t, err.Error(), "maxAllowedPacket")
			require.NoError(t, db.QueryRow("SELECT REPEAT('x', 1 << 20)").Scan(&s), "the pool continues")
			assert.Len(t, s, 1<<20)
		})
	}
}

// Defect 9c: a cancel during row iteration surfaces the context's error, never the server's 1317 (the answer
// to the KILL QUERY).
func TestCancelDuringIterationIsContextError(t *testing.T) {
	srv := testserver.Get(t)
	connector, err := (&Driver{}).OpenConnector(srv.DSN(""))
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		dc, err := connector.Connect(context.Background())
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		r, err := dc.(driver.QueryerContext).QueryContext(ctx, "SELECT a.seq, REPEAT('x', 200) FROM "+seqTable(100000)+" a, "+seqTable(100)+" b", nil)
		require.NoError(t, err)
		dest := make([]driver.Value, 2)
		n := 0
		for err = r.Next(dest); err == nil; err = r.Next(dest) {
			if n++; n == 1000 {
				cancel()
			}
		}
		require.ErrorIs(t, err, context.Canceled)
		var me *MySQLError
		assert.False(t, errors.As(err, &me), "the server's error surfaced: %v", err)
		r.Close()
		dc.Close()
		cancel()
	}
}
