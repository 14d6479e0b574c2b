package rawmysql_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Pipelining error paths that a real server does not show on demand, played by a scripted fake server.

// batchOfQueries is a batch of n text statements of about size bytes each.
func batchOfQueries(n, size int) *rawmysql.Batch {
	b := &rawmysql.Batch{}
	for i := 0; i < n; i++ {
		b.Queue("DO '" + strings.Repeat("x", size) + "'")
	}
	return b
}

// A server that reads one command and then stops reading (and answering): the writer blocks on a full
// socket, the reader on a reply that never comes; the context's deadline ends both, every statement gets
// the context's error, and the connection is discarded.
func TestSendBatchServerStopsReading(t *testing.T) {
	srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		if !fakeAccept(c) || !answerSelect2(c) { // the Ping below
			return
		}
		c.ExpectCommand()
		<-done
	})
	db := fakeDB(t, srv, "killQueryOnCancel=false")
	db.SetMaxOpenConns(1)
	// Connected before the deadline starts, and a deadline long enough that part of the batch is written even
	// on a loaded machine: when it expired during the connect or before anything was sent, the connection was
	// rightly kept (nothing reached the server) and the check below failed.
	require.NoError(t, db.Ping())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res := rawmysql.SendBatch(ctx, db, batchOfQueries(5000, 1000)) // 5 MB: more than the socket buffers take
	require.Len(t, res, 5000)
	for i := range res {
		require.ErrorIs(t, res[i].Err, context.DeadlineExceeded, "statement %d", i)
	}
	// The connection was discarded, not put back in the pool.
	assert.Zero(t, db.Stats().OpenConnections)
}

// A reply that is garbage in the middle of a batch: the statements answered before keep their results, the
// others get the protocol error, the connection is closed and nothing more is read from or sent on it.
func TestSendBatchGarbageReply(t *testing.T) {
	for name, bad := range map[string][]byte{
		"column count":  {0xfc, 0x01},
		"local infile":  append([]byte{0xfb}, "/etc/passwd"...),
		"empty":         {},
		"short OK":      {0x00, 0x01},
		"huge columns":  {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"closed socket": nil,
	} {
		t.Run(name, func(t *testing.T) {
			var after atomic.Int32
			srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
				if !fakeAccept(c) {
					return
				}
				for i := 0; ; i++ {
					cmd, _ := c.ExpectCommand()
					if c.Err() != nil || cmd == byte(protocol.ComQuit) {
						return
					}
					switch {
					case i < 3:
						c.WritePacket(protocoltest.OK(uint64(i+1), 0, protocoltest.StatusAutocommit, 0, ""))
					case i == 3 && bad == nil:
						c.Close()
						return
					case i == 3:
						c.WritePacket(bad)
					default:
						after.Add(1) // commands already on their way are read, never answered
					}
				}
			})
			db := fakeDB(t, srv, "killQueryOnCancel=false")
			db.SetMaxOpenConns(1)
			conn, err := db.Conn(context.Background())
			require.NoError(t, err)
			defer conn.Close()
			res := rawmysql.SendBatch(context.Background(), conn, batchOfQueries(20, 10))
			for i := 0; i < 3; i++ {
				require.NoError(t, res[i].Err)
				assert.Equal(t, int64(i+1), res[i].RowsAffected)
			}
			for i := 3; i < 20; i++ {
				require.Error(t, res[i].Err, "statement %d", i)
				assert.True(t, strings.HasPrefix(res[i].Err.Error(), "rawmysql: "), "%v", res[i].Err)
				assert.False(t, errors.Is(res[i].Err, context.Canceled))
			}
			// The connection is unusable from now on: database/sql is told so (driver.ErrBadConn).
			err = conn.PingContext(context.Background())
			require.Error(t, err)
		})
	}
}

// A batch inside a transaction whose connection breaks: the transaction is gone (the server rolls it back)
// and the connection is not reused.
func TestSendBatchBrokenInTransaction(t *testing.T) {
	srv := commandServer(t, func(c *protocoltest.Conn, cmd protocol.Command, arg []byte) {
		if cmd == protocol.ComQuery && string(arg) == "START TRANSACTION" {
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit|1, 0, ""))
			return
		}
		c.WritePacket([]byte{0xfc}) // malformed
	})
	db := fakeDB(t, srv, "killQueryOnCancel=false")
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	require.NoError(t, err)
	res := rawmysql.SendBatch(context.Background(), tx, batchOfQueries(3, 1))
	require.Error(t, res.Err())
	require.Error(t, tx.Commit())
}

// bulkServer plays a MariaDB that offers COM_STMT_BULK_EXECUTE (and, with unit, one result per row of
// parameters: MARIADB_CLIENT_BULK_UNIT_RESULTS). It answers every prepare with a statement of one parameter
// and no columns, and every bulk execution with reply(flags, rows): flags as the client sent them, rows the
// number of parameter rows it carried.
func bulkServer(t *testing.T, unit bool, reply func(c *protocoltest.Conn, flags uint16, rows int)) *protocoltest.Server {
	mcaps := protocol.MariaDBClientStmtBulkOperations
	if unit {
		mcaps |= protocol.MariaDBClientBulkUnitResults
	}
	intCol := protocoltest.ColumnDef(protocoltest.Column{Name: "?", Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID})
	return stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		c.SendHandshake(protocoltest.HandshakeOpts{ServerVersion: "5.5.5-11.8.0-MariaDB-fake",
			Capabilities: protocoltest.DefaultCapabilities &^ protocol.ClientLongPassword, MariaDBCapabilities: mcaps})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		for {
			cmd, arg := c.ExpectCommand()
			if c.Err() != nil || protocol.Command(cmd) == protocol.ComQuit {
				return
			}
			switch protocol.Command(cmd) {
			case protocol.ComStmtPrepare:
				c.WritePacket((&protocol.StmtPrepareOK{StatementID: 1, NumParams: 1}).AppendTo(nil))
				c.WritePacket(intCol)
			case protocol.ComStmtBulkExecute:
				// statement id (4), flags (2), one parameter type (2), then per row: indicator (1) + BIGINT (8).
				if len(arg) < 8 || (len(arg)-8)%9 != 0 {
					c.WritePacket(protocoltest.ERR(1295, "HY000", "malformed bulk"))
					continue
				}
				reply(c, binary.LittleEndian.Uint16(arg[4:]), (len(arg)-8)/9)
			default:
				c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
			}
		}
	})
}

// unitRows writes a unit result set as MariaDB 11.8 does: two unsigned BIGINT columns (Id, Affected_rows)
// and one binary row per given unit.
func unitRows(c *protocoltest.Conn, units []protocol.BulkUnit, rowLen int) {
	col := func(name string) []byte {
		return protocoltest.ColumnDef(protocoltest.Column{Name: name, Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID,
			Flags: uint16(protocol.FlagNotNull | protocol.FlagUnsigned), Length: 21})
	}
	c.WritePacket(protocoltest.LenEncInt(2))
	c.WritePacket(col("Id"))
	c.WritePacket(col("Affected_rows"))
	for _, u := range units {
		row := []byte{0x00, 0x00}
		row = binary.LittleEndian.AppendUint64(row, u.LastInsertID)
		row = binary.LittleEndian.AppendUint64(row, u.AffectedRows)
		c.WritePacket(row[:rowLen])
	}
	c.WritePacket(protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
}

// A bulk run on a server with unit results (MariaDB 11.5.1+) reports each statement's own RowsAffected and
// LastInsertId; without them (or with a reply that does not hold one per statement) each statement reports
// the run's totals; a row that is not the expected layout breaks the connection with a protocol error.
func TestSendBatchBulkUnitResults(t *testing.T) {
	const n = 5
	queue := func() *rawmysql.Batch {
		b := &rawmysql.Batch{}
		for i := 0; i < n; i++ {
			b.Queue("INSERT IGNORE INTO t (v) VALUES (?)", i)
		}
		return b
	}
	units := []protocol.BulkUnit{ // the third was ignored
		{AffectedRows: 1, LastInsertID: 10}, {AffectedRows: 1, LastInsertID: 11}, {},
		{AffectedRows: 1, LastInsertID: 12}, {AffectedRows: 1, LastInsertID: 13},
	}
	run := func(t *testing.T, unit bool, reply func(c *protocoltest.Conn, flags uint16, rows int)) (rawmysql.BatchResults, error) {
		db := fakeDB(t, bulkServer(t, unit, reply), "killQueryOnCancel=false")
		db.SetMaxOpenConns(1)
		conn, err := db.Conn(context.Background())
		require.NoError(t, err)
		defer conn.Close()
		res := rawmysql.SendBatch(context.Background(), conn, queue())
		return res, conn.PingContext(context.Background())
	}

	t.Run("per statement", func(t *testing.T) {
		var sent uint16
		res, ping := run(t, true, func(c *protocoltest.Conn, flags uint16, rows int) {
			sent = flags
			require.Equal(t, n, rows)
			unitRows(c, units, 18)
		})
		assert.Equal(t, uint16(0xc0), sent, "SEND_TYPES_TO_SERVER | SEND_UNIT_RESULTS")
		require.NoError(t, res.Err())
		for i, u := range units {
			assert.Equal(t, rawmysql.BatchResult{RowsAffected: int64(u.AffectedRows), LastInsertId: int64(u.LastInsertID), Combined: n}, res[i], "statement %d", i)
		}
		assert.NoError(t, ping)
	})
	t.Run("server without unit results", func(t *testing.T) {
		var sent uint16
		res, ping := run(t, false, func(c *protocoltest.Conn, flags uint16, rows int) {
			sent = flags
			c.WritePacket(protocoltest.OK(4, 10, protocoltest.StatusAutocommit, 0, ""))
		})
		assert.Equal(t, uint16(0x80), sent, "SEND_UNIT_RESULTS asked of a server that does not offer it")
		for i := range res {
			assert.Equal(t, rawmysql.BatchResult{RowsAffected: 4, LastInsertId: 10, Combined: n, RunTotals: true}, res[i], "statement %d", i)
		}
		assert.NoError(t, ping)
	})
	t.Run("one row missing", func(t *testing.T) {
		res, ping := run(t, true, func(c *protocoltest.Conn, flags uint16, rows int) {
			unitRows(c, units[:n-1], 18)
		})
		require.NoError(t, res.Err())
		for i := range res {
			assert.Equal(t, rawmysql.BatchResult{RowsAffected: 3, LastInsertId: 10, Combined: n, RunTotals: true}, res[i], "statement %d", i)
		}
		assert.NoError(t, ping)
	})
	t.Run("one row too many", func(t *testing.T) {
		res, ping := run(t, true, func(c *protocoltest.Conn, flags uint16, rows int) {
			unitRows(c, append(units, units[0]), 18)
		})
		for i := range res {
			var pe *protocol.ProtocolError
			assert.ErrorAs(t, res[i].Err, &pe, "statement %d", i)
		}
		assert.Error(t, ping, "the connection was reused after a malformed reply")
	})
	t.Run("malformed row", func(t *testing.T) {
		res, ping := run(t, true, func(c *protocoltest.Conn, flags uint16, rows int) {
			unitRows(c, units, 17)
		})
		for i := range res {
			var pe *protocol.ProtocolError
			assert.ErrorAs(t, res[i].Err, &pe, "statement %d", i)
		}
		assert.Error(t, ping, "the connection was reused after a malformed reply")
	})
}
