package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHammerOneDB runs many goroutines against one *sql.DB with a small pool: queries (text and prepared),
// inserts, explicit prepared statements, transactions that commit or roll back, and statements cancelled
// mid-flight (KILL QUERY). Run with -race. Only context errors are allowed, and exactly the committed rows
// are in the table afterwards.
func TestHammerOneDB(t *testing.T) {
	db := openDB(t, "")
	db.SetMaxOpenConns(6)
	db.SetMaxIdleConns(3)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id BIGINT PRIMARY KEY, g INT)")

	const goroutines, iterations = 16, 18
	var (
		committed atomic.Int64
		cancelled atomic.Int64
		nextID    atomic.Int64
		wg        sync.WaitGroup
		errMu     sync.Mutex
		errs      []error
	)
	report := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	stmt, err := db.Prepare("SELECT ? + g FROM " + tbl + " WHERE id = ?")
	require.NoError(t, err)
	defer stmt.Close()

	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < iterations; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var err error
				switch (g + i) % 6 {
				case 0: // text query
					var n int
					err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n)
				case 1: // insert through the statement cache
					id := nextID.Add(1)
					if _, err = db.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (?, ?)", id, g); err == nil {
						committed.Add(1)
					}
				case 2: // explicit prepared statement
					var v sql.NullInt64
					err = stmt.QueryRowContext(ctx, g, nextID.Load()).Scan(&v)
					if errors.Is(err, sql.ErrNoRows) {
						err = nil
					}
				case 3: // transaction, committed on even iterations
					var tx *sql.Tx
					tx, err = db.BeginTx(ctx, nil)
					if err != nil {
						break
					}
					id := nextID.Add(1)
					if _, err = tx.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (?, ?)", id, g); err != nil {
						tx.Rollback()
						break
					}
					if i%2 == 0 {
						if err = tx.Commit(); err == nil {
							committed.Add(1)
						}
					} else {
						err = tx.Rollback()
					}
				case 4: // cancelled mid-statement
					cctx, ccancel := context.WithTimeout(ctx, 30*time.Millisecond)
					_, err = db.ExecContext(cctx, "DO SLEEP(5)")
					ccancel()
					if errors.Is(err, context.DeadlineExceeded) {
						cancelled.Add(1)
						err = nil
					} else if err == nil {
						err = fmt.Errorf("SLEEP(5) was not interrupted")
					}
				case 5: // rows abandoned half-read
					var rows *sql.Rows
					rows, err = db.QueryContext(ctx, "SELECT seq FROM "+seqTable(5000)+" s")
					if err == nil {
						for j := 0; j < 10 && rows.Next(); j++ {
						}
						err = rows.Close()
					}
				}
				cancel()
				if err != nil {
					report(fmt.Errorf("goroutine %d iteration %d: %w", g, i, err))
				}
			}
		}(g)
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	var n int64
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Equal(t, committed.Load(), n, "exactly the committed rows")
	assert.Positive(t, cancelled.Load())
	t.Logf("%d rows committed, %d statements cancelled", n, cancelled.Load())
}
