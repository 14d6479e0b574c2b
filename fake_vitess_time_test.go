package rawmysql_test

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Servers built on the Vitess server code (go-mysql-server, Dolt) decode a binary DATETIME parameter's
// microseconds without their leading zeros (03:04:05.045 is stored as 03:04:05.45) and refuse the zero date.
// For them time.Time arguments are bound as DATETIME text; real MySQL gets binary DATETIME. The scripted
// server records the type and value of the parameter of each COM_STMT_EXECUTE.
func TestTimeArgumentsAsTextForVitessServers(t *testing.T) {
	ts := time.Date(2024, 3, 1, 3, 4, 5, 45000000, time.UTC)
	for _, tc := range []struct {
		name     string
		version  string
		caps     uint32
		wantType byte
		want     []string // values of ts and of the zero time
	}{
		{"go-mysql-server default handshake", "8.0.33", protocoltest.DefaultCapabilities &^ protocoltest.ClientPSMultiResults, byte(protocol.TypeVarString),
			[]string{"2024-03-01 03:04:05.045", "0000-00-00"}},
		{"version names vitess", "8.0.36-vitess", 0, byte(protocol.TypeVarString),
			[]string{"2024-03-01 03:04:05.045", "0000-00-00"}},
		{"Dolt", "8.0.33-Dolt", 0, byte(protocol.TypeVarString),
			[]string{"2024-03-01 03:04:05.045", "0000-00-00"}},
		{"MySQL", "9.7.4", 0, byte(protocol.TypeDateTime),
			[]string{string(protocol.AppendBinaryDateTime(nil, ts)[1:]), ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var types []byte
			var values []string
			srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
				c.SendHandshake(protocoltest.HandshakeOpts{ServerVersion: tc.version, Capabilities: tc.caps})
				if c.ExpectHandshakeResponse() == nil {
					return
				}
				c.WritePacket(protocoltest.OK(0, 0, 2, 0, ""))
				for {
					cmd, arg := c.ExpectCommand()
					if c.Err() != nil {
						return
					}
					switch protocol.Command(cmd) {
					case protocol.ComStmtPrepare: // 0 columns, 1 param
						ok := binary.LittleEndian.AppendUint32([]byte{0}, 1)
						c.WritePacket(append(ok, 0, 0, 1, 0, 0, 0, 0))
						c.WritePacket(protocoltest.ColumnDef(protocoltest.Column{Name: "?", Type: 0xfd, Charset: 63}))
					case protocol.ComStmtExecute: // id(4) flags(1) iterations(4) NULL bitmap(1) new-params-bound(1) type(2) value
						mu.Lock()
						types = append(types, arg[11])
						v := arg[13:]
						if tc.wantType == byte(protocol.TypeVarString) || tc.wantType == byte(protocol.TypeDateTime) {
							n := int(v[0])
							values = append(values, string(v[1:1+n]))
						}
						mu.Unlock()
						c.WritePacket(protocoltest.OK(1, 0, 2, 0, ""))
					case protocol.ComStmtClose:
					case protocol.ComQuit:
						return
					}
				}
			})
			db := openFake(t, srv, "")
			for _, arg := range []time.Time{ts, {}} {
				_, err := db.Exec("INSERT INTO t VALUES (?)", arg)
				require.NoError(t, err)
			}
			db.Close()
			srv.Close()
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, []byte{tc.wantType, tc.wantType}, types)
			assert.Equal(t, tc.want, values)
		})
	}
}
