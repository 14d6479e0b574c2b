package compat

import (
	"database/sql"
	"testing"
	"time"

	_ "github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/embedded"
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
