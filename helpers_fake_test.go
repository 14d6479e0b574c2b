package rawmysql_test

import (
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/require"
)

// Helpers for the tests against the scripted fake server (protocoltest, fake_*_test.go): what a real server
// will not do on demand. The fake-server tests are an external test package (rawmysql_test): they drive the
// driver through database/sql and its exported API only, as an application does.

// fakeAccept plays a successful connection phase: handshake, response, OK (autocommit on).
func fakeAccept(c *protocoltest.Conn) bool {
	c.SendHandshake(protocoltest.HandshakeOpts{})
	if c.ExpectHandshakeResponse() == nil {
		return false
	}
	c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
	return c.Err() == nil
}

// stallingServer starts a fake server whose script may block on done; done is closed before the server shuts
// down (cleanups run last-registered first), so stalled scripts end.
func stallingServer(t *testing.T, script func(c *protocoltest.Conn, done <-chan struct{})) *protocoltest.Server {
	done := make(chan struct{})
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) { script(c, done) })
	t.Cleanup(func() { close(done) })
	return srv
}

// fakeDB opens a pool on a fake server with DSN parameters.
func fakeDB(t *testing.T, srv *protocoltest.Server, params string) *sql.DB {
	t.Helper()
	dsn := fmt.Sprintf("root@tcp(%s)/", srv.Addr())
	if params != "" {
		dsn += "?" + params
	}
	db, err := sql.Open("rawmysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// answerSelect2 answers COM_QUERY "SELECT 2" with one row holding "2", "DO 1" and COM_PING with OK, and COM_QUIT; false when the
// connection ended or the command is something else.
func answerSelect2(c *protocoltest.Conn) bool {
	b, arg := c.ExpectCommand()
	switch cmd := protocol.Command(b); {
	case c.Err() != nil:
		return false
	case cmd == protocol.ComQuery && string(arg) == "SELECT 2":
		col := protocoltest.Column{Name: "2", Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID}
		c.SendResultSet([]protocoltest.Column{col}, [][][]byte{{[]byte("2")}}, true)
	case cmd == protocol.ComPing, cmd == protocol.ComQuery && string(arg) == "DO 1":
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
	case cmd == protocol.ComQuit:
		return false
	default:
		c.Errorf("unexpected command %v %q", cmd, arg)
		return false
	}
	return c.Err() == nil
}

// commandServer is a fake server that accepts logins and hands each command to answer until COM_QUIT or an
// I/O error.
func commandServer(t *testing.T, answer func(c *protocoltest.Conn, cmd protocol.Command, arg []byte)) *protocoltest.Server {
	return stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		if !fakeAccept(c) {
			return
		}
		for {
			cmd, arg := c.ExpectCommand()
			if c.Err() != nil || protocol.Command(cmd) == protocol.ComQuit {
				return
			}
			answer(c, protocol.Command(cmd), arg)
		}
	})
}

// openFake is fakeDB with 5-second timeouts and one connection at most.
func openFake(t *testing.T, srv *protocoltest.Server, params string) *sql.DB {
	t.Helper()
	timeouts := "timeout=5s&readTimeout=5s&writeTimeout=5s"
	if params != "" {
		timeouts += "&" + params
	}
	db := fakeDB(t, srv, timeouts)
	db.SetMaxOpenConns(1)
	return db
}

// oneIntColumn describes a NOT NULL BIGINT column "v" (binary collation).
var oneIntColumn = []protocoltest.Column{{Name: "v", Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID,
	Flags: uint16(protocol.FlagNotNull), Length: 20}}

// hostileServer answers the first connection's first command with reply and serves later connections
// properly (answerSelect2), so a test can check that the pool recovers.
func hostileServer(t *testing.T, reply func(c *protocoltest.Conn, done <-chan struct{})) *protocoltest.Server {
	var first atomic.Bool
	first.Store(true)
	return stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		if !fakeAccept(c) {
			return
		}
		if first.Swap(false) {
			c.ExpectCommand()
			reply(c, done)
			return
		}
		for answerSelect2(c) {
		}
	})
}
