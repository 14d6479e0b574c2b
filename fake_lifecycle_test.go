package rawmysql_test

import (
	"context"
	"database/sql"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// malformedRowServer answers the first connection's first query with a one-column result whose row does not
// decode (a length prefix beyond the packet), then serves every later command properly. It counts the
// commands the first connection receives after the malformed reply.
func malformedRowServer(t *testing.T, after *atomic.Int32) *protocoltest.Server {
	return hostileServer(t, func(c *protocoltest.Conn, _ <-chan struct{}) {
		c.WritePacket(protocoltest.LenEncInt(1))
		c.WritePacket(protocoltest.ColumnDef(protocoltest.Column{Name: "v", Type: 253, Charset: 45}))
		c.WritePacket([]byte{0xfc, 0xff, 0x7f, 'x'}) // says 32767 bytes follow; 1 does
		c.WritePacket([]byte{0xfe, 0, 0, 2, 0, 0, 0})
		for {
			cmd, _ := c.ExpectCommand()
			if c.Err() != nil || protocol.Command(cmd) == protocol.ComQuit {
				return
			}
			after.Add(1)
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		}
	})
}

// Defect 3: a row that does not decode discards the connection: nothing more is read from or written to it,
// and the pool continues on a new connection.
func TestMalformedRowDiscardsConnection(t *testing.T) {
	var after atomic.Int32
	srv := malformedRowServer(t, &after)
	db := fakeDB(t, srv, "timeout=5s&readTimeout=5s")
	db.SetMaxOpenConns(1)
	rows, err := db.Query("SELECT 1")
	require.NoError(t, err)
	for rows.Next() {
	}
	require.Error(t, rows.Err())
	require.NoError(t, rows.Close())
	var v int
	require.NoError(t, db.QueryRow("SELECT 2").Scan(&v))
	assert.Equal(t, 2, v)
	assert.Equal(t, 2, srv.Conns(), "the query ran on a new connection")
	db.Close()
	assert.Zero(t, after.Load(), "nothing was sent on the connection after the malformed row")
}

// readOnlyServer answers COM_QUERY like a read-only server would after part of the request ran: for a CALL,
// ERR 1290 as the first packet (the procedure wrote first); for a multi-statement, an OK (first statement
// ran) then ERR 1290; for anything else, ERR 1290. It counts the queries per text.
func readOnlyServer(t *testing.T, counts *sync.Map) *protocoltest.Server {
	errRO := protocoltest.ERR(1290, "HY000", "The MariaDB server is running with the --read-only option so it cannot execute this statement")
	return commandServer(t, func(c *protocoltest.Conn, cmd protocol.Command, arg []byte) {
		if cmd != protocol.ComQuery {
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
			return
		}
		q := string(arg)
		n, _ := counts.LoadOrStore(q, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		if strings.Contains(q, ";") {
			c.WritePacket(protocoltest.OK(1, 0, protocoltest.StatusAutocommit|protocoltest.StatusMoreResultsExists, 0, ""))
		}
		c.WritePacket(errRO)
	})
}

// Defect 8: with rejectReadOnly=true, a read-only error becomes driver.ErrBadConn (database/sql retries) only
// when the server cannot have executed anything: not after a CALL, not in a multi-statement after a
// statement ran.
func TestRejectReadOnlyRetriesOnlyUnexecuted(t *testing.T) {
	var counts sync.Map
	srv := readOnlyServer(t, &counts)
	db := fakeDB(t, srv, "rejectReadOnly=true&multiStatements=true&timeout=5s&readTimeout=5s")
	count := func(q string) int32 {
		n, ok := counts.Load(q)
		if !ok {
			return 0
		}
		return n.(*atomic.Int32).Load()
	}
	for _, q := range []string{"CALL write_then_fail()", "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"} {
		_, err := db.Exec(q)
		var me *rawmysql.MySQLError
		require.ErrorAs(t, err, &me, q)
		assert.Equal(t, uint16(1290), me.Number)
		assert.Equal(t, int32(1), count(q), "%q ran %d times", q, count(q))
	}
	// A single statement refused as a whole is retried on another connection (as go-sql-driver does).
	_, err := db.Exec("INSERT INTO t VALUES (3)")
	require.Error(t, err)
	assert.Greater(t, count("INSERT INTO t VALUES (3)"), int32(1), "a refused single statement is retried")
}

// Defect 9b: a handshake that times out names the address.
func TestHandshakeTimeoutNamesAddress(t *testing.T) {
	srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) { <-done })
	db := fakeDB(t, srv, "timeout=200ms")
	err := db.Ping()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), srv.Addr())
}

// When the caller's context ends a connect (not the DSN's timeout), the caller gets that context's error
// itself, as database/sql and go-sql-driver return it: from a stalled handshake, and from a dial after which
// the context was already cancelled (the dialled connection is closed).
func TestConnectEndedByCallerContext(t *testing.T) {
	srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) { <-done })
	db := fakeDB(t, srv, "timeout=30s")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := db.ExecContext(ctx, "DO 1")
	assert.True(t, err == context.DeadlineExceeded, "got %v", err)

	var cancelDial context.CancelFunc
	var dialled net.Conn
	var closed atomic.Bool
	cfg := rawmysql.NewConfig()
	cfg.Addr = srv.Addr()
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		cancelDial()
		c1, c2 := net.Pipe()
		go func() { <-ctx.Done(); time.Sleep(10 * time.Millisecond); c2.Close() }()
		dialled = &closeRecorder{Conn: c1, closed: &closed}
		return dialled, nil
	}
	connector, err := rawmysql.NewConnector(cfg)
	require.NoError(t, err)
	db2 := sql.OpenDB(connector)
	defer db2.Close()
	var ctx2 context.Context
	ctx2, cancelDial = context.WithCancel(context.Background())
	defer cancelDial()
	_, err = db2.Conn(ctx2)
	assert.True(t, err == context.Canceled, "got %v", err)
	require.NotNil(t, dialled)
	assert.True(t, closed.Load(), "the dialled connection is closed")
}

// closeRecorder records that Close was called.
type closeRecorder struct {
	net.Conn
	closed *atomic.Bool
}

func (c *closeRecorder) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}
