package rawmysql

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pool-wide budget: two connections' caches share three slots; a connection makes room by evicting its own
// statements, one with nothing cached prepares outside the cache, and slots come back when statements leave.
func TestStmtCacheBudgetShared(t *testing.T) {
	b := newStmtBudget(3)
	var closed []uint32
	closeStmt := func(id uint32) { closed = append(closed, id) }
	a, c := newStmtCache(10, b, closeStmt), newStmtCache(10, b, closeStmt)
	st := func(q string, id uint32) *cachedStmt { return &cachedStmt{query: q, st: &protocol.Stmt{ID: id}} }

	require.True(t, a.put(st("a1", 1)))
	require.True(t, a.put(st("a2", 2)))
	require.True(t, a.put(st("a3", 3)))
	assert.Equal(t, 3, b.inUse())
	assert.False(t, c.put(st("c1", 11)), "budget spent and nothing of c's own to evict: outside the cache")
	assert.Equal(t, 0, c.len())
	assert.Empty(t, closed)

	require.True(t, a.put(st("a4", 4)), "a evicts its own least recently used statement")
	assert.Equal(t, []uint32{1}, closed)
	assert.Equal(t, 3, b.inUse())
	assert.Equal(t, 3, a.len())

	a.remove(a.m["a2"])
	assert.Equal(t, 2, b.inUse())
	require.True(t, c.put(st("c1", 11)), "a freed slot is usable by another connection")
	assert.Equal(t, 3, b.inUse())

	a.clear(true)
	assert.Equal(t, 1, b.inUse())
	assert.Equal(t, 1, c.dropAllBut(nil))
	assert.Equal(t, 0, b.inUse())

	// The pool's 1461 signal: c gives its statements back at its next lookup, a (which signalled) keeps going.
	require.True(t, a.put(st("a5", 5)))
	require.True(t, c.put(st("c2", 12)))
	closed = nil
	a.serverFull()
	assert.NotNil(t, a.get("a5"))
	assert.Nil(t, c.get("c2"), "c cleared its cache")
	assert.Equal(t, []uint32{12}, closed)
	assert.Equal(t, 0, c.len())
	assert.Equal(t, 1, b.inUse())
	assert.NotNil(t, a.get("a5"))

	unbounded := newStmtCache(2, nil, closeStmt)
	for i := range 5 {
		require.True(t, unbounded.put(st(fmt.Sprint("u", i), uint32(100+i))))
	}
	assert.Equal(t, 2, unbounded.len(), "the per-connection limit still applies")
}

// Issue 12: a pool's statement cache must not take the server's max_prepared_stmt_count away from its
// neighbours. On a private server limited to 40 statements, a pool of 8 connections runs 120 distinct
// queries with stmtCacheTotal=16: the server never holds more than 16 of its statements, and a neighbour that
// prepares every query (as go-sql-driver does) never meets error 1461.
func TestStmtCachePoolBudgetOnServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second server")
	}
	srv := testserver.StartPrivate(t, "--max-prepared-stmt-count=40")
	cfg, err := ParseDSN(srv.DSN("stmtCacheTotal=16"))
	require.NoError(t, err)
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8*120)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 120 {
				q := fmt.Sprintf("SELECT ? + %d", (i+g*15)%120)
				var v int
				if err := db.QueryRowContext(ctx, q, 1).Scan(&v); err != nil {
					errs <- fmt.Errorf("%s: %w", q, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.LessOrEqual(t, connector.stmtBudget.inUse(), 16)
	serverCount := func() int {
		var name string
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &n))
		return n
	}
	held := serverCount()
	assert.LessOrEqual(t, held, 16, "statements the pool holds on the server")
	assert.Positive(t, held, "the cache is still used")

	neighbour, err := sql.Open("rawmysql", srv.DSN("stmtCacheSize=0"))
	require.NoError(t, err)
	defer neighbour.Close()
	neighbour.SetMaxOpenConns(4)
	var nwg sync.WaitGroup
	nerrs := make(chan error, 100)
	for g := range 4 {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			for i := range 25 {
				var v int
				if err := neighbour.QueryRowContext(ctx, fmt.Sprintf("SELECT ? * %d", g*25+i), 2).Scan(&v); err != nil {
					nerrs <- err
				}
			}
		}()
	}
	nwg.Wait()
	close(nerrs)
	for err := range nerrs {
		t.Errorf("neighbour: %v", err)
	}

	require.NoError(t, db.Close())
	assert.Equal(t, 0, connector.stmtBudget.inUse(), "closed connections give their slots back")
}

func TestStmtCacheDefaults(t *testing.T) {
	c := NewConfig()
	assert.Equal(t, 64, c.StmtCacheSize)
	assert.Equal(t, 1000, c.StmtCacheTotal)
	cfg, err := ParseDSN("/?stmtCacheTotal=0&stmtCacheSize=8")
	require.NoError(t, err)
	assert.Equal(t, 0, cfg.StmtCacheTotal)
	assert.Zero(t, newConnector(cfg).stmtBudget.max, "no pool-wide bound")
	assert.Equal(t, "tcp(127.0.0.1:3306)/?stmtCacheSize=8&stmtCacheTotal=0", cfg.FormatDSN())
	_, err = ParseDSN("/?stmtCacheTotal=-1")
	assert.ErrorContains(t, err, "stmtCacheTotal")
}

// Issue 12: when the server's max_prepared_stmt_count is reached (1461), the connection that met it gives its
// cached statements back and retries, and the other connections of the pool give theirs back at their next
// query, so the pool does not keep the server full.
func TestStmtCachePoolReleasesUnder1461(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second server")
	}
	srv := testserver.StartPrivate(t, "--max-prepared-stmt-count=20")
	cfg, err := ParseDSN(srv.DSN("stmtCacheTotal=0"))
	require.NoError(t, err)
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	ctx := context.Background()
	serverCount := func() int {
		var name string
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &n))
		return n
	}
	conns := make([]*sql.Conn, 4)
	for i := range conns {
		conns[i], err = db.Conn(ctx)
		require.NoError(t, err)
		defer conns[i].Close()
		for j := range 4 {
			var v int
			require.NoError(t, conns[i].QueryRowContext(ctx, fmt.Sprintf("SELECT ? + %d", j), 1).Scan(&v))
		}
	}
	require.Equal(t, 16, serverCount())

	// A neighbour takes the rest of the server's statements and keeps them.
	neighbour, err := sql.Open("rawmysql", srv.DSN("stmtCacheSize=0"))
	require.NoError(t, err)
	defer neighbour.Close()
	for i := range 4 {
		st, err := neighbour.Prepare(fmt.Sprintf("SELECT ? - %d", i))
		require.NoError(t, err)
		defer st.Close()
	}
	require.Equal(t, 20, serverCount())

	var v int
	require.NoError(t, conns[0].QueryRowContext(ctx, "SELECT ? + 100", 1).Scan(&v), "1461, statements given back, retried")
	assert.Equal(t, 101, v)
	for _, c := range conns[1:] {
		require.NoError(t, c.QueryRowContext(ctx, "SELECT ? + 0", 1).Scan(&v)) // was cached: given back first
		assert.Equal(t, 1, v)
	}
	held := serverCount()
	assert.LessOrEqual(t, held, 4+1+3+1, "neighbour 4, at most one statement per pool connection (plus one closing)")
}
