package rawmysql_test

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server that answers a query with a LOCAL INFILE request for a file the query never named gets an empty
// file, the caller gets a clear error, and the connection stays usable.
func TestFakeServerUnrequestedLocalInfile(t *testing.T) {
	rawmysql.RegisterLocalFile("/etc/passwd") // even a registered file is refused when the query did not name it
	defer rawmysql.DeregisterLocalFile("/etc/passwd")
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		if !fakeAccept(c) {
			return
		}
		for {
			cmd, arg := c.ExpectCommand()
			if c.Err() != nil {
				return
			}
			switch {
			case protocol.Command(cmd) == protocol.ComQuery && string(arg) == "SELECT 1":
				c.WritePacket(append([]byte{0xfb}, "/etc/passwd"...))
				data := c.ReadPacket()
				if len(data) != 0 {
					c.Errorf("client sent %d bytes of a file nobody asked for", len(data))
				}
				c.WritePacket(protocoltest.OK(0, 0, 2, 0, ""))
			case protocol.Command(cmd) == protocol.ComQuery && string(arg) == "SELECT 2":
				c.SendResultSet(oneIntColumn, [][][]byte{{[]byte("2")}}, true)
			case protocol.Command(cmd) == protocol.ComQuit:
				return
			default:
				c.WritePacket(protocoltest.ERR(1047, "08S01", "unknown command"))
			}
		}
	})
	db := openFake(t, srv, "allowAllFiles=false")
	_, err := db.Exec("SELECT 1")
	require.ErrorContains(t, err, "does not name this file")
	var v int
	require.NoError(t, db.QueryRow("SELECT 2").Scan(&v), "same connection still usable")
	assert.Equal(t, 2, v)
	assert.Equal(t, 1, srv.Conns())
	db.Close()
	for _, err := range srv.Errs() {
		assert.NotContains(t, err.Error(), "nobody asked")
	}
}

// A statement the server wants re-prepared (ER_NEED_REPREPARE, 1615) is prepared again and executed once;
// the failed execute ran nothing, so the write happens exactly once.
func TestFakeServerReprepare(t *testing.T) {
	var executes, prepares atomic.Int32
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		if !fakeAccept(c) {
			return
		}
		nextID := uint32(1)
		for {
			cmd, arg := c.ExpectCommand()
			if c.Err() != nil {
				return
			}
			switch protocol.Command(cmd) {
			case protocol.ComStmtPrepare: // 0 columns, 1 param
				prepares.Add(1)
				ok := []byte{0}
				ok = binary.LittleEndian.AppendUint32(ok, nextID)
				ok = append(ok, 0, 0, 1, 0, 0, 0, 0)
				nextID++
				c.WritePacket(ok)
				c.WritePacket(protocoltest.ColumnDef(protocoltest.Column{Name: "?", Type: 0x08, Charset: 63}))
			case protocol.ComStmtExecute:
				executes.Add(1)
				id := binary.LittleEndian.Uint32(arg)
				if id == 1 {
					c.WritePacket(protocoltest.ERR(1615, "HY000", "Prepared statement needs to be re-prepared"))
					continue
				}
				c.WritePacket(protocoltest.OK(1, 7, 2, 0, ""))
			case protocol.ComStmtClose: // no reply
			case protocol.ComQuit:
				return
			}
		}
	})
	db := openFake(t, srv, "")
	res, err := db.Exec("INSERT INTO t VALUES (?)", 5)
	require.NoError(t, err)
	id, _ := res.LastInsertId()
	assert.Equal(t, int64(7), id)
	db.Close()
	srv.Close() // waits for the script
	assert.Equal(t, int32(2), prepares.Load())
	assert.Equal(t, int32(2), executes.Load(), "one failed (nothing ran), one succeeded")
}

// A server asking for an authentication plugin rawmysql does not know gets a clear error naming it.
func TestFakeServerUnknownAuthPlugin(t *testing.T) {
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		c.WritePacket(protocoltest.AuthSwitch("authentication_kerberos_client", []byte("data\x00")))
		c.ReadPacket()
	})
	db := openFake(t, srv, "")
	err := db.Ping()
	require.ErrorContains(t, err, `"authentication_kerberos_client"`)
	require.ErrorContains(t, err, "not supported")
}
