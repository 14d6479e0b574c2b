package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessionState reads what one pool user may leave behind on a connection.
type sessionState struct {
	userVar     sql.NullInt64
	tempTable   bool
	lockHolder  sql.NullInt64
	waitTimeout int64
	cached      int
}

func readSessionState(t *testing.T, c *sql.Conn, tmp string) sessionState {
	t.Helper()
	ctx := context.Background()
	var s sessionState
	require.NoError(t, c.QueryRowContext(ctx, "SELECT @leak, IS_USED_LOCK('rawmysql_leak_lock'), @@SESSION.wait_timeout").Scan(&s.userVar, &s.lockHolder, &s.waitTimeout))
	var n int
	err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tmp).Scan(&n)
	s.tempTable = err == nil
	require.NoError(t, c.Raw(func(dc any) error {
		if cc := dc.(*conn).cache; cc != nil {
			s.cached = cc.Len()
		}
		return nil
	}))
	return s
}

// TestResetSessionClearsState: with resetSession=true, session variables, temporary tables, user locks and
// prepared statements of one pool user are gone when the next user gets the connection, and the DSN's
// session settings are applied again. Without it they leak (the control case).
func TestResetSessionClearsState(t *testing.T) {
	for _, reset := range []bool{true, false} {
		name := "reset"
		if !reset {
			name = "no_reset"
		}
		t.Run(name, func(t *testing.T) {
			params := "wait_timeout=12345"
			if reset {
				params += "&resetSession=true"
			}
			db := openDB(t, params)
			db.SetMaxOpenConns(1)
			ctx := context.Background()
			tmp := "tmp_" + name

			c1, err := db.Conn(ctx)
			require.NoError(t, err)
			id := connID(t, c1)
			for _, q := range []string{"SET @leak = 42", "CREATE TEMPORARY TABLE " + tmp + " (a INT)", "DO GET_LOCK('rawmysql_leak_lock', 0)", "SET SESSION wait_timeout = 99"} {
				_, err := c1.ExecContext(ctx, q)
				require.NoError(t, err, q)
			}
			var two int
			require.NoError(t, c1.QueryRowContext(ctx, "SELECT ? + 1", 1).Scan(&two), "a cached prepared statement")
			require.NoError(t, c1.Close())

			c2, err := db.Conn(ctx)
			require.NoError(t, err)
			defer c2.Close()
			require.Equal(t, id, connID(t, c2), "the pool hands out the same connection")
			s := readSessionState(t, c2, tmp)
			if reset {
				assert.False(t, s.userVar.Valid, "user variable cleared")
				assert.False(t, s.tempTable, "temporary table dropped")
				assert.False(t, s.lockHolder.Valid, "user lock released")
				assert.Equal(t, int64(12345), s.waitTimeout, "DSN session setting re-applied")
				assert.Equal(t, 0, s.cached, "statement cache emptied with the server's statements")
			} else {
				assert.Equal(t, int64(42), s.userVar.Int64)
				assert.True(t, s.tempTable)
				assert.Equal(t, id, s.lockHolder.Int64)
				assert.Equal(t, int64(99), s.waitTimeout)
				assert.Equal(t, 1, s.cached)
			}
			require.NoError(t, c2.QueryRowContext(ctx, "SELECT ? + 1", 2).Scan(&two), "prepared statements work after the reset")
			assert.Equal(t, 3, two)
		})
	}
}

// TestLivenessCheckDropsDeadConn: an idle pooled connection closed by the server is noticed by ResetSession's
// non-blocking check before any command is written, so database/sql moves to a new connection and the
// statement succeeds. With checkConnLiveness=false the dead connection is used and the statement fails.
func TestLivenessCheckDropsDeadConn(t *testing.T) {
	admin := openDB(t, "")
	for _, check := range []bool{true, false} {
		params := "checkConnLiveness=false"
		if check {
			params = "checkConnLiveness=true"
		}
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			db.SetMaxOpenConns(1)
			id := connID(t, db)
			_, err := admin.Exec(fmt.Sprintf("KILL %d", id)) // MySQL 9 refuses placeholders outside DML (error 6413)
			require.NoError(t, err)
			waitGone(t, admin, id)
			_, err = db.Exec("DO 1")
			if check {
				require.NoError(t, err)
				assert.NotEqual(t, id, connID(t, db))
			} else {
				require.Error(t, err, "the dead connection was used")
			}
		})
	}
}

// TestIsValidReportsBrokenConn: after an I/O failure the connection reports itself invalid, so database/sql
// does not put it back in the pool.
func TestIsValidReportsBrokenConn(t *testing.T) {
	srv := testserver.Get(t)
	admin := openDB(t, "")
	connector, err := (&Driver{}).OpenConnector(srv.DSN("checkConnLiveness=false"))
	require.NoError(t, err)
	dc, err := connector.Connect(context.Background())
	require.NoError(t, err)
	defer dc.Close()
	c := dc.(*conn)
	require.True(t, c.IsValid())
	_, err = admin.Exec(fmt.Sprintf("KILL %d", c.pc.ConnectionID())) // MySQL 9 refuses placeholders outside DML
	require.NoError(t, err)
	waitGone(t, admin, int64(c.pc.ConnectionID()))
	require.Error(t, c.Ping(context.Background()))
	assert.False(t, c.IsValid())
	assert.Error(t, c.ResetSession(context.Background()))
}

// TestRejectReadOnly: with rejectReadOnly=true a read-only error (here 1792, a read-only session) closes the
// connection and returns driver.ErrBadConn, so database/sql retries on a new connection — safe because the
// server refused the write. The row is written exactly once. Without the option the error is returned.
func TestRejectReadOnly(t *testing.T) {
	for _, reject := range []bool{true, false} {
		params, name := "rejectReadOnly=false", "keep"
		if reject {
			params, name = "rejectReadOnly=true", "reject"
		}
		t.Run(name, func(t *testing.T) {
			db := openDB(t, params)
			db.SetMaxOpenConns(1)
			tbl := tableName(t)
			mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
			mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY)")
			id := connID(t, db)
			mustExec(t, db, "SET SESSION TRANSACTION READ ONLY")
			_, err := db.Exec("INSERT INTO " + tbl + " VALUES (1)")
			var n int
			require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
			if reject {
				require.NoError(t, err, "retried on a fresh (writable) connection")
				assert.Equal(t, 1, n)
				assert.NotEqual(t, id, connID(t, db), "the read-only connection was closed")
			} else {
				var me *MySQLError
				require.True(t, errors.As(err, &me), "%v", err)
				assert.Equal(t, uint16(1792), me.Number)
				assert.Equal(t, 0, n)
				assert.Equal(t, id, connID(t, db))
			}
		})
	}
}
