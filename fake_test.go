package rawmysql

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/require"
)

// Helpers for tests against the scripted fake server (protocoltest): what a real server will not do on demand.

// fakeAccept plays a successful connection phase: handshake, response, OK.
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
	cmd, arg := c.ExpectCommand()
	switch {
	case c.Err() != nil:
		return false
	case cmd == 0x03 && string(arg) == "SELECT 2":
		c.SendResultSet([]protocoltest.Column{{Name: "2", Type: 8, Charset: 63}}, [][][]byte{{[]byte("2")}}, true)
	case cmd == 0x0e, cmd == 0x03 && string(arg) == "DO 1":
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
	case cmd == 0x01:
		return false
	default:
		c.Errorf("unexpected command 0x%02x %q", cmd, arg)
		return false
	}
	return c.Err() == nil
}
