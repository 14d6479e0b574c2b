package compat

import (
	"database/sql"
	"testing"
	"time"

	_ "github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/demo/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// go-mysql-server (like Dolt) stored a binary DATETIME argument of 03:04:05.045 as 03:04:05.45 and refused the
// zero time; rawmysql binds times as text for it (docs/servers.md). Every value comes back as written.
func TestGMSTimeArguments(t *testing.T) {
	srv, err := embedded.Start("gmstime")
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	db, err := sql.Open("rawmysql", srv.DSN("parseTime=true"))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE times (id INT PRIMARY KEY, dt DATETIME(6))")
	require.NoError(t, err)
	values := []time.Time{
		time.Date(2024, 3, 1, 3, 4, 5, 45000000, time.UTC),
		time.Date(2024, 3, 1, 3, 4, 5, 1000, time.UTC),
		time.Date(2024, 3, 1, 3, 4, 5, 123456000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		{}, // the zero time: the zero date (refused before the workaround)
	}
	for i, v := range values {
		_, err := db.Exec("INSERT INTO times VALUES (?, ?)", i, v)
		require.NoError(t, err, v)
	}
	for i, v := range values {
		var got time.Time
		require.NoError(t, db.QueryRow("SELECT dt FROM times WHERE id = ?", i).Scan(&got))
		assert.True(t, v.Equal(got), "stored %s, read %s", v, got)
		var n int
		require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM times WHERE dt = ?", v).Scan(&n))
		assert.Equal(t, 1, n, "WHERE dt = %s", v)
	}
}

// A cached SELECT * after ALTER TABLE ADD COLUMN returns the new column list and values on go-mysql-server
// (Dolt was reported to keep the old list; go-mysql-server v0.20 re-sends the new one, which the driver uses).
func TestGMSCachedSelectStarAfterAddColumn(t *testing.T) {
	srv, err := embedded.Start("gmsddl")
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	db, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec("CREATE TABLE k (id INT PRIMARY KEY, a VARCHAR(10))")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO k VALUES (1, 'x')")
	require.NoError(t, err)
	read := func() ([]string, []any) {
		rows, err := db.Query("SELECT * FROM k WHERE id = ?", 1)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.True(t, rows.Next())
		require.NoError(t, rows.Scan(ptrs...))
		return cols, vals
	}
	read()
	read()
	_, err = db.Exec("ALTER TABLE k ADD COLUMN b BIGINT NOT NULL DEFAULT 42")
	require.NoError(t, err)
	cols, vals := read()
	assert.Equal(t, []string{"id", "a", "b"}, cols)
	assert.Equal(t, []any{int64(1), []byte("x"), int64(42)}, vals)
}
