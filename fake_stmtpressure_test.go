package rawmysql_test

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A MySQL-like server (parameter types fixed at the first execution) that holds at most two statements
// server-wide: when a cached statement must be prepared again for new argument types and the server answers
// 1461, the connection gives back its other cached statements and the retry succeeds.
func TestReprepareUnderMaxPreparedStmtCount(t *testing.T) {
	var mu sync.Mutex
	var log []string
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		if !fakeAccept(c) {
			return
		}
		open := map[uint32]bool{}
		next := uint32(1)
		for {
			cmd, arg := c.ExpectCommand()
			if c.Err() != nil {
				return
			}
			mu.Lock()
			switch protocol.Command(cmd) {
			case protocol.ComStmtPrepare:
				if len(open) >= 2 {
					log = append(log, "prepare refused")
					c.WritePacket(protocoltest.ERR(1461, "42000", "Can't create more than max_prepared_stmt_count statements (current value: 2)"))
					break
				}
				open[next] = true
				log = append(log, "prepare "+string(arg))
				ok := binary.LittleEndian.AppendUint32([]byte{0}, next)
				c.WritePacket(append(ok, 0, 0, 1, 0, 0, 0, 0))
				c.WritePacket(protocoltest.ColumnDef(protocoltest.Column{Name: "?", Type: 0xfd, Charset: 63}))
				next++
			case protocol.ComStmtExecute:
				id := binary.LittleEndian.Uint32(arg)
				if !open[id] {
					c.WritePacket(protocoltest.ERR(1243, "HY000", "Unknown prepared statement handler"))
					break
				}
				c.WritePacket(protocoltest.OK(1, 0, 2, 0, ""))
			case protocol.ComStmtClose:
				delete(open, binary.LittleEndian.Uint32(arg))
				log = append(log, "close")
			case protocol.ComQuit:
				mu.Unlock()
				return
			}
			mu.Unlock()
		}
	})
	db := openFake(t, srv, "")
	_, err := db.Exec("INSERT INTO a VALUES (?)", 1)
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO b VALUES (?)", 1)
	require.NoError(t, err)
	// New argument type for a: a fresh statement is needed while a and b fill the server.
	_, err = db.Exec("INSERT INTO a VALUES (?)", "text")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO a VALUES (?)", "again") // the new statement is cached
	require.NoError(t, err)
	db.Close()
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{
		"prepare INSERT INTO a VALUES (?)",
		"prepare INSERT INTO b VALUES (?)",
		"prepare refused",
		"close", // b given back, in the same write as the retried prepare
		"prepare INSERT INTO a VALUES (?)",
		"close", // a's statement bound to integers
	}, log)
}
