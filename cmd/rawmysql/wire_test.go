package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWirePreparedAndInfile follows prepared statements (binary rows), several result sets and LOAD DATA LOCAL
// INFILE on MariaDB, and checks that the decoder names every packet and ends each exchange idle.
func TestWirePreparedAndInfile(t *testing.T) {
	srv := testserver.Get(t)
	var out bytes.Buffer
	w := &wire{out: &out, maxBytes: 32}
	cfg, err := rawmysql.ParseDSN(srv.DSN("multiStatements=true"))
	require.NoError(t, err)
	cfg.PacketTrace = w.Trace
	connector, err := rawmysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := fmt.Sprintf("wire_%d", time.Now().UnixNano())

	_, err = db.ExecContext(ctx, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, name VARCHAR(20))")
	require.NoError(t, err)
	defer db.ExecContext(context.Background(), "DROP TABLE "+tbl)
	rawmysql.RegisterReaderHandler("wire", func() io.Reader { return strings.NewReader("1\tone\n2\ttwo\n") })
	defer rawmysql.DeregisterReaderHandler("wire")
	_, err = db.ExecContext(ctx, "LOAD DATA LOCAL INFILE 'Reader::wire' INTO TABLE "+tbl)
	require.NoError(t, err)
	require.Equal(t, phIdle, w.phase, "after LOAD DATA")

	var name string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM "+tbl+" WHERE id = ?", 2).Scan(&name))
	require.Equal(t, "two", name)
	require.Equal(t, phIdle, w.phase, "after a prepared query")
	// The same statement again: MariaDB 10.6+ skips the unchanged column definitions (cached metadata).
	require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM "+tbl+" WHERE id = ?", 1).Scan(&name))
	require.Equal(t, "one", name)
	require.Equal(t, phIdle, w.phase, "after a prepared query with cached metadata")

	rows, err := db.QueryContext(ctx, "SELECT 1; SELECT 'a', 'b'")
	require.NoError(t, err)
	for rows.NextResultSet() {
		for rows.Next() {
		}
	}
	require.NoError(t, rows.Close())
	require.Equal(t, phIdle, w.phase, "after two result sets")

	trace := out.String()
	wants := []string{
		`LocalInfileRequest  file="Reader::wire"`, "LocalInfileData", "LocalInfileEnd",
		"COM_STMT_PREPARE  sql=", "COM_STMT_PREPARE_OK  stmt_id=", "params=1",
		"COM_STMT_EXECUTE  stmt_id=", "BinaryRow", "SERVER_MORE_RESULTS_EXISTS", `TextRow  values="a" "b"`,
		"... ", // payloads longer than -trace-bytes are cut
	}
	if srv.IsMariaDB() && srv.AtLeast(10, 6) { // MARIADB_CLIENT_CACHE_METADATA: MariaDB 10.6 and later only
		wants = append(wants, "metadata=skipped (cached)")
	}
	for _, want := range wants {
		assert.Contains(t, trace, want)
	}
	assert.NotContains(t, trace, "Packet?", "every packet is recognised")
}
