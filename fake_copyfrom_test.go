package rawmysql_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server (or proxy) whose SHOW FULL COLUMNS lacks the Collation column: CopyFrom stops with an error naming
// what it got, before any LOAD DATA is sent.
func TestCopyFromOddShowColumns(t *testing.T) {
	text := func(name string) protocoltest.Column {
		return protocoltest.Column{Name: name, Type: byte(protocol.TypeVarString), Charset: 45, Length: 255}
	}
	var loads atomic.Int32
	srv := commandServer(t, func(c *protocoltest.Conn, cmd protocol.Command, arg []byte) {
		q := string(arg)
		switch {
		case cmd == protocol.ComQuery && strings.HasPrefix(q, "SHOW FULL COLUMNS FROM `t`"):
			c.SendResultSet([]protocoltest.Column{text("Field"), text("Type")}, [][][]byte{{[]byte("a"), []byte("int")}}, true)
		case cmd == protocol.ComQuery && strings.HasPrefix(q, "LOAD DATA"):
			loads.Add(1)
			c.WritePacket(protocoltest.ERR(1064, "42000", "not expected"))
		default:
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		}
	})
	srv.Vars = map[string]string{"character_set_client": "utf8mb4"} // answered by the fake server itself
	db := openFake(t, srv, "")
	_, err := rawmysql.CopyFrom(context.Background(), db, "t", []string{"a"}, rawmysql.CopyFromRows([][]any{{1}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `rawmysql: CopyFrom: SHOW FULL COLUMNS returned the columns ["Field" "Type"]`)
	assert.Zero(t, loads.Load(), "no LOAD DATA sent")
	require.NoError(t, db.Ping(), "the connection is still usable")
}
