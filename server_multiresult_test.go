package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Results without columns are skipped as go-sql-driver/mysql skips them: before the first result set, between
// result sets and at the end (a CALL's final status).
func TestResultsWithoutColumnsSkipped(t *testing.T) {
	for _, params := range []string{"multiStatements=true", "multiStatements=true&interpolateParams=true"} {
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			ctx := context.Background()
			var a int
			require.NoError(t, db.QueryRow("SET @a := 7; SELECT @a").Scan(&a))
			assert.Equal(t, 7, a)
			if params != "multiStatements=true" { // arguments and several statements: interpolated only
				require.NoError(t, db.QueryRow("SET @b := ?; DO 1; SELECT @b + 1", 41).Scan(&a))
				assert.Equal(t, 42, a)
			}

			// Only statements without result sets: no columns, no rows, and the connection is free at once.
			conn, err := db.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			rows, err := conn.QueryContext(ctx, "SET @c := 1; DO 2")
			require.NoError(t, err)
			cols, err := rows.Columns()
			require.NoError(t, err)
			assert.Empty(t, cols)
			assert.False(t, rows.Next())
			assert.False(t, rows.NextResultSet())
			require.NoError(t, rows.Err())
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT @c").Scan(&a), "connection usable after")
			require.NoError(t, rows.Close())

			// An error in a statement before the first result set is the query's error.
			_, err = conn.QueryContext(ctx, "SET @d := 1; SELEC 2; SELECT 3")
			var me *MySQLError
			require.ErrorAs(t, err, &me)
			assert.Equal(t, uint16(1064), me.Number)
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT 1").Scan(&a), "connection usable after")
		})
	}
}

func TestCallHasNoTrailingEmptyResultSet(t *testing.T) {
	db := openDB(t, "")
	mustExec(t, db, "DROP PROCEDURE IF EXISTS rawmysql_two_sets")
	mustExec(t, db, "CREATE PROCEDURE rawmysql_two_sets() BEGIN SELECT 1 AS a; SELECT 2 AS b; END")
	t.Cleanup(func() { db.Exec("DROP PROCEDURE IF EXISTS rawmysql_two_sets") })
	for _, q := range []string{"CALL rawmysql_two_sets()", "CALL rawmysql_two_sets() -- ?"} {
		var rows *sql.Rows
		var err error
		if q == "CALL rawmysql_two_sets()" {
			rows, err = db.Query(q)
		} else {
			rows, err = db.Query("CALL rawmysql_two_sets()", []any{}...)
		}
		require.NoError(t, err)
		var sets int
		for {
			for rows.Next() {
			}
			sets++
			if !rows.NextResultSet() {
				break
			}
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		assert.Equal(t, 2, sets, "two SELECTs, no empty third set")
	}
	// Through a prepared statement too.
	st, err := db.Prepare("CALL rawmysql_two_sets()")
	require.NoError(t, err)
	defer st.Close()
	rows, err := st.Query()
	require.NoError(t, err)
	sets := 0
	for {
		for rows.Next() {
		}
		sets++
		if !rows.NextResultSet() {
			break
		}
	}
	require.NoError(t, rows.Close())
	assert.Equal(t, 2, sets)
}

// conn.Raw gives driver.Execer and driver.Queryer, whose results report every statement, as go-sql-driver's
// README shows.
func TestRawExecerQueryerAllResults(t *testing.T) {
	db := openDB(t, "multiStatements=true")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		ex, ok := dc.(driver.Execer) //nolint:staticcheck // the interface go-sql-driver's README uses
		require.True(t, ok, "driver.Execer")
		res, err := ex.Exec("INSERT INTO "+tbl+" (v) VALUES ('a'), ('b'); INSERT INTO "+tbl+" (v) VALUES ('c'), ('d'), ('e')", nil)
		require.NoError(t, err)
		mr, ok := res.(Result)
		require.True(t, ok, "rawmysql.Result")
		assert.Equal(t, []int64{2, 3}, mr.AllRowsAffected())
		assert.Equal(t, []int64{1, 3}, mr.AllLastInsertIds())
		n, _ := res.RowsAffected()
		assert.Equal(t, int64(3), n)
		mr.AllRowsAffected()[0] = 99 // a copy
		assert.Equal(t, []int64{2, 3}, mr.AllRowsAffected())

		res, err = ex.Exec("UPDATE "+tbl+" SET v = ? WHERE id = 1", []driver.Value{"z"})
		require.NoError(t, err)
		assert.Equal(t, []int64{1}, res.(Result).AllRowsAffected())

		qr, ok := dc.(driver.Queryer) //nolint:staticcheck // the interface go-sql-driver's README uses
		require.True(t, ok, "driver.Queryer")
		for want := range []int64{6, 1} { // each query reports its own statements
			rows, err := qr.Query("INSERT INTO "+tbl+" (v) VALUES ('f'); UPDATE "+tbl+" SET v = 'g' WHERE v <> 'g'; SELECT COUNT(*) FROM "+tbl, nil)
			require.NoError(t, err)
			// 5 rows + 1 inserted are updated the first time, only the new one the second.
			assert.Equal(t, []int64{1, []int64{6, 1}[want]}, rows.(Result).AllRowsAffected())
			dest := make([]driver.Value, 1)
			require.NoError(t, rows.Next(dest))
			require.NoError(t, rows.Close())
		}
		return nil
	})
	require.NoError(t, err)
}
