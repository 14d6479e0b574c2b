package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompressedSuite re-runs key integration tests with compress=true (the whole suite runs compressed with
// RAWMYSQL_TEST_PARAMS=compress=true), and checks that both sides really compress.
func TestCompressedSuite(t *testing.T) {
	saved := extraTestParams
	extraTestParams = joinParams(saved, "compress=true")
	defer func() { extraTestParams = saved }()

	t.Run("negotiated", func(t *testing.T) {
		srv := testserver.Get(t)
		var wire countingConnBytes
		cfg := mustParse(t, srv.DSN(extraTestParams))
		cfg.DialFunc = wire.dial
		db := sql.OpenDB(mustConnector(t, cfg))
		defer db.Close()
		var name, value string
		require.NoError(t, db.QueryRow("SHOW SESSION STATUS LIKE 'Compression'").Scan(&name, &value))
		assert.Equal(t, "ON", value, "the server sees a compressed session")
		rawConn(t, db, func(c *conn) {
			assert.True(t, c.pc.Compressed())
		})
		// 1.5 MiB of repetitive text each way costs far fewer bytes on the socket.
		big := strings.Repeat("compress me ", 1<<17)
		in0, out0 := wire.in.Load(), wire.out.Load()
		var v string
		require.NoError(t, db.QueryRow("SELECT '"+big+"'").Scan(&v))
		require.Equal(t, big, v)
		assert.Less(t, wire.out.Load()-out0, int64(len(big)/10), "client to server compressed")
		assert.Less(t, wire.in.Load()-in0, int64(len(big)/10), "server to client compressed")
	})
	for name, fn := range map[string]func(*testing.T){
		"AllTypesTextProtocol": TestAllTypesTextProtocol,
		"Transactions":         TestTransactions,
		"ServerErrors":         TestServerErrors,
		"LargeValue20MiB":      TestLargeValue20MiB,
		"ExecRowsAffected":     TestExecRowsAffectedLastInsertID,
		"AbandonedResult":      TestAbandonedResultThenQuery,
		// Pipelines under compression: each command a compressed packet of its own, sent before any reply.
		"SendBatch":              TestSendBatchMatchesExec,
		"SendBatchErrorsInOrder": TestSendBatchErrorsInOrder,
		"SendBatchLargeReplies":  TestSendBatchLargeRepliesNoDeadlock,
		"SendBatchBulkInTx":      TestSendBatchBulkInTransaction,
		// Cancellation: KILL QUERY, then the compressed reply drained from where the deadline cut it, and the
		// connection reused (until 2026-12-02 a compressed connection was closed, its statement left running).
		"CancelKillsQuery":         TestCancelKillsQuery,
		"CancelKillsBlockedUpdate": TestCancelKillsBlockedUpdate,
		"CancelDuringRows":         TestCancelDuringRows,
		"RecycledSpareIsClean":     TestRecycledSpareIsClean,
	} {
		t.Run(name, fn)
	}
	t.Run("PreparedStatements", func(t *testing.T) {
		db := openDB(t, "")
		tbl := tableName(t)
		mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
		mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, b LONGBLOB, s VARCHAR(100))")
		stmt, err := db.Prepare("INSERT INTO " + tbl + " VALUES (?, ?, ?)")
		require.NoError(t, err)
		defer stmt.Close()
		big := bytes.Repeat([]byte{0, 1, 2, 3, 'x'}, 4<<20) // 20 MiB through COM_STMT_EXECUTE
		_, err = stmt.Exec(1, big, "héllo")
		require.NoError(t, err)
		_, err = stmt.Exec(2, []byte{}, nil)
		require.NoError(t, err)
		var got []byte
		var s *string
		require.NoError(t, db.QueryRow("SELECT b, s FROM "+tbl+" WHERE id = ?", 1).Scan(&got, &s))
		require.True(t, bytes.Equal(big, got))
		require.NotNil(t, s)
		assert.Equal(t, "héllo", *s)
		require.NoError(t, db.QueryRow("SELECT b, s FROM "+tbl+" WHERE id = ?", 2).Scan(&got, &s))
		assert.Empty(t, got)
		assert.Nil(t, s)
	})
}

// countingConnBytes dials TCP connections that count the bytes crossing the socket.
type countingConnBytes struct{ in, out atomic.Int64 }

func (w *countingConnBytes) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: nc, w: w}, nil
}

type countedConn struct {
	net.Conn
	w *countingConnBytes
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.in.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.out.Add(int64(n))
	return n, err
}
