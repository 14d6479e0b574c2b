package rawmysql_test

import (
	"context"
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
