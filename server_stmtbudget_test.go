package rawmysql

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12: a pool's statement cache must not take the server's max_prepared_stmt_count away from its
// neighbours. On a private server limited to 40 statements, a pool of 8 connections runs 120 distinct
// queries with stmtCacheTotal=16: the server never holds more than 16 of its statements, and a neighbour that
// prepares every query (as go-sql-driver does) never meets error 1461.
func TestStmtCachePoolBudgetOnServer(t *testing.T) {
	t.Parallel()
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
	assert.LessOrEqual(t, connector.stmtBudget.InUse(), 16)
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
	assert.Equal(t, 0, connector.stmtBudget.InUse(), "closed connections give their slots back")
}

// Issue 12: when the server's max_prepared_stmt_count is reached (1461), the connection that met it gives its
// cached statements back and retries, and the other connections of the pool give theirs back at their next
// query, so the pool does not keep the server full.
func TestStmtCachePoolReleasesUnder1461(t *testing.T) {
	t.Parallel()
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
