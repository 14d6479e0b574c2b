package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCancelKillsQuery: a query whose context ends mid-flight is killed on the server (KILL QUERY through a side
// connection); when the call returns, the query is no longer running, and the same connection is reused by the
// pool (checked by CONNECTION_ID()).
func TestCancelKillsQuery(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		exec  bool
	}{
		{"query text", "SELECT SLEEP(30)", nil, false},
		{"exec text", "DO SLEEP(30)", nil, true},
		{"query prepared", "SELECT SLEEP(?)", []any{30}, false},
		{"exec prepared", "DO SLEEP(?)", []any{30}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recovered := trackRecoveries(t)
			db := openDB(t, "")
			db.SetMaxOpenConns(1)
			admin := openDB(t, "")
			id := connID(t, db)

			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var err error
			if tc.exec {
				_, err = db.ExecContext(ctx, tc.query, tc.args...)
			} else {
				var rows *sql.Rows
				rows, err = db.QueryContext(ctx, tc.query, tc.args...)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
			}
			require.ErrorIs(t, err, context.DeadlineExceeded)

			recovered() // KILL and drain run in the background
			cmd, found := waitNotRunning(t, admin, id)
			require.True(t, found, "the connection was kept open")
			assert.Equal(t, "Sleep", cmd, "the killed query is gone from the process list")
			assert.Equal(t, id, connID(t, db), "the same connection is reused after a clean kill")
		})
	}
}

// TestCancelKillsBlockedUpdate: an UPDATE waiting for a row lock held by another transaction is killed when its
// context ends; the row is unchanged after the lock is released.
func TestCancelKillsBlockedUpdate(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, 'original')")

	holder, err := db.Begin()
	require.NoError(t, err)
	var v string
	require.NoError(t, holder.QueryRow("SELECT v FROM "+tbl+" WHERE id = 1 FOR UPDATE").Scan(&v))

	recovered := trackRecoveries(t)
	writer := openDB(t, "")
	writer.SetMaxOpenConns(1)
	id := connID(t, writer)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = writer.ExecContext(ctx, "UPDATE "+tbl+" SET v = 'changed' WHERE id = 1")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	recovered()
	cmd, found := waitNotRunning(t, db, id)
	require.True(t, found)
	assert.Equal(t, "Sleep", cmd, "the UPDATE is no longer waiting")
	require.NoError(t, holder.Commit())

	require.NoError(t, db.QueryRow("SELECT v FROM "+tbl+" WHERE id = 1").Scan(&v))
	assert.Equal(t, "original", v, "the killed UPDATE changed nothing")
	assert.Equal(t, id, connID(t, writer), "the writer's connection is reused")
}

// TestCancelDuringRows: cancelling while a large result is being read stops the query on the server and
// leaves the pool usable.
func TestCancelDuringRows(t *testing.T) {
	recovered := trackRecoveries(t)
	db := openDB(t, "")
	db.SetMaxOpenConns(1)
	admin := openDB(t, "")
	id := connID(t, db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := db.QueryContext(ctx, "SELECT a.seq, REPEAT('x', 200) FROM "+seqTable(100000)+" a, "+seqTable(100)+" b")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
		if n == 1000 {
			cancel()
		}
	}
	require.ErrorIs(t, rows.Err(), context.Canceled)
	require.NoError(t, rows.Close())
	assert.Less(t, n, 100000*100, "the result was not read to its end")

	recovered()
	waitNotRunning(t, admin, id)
	var got int
	require.NoError(t, db.QueryRow("SELECT 7").Scan(&got))
	assert.Equal(t, 7, got)
	assert.Equal(t, id, connID(t, db), "the drained connection is clean and reused")
}

// TestCancelCloseOnly: with killQueryOnCancel=false the connection is closed on cancel (close-only).
func TestCancelCloseOnly(t *testing.T) {
	db := openDB(t, "killQueryOnCancel=false")
	db.SetMaxOpenConns(1)
	admin := openDB(t, "")
	id := connID(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := db.ExecContext(ctx, "DO SLEEP(3)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotEqual(t, id, connID(t, db), "the interrupted connection was discarded")
	// The server notices the closed socket only when SLEEP ends; the query was not killed.
	_, _ = admin.Exec(fmt.Sprintf("KILL %d", id)) // MySQL 9 refuses placeholders outside DML (error 6413)
}

// TestCancelledContextSendsNothingToServer: a context that is already done sends no byte.
func TestCancelledContextSendsNothingToServer(t *testing.T) {
	srv := testserver.Get(t)
	d := &Driver{}
	connector, err := d.OpenConnector(srv.DSN(""))
	require.NoError(t, err)
	dc, err := connector.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	c := dc.(*conn)
	before := c.pc.BytesOut()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.QueryContext(ctx, "SELECT 1", nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.ExecContext(ctx, "DO ?", []driver.NamedValue{{Ordinal: 1, Value: 1}})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, c.Ping(ctx), context.Canceled)
	assert.Equal(t, before, c.pc.BytesOut(), "nothing was written")
	assert.True(t, c.IsValid())
}

// trackRecoveries records the background cancel recoveries started from now on (connections opened from now
// on) and the recycling of the connections database/sql closed meanwhile; the returned function waits until
// all of them have ended (a recycled connection is then parked as a spare, or closed).
func trackRecoveries(t *testing.T) (wait func()) {
	var mu sync.Mutex
	var pending []<-chan struct{}
	onCancelStart = func(done <-chan struct{}) {
		mu.Lock()
		pending = append(pending, done)
		mu.Unlock()
	}
	onRecycleStart = onCancelStart
	t.Cleanup(func() { onCancelStart, onRecycleStart = nil, nil })
	return func() {
		mu.Lock()
		p := pending
		pending = nil
		mu.Unlock()
		for _, done := range p {
			<-done
		}
	}
}
