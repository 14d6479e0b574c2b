package rawmysql

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With the server's local_infile off (MySQL 8.0+'s default), LOAD DATA LOCAL INFILE fails with the server's
// 3948 (MariaDB: 4166); the error must say what to change, and still be the server's error for errors.As.
func TestLocalInfileDisabledOnServer(t *testing.T) {
	t.Parallel()
	var db *sql.DB
	probe := openDB(t, "")
	var on int
	require.NoError(t, probe.QueryRow("SELECT @@GLOBAL.local_infile").Scan(&on))
	if on == 0 {
		db = probe // e.g. a stock MySQL 9.7
	} else {
		if testing.Short() {
			t.Skip("starts a second server")
		}
		if serverIsMySQL(t, probe) {
			t.Skip("the test server has local_infile ON; run against a MySQL server started with --local-infile=0")
		}
		srv := testserver.StartPrivate(t, "--local-infile=0")
		var err error
		db, err = sql.Open("rawmysql", srv.DSN(""))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
	}
	tbl := tableName(t)
	_, err := db.Exec("DROP TABLE IF EXISTS " + tbl)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE " + tbl + " (a INT, b VARCHAR(10))")
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })

	path := filepath.Join(t.TempDir(), "rows.csv")
	require.NoError(t, os.WriteFile(path, []byte("1,x\n2,y\n"), 0o600))
	RegisterLocalFile(path)
	t.Cleanup(func() { DeregisterLocalFile(path) })

	_, err = db.Exec("LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE " + tbl + " FIELDS TERMINATED BY ','")
	require.Error(t, err)
	var le *LocalInfileDisabledError
	require.ErrorAs(t, err, &le, "%v", err)
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Contains(t, []uint16{3948, 4166}, me.Number)
	assert.Contains(t, err.Error(), "SET GLOBAL local_infile = ON")

	// The connection is still usable.
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Zero(t, n)
}
