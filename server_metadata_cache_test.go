package rawmysql

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Against MariaDB 10.6+, MARIADB_CLIENT_CACHE_METADATA is negotiated: executions of a cached statement come
// without column definitions (fewer bytes), and when the table changes the server sends the new definitions,
// which the driver uses from then on.
func TestMariaDBMetadataCacheAcrossAlterTable(t *testing.T) {
	db := openDB(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	defer sc.Close()
	var pc *protocol.Conn
	require.NoError(t, sc.Raw(func(dc any) error { pc = dc.(*conn).pc; return nil }))
	if !strings.Contains(pc.ServerVersion(), "MariaDB") || pc.Handshake().MariaDBCaps&protocol.MariaDBClientCacheMetadata == 0 {
		t.Skipf("server %s does not offer MARIADB_CLIENT_CACHE_METADATA", pc.ServerVersion())
	}
	require.NotZero(t, pc.MariaDBCapabilities()&protocol.MariaDBClientCacheMetadata)

	tbl := tableName(t)
	_, err = sc.ExecContext(ctx, "DROP TABLE IF EXISTS "+tbl)
	require.NoError(t, err)
	_, err = sc.ExecContext(ctx, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(10))")
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	_, err = sc.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (1, 'one'), (2, 'two')")
	require.NoError(t, err)

	q := "SELECT id, v FROM " + tbl + " WHERE id = ?"
	read := func(id int) (int64, any, []*sql.ColumnType, int64) {
		before := pc.BytesIn()
		rows, err := sc.QueryContext(ctx, q, id)
		require.NoError(t, err)
		defer rows.Close()
		types, err := rows.ColumnTypes()
		require.NoError(t, err)
		require.True(t, rows.Next())
		var gotID int64
		var v any
		require.NoError(t, rows.Scan(&gotID, &v))
		require.False(t, rows.Next())
		require.NoError(t, rows.Err())
		return gotID, v, types, pc.BytesIn() - before
	}
	id, v, types, firstBytes := read(1) // prepare + execute
	assert.Equal(t, int64(1), id)
	assert.Equal(t, []byte("one"), v)
	_, _, _, cachedBytes := read(2)
	_, _, _, cachedBytes2 := read(1)
	assert.Equal(t, cachedBytes, cachedBytes2)
	// Skipped definitions: an execution reads a count, a row and an OK — far less than the two definitions.
	assert.Less(t, cachedBytes, int64(60), "bytes of an execution with cached metadata (first one read %d)", firstBytes)
	l, _ := types[1].Length()
	assert.Equal(t, int64(10), l)

	_, err = sc.ExecContext(ctx, "UPDATE "+tbl+" SET v = '5'")
	require.NoError(t, err)
	_, err = sc.ExecContext(ctx, "ALTER TABLE "+tbl+" MODIFY v BIGINT")
	require.NoError(t, err)
	_, err = sc.ExecContext(ctx, "UPDATE "+tbl+" SET v = 12345678901 WHERE id = 2")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		id, v, types, _ = read(2)
		assert.Equal(t, int64(2), id)
		assert.Equal(t, int64(12345678901), v, "value decoded with the new column type")
		assert.Equal(t, "BIGINT", types[1].DatabaseTypeName())
	}
}

// With the statement cache off, every query with arguments prepares a statement and closes it afterwards;
// the COM_STMT_CLOSEs ride along with the following commands and the server does close them all.
func TestQueuedStmtClosesReachServer(t *testing.T) {
	db := openDB(t, "stmtCacheSize=0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	defer sc.Close()
	status := func(name string) int64 {
		var k string
		var v int64
		require.NoError(t, sc.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE '"+name+"'").Scan(&k, &v))
		return v
	}
	closesBefore := status("Com_stmt_close")
	const n = 25
	for i := 0; i < n; i++ {
		var got int64
		require.NoError(t, sc.QueryRowContext(ctx, "SELECT ? + 1", i).Scan(&got))
		require.Equal(t, int64(i+1), got)
	}
	// The last close left with the SHOW STATUS query, before the server counted.
	assert.Equal(t, int64(n), status("Com_stmt_close")-closesBefore)
}
