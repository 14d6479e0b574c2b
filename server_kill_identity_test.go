package rawmysql_test

import (
	"context"
	"database/sql"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// killRecorder is a fake server standing in for another server behind a balancer: it accepts logins and
// records every KILL it is asked to run.
func killRecorder(t *testing.T, kills *atomic.Int32) *protocoltest.Server {
	return commandServer(t, func(c *protocoltest.Conn, cmd protocol.Command, arg []byte) {
		if cmd == protocol.ComQuery && strings.HasPrefix(strings.ToUpper(string(arg)), "KILL") {
			kills.Add(1)
		}
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
	})
}

// Defect 4: behind a round-robin balancer the KILL side connection can reach another server; it must prove it
// reached the main connection's server before sending KILL, and close the connection instead otherwise.
func TestKillChecksServerIdentity(t *testing.T) {
	real := testserver.Get(t)
	var kills atomic.Int32
	other := killRecorder(t, &kills)
	var dials atomic.Int32
	cfg, err := rawmysql.ParseDSN(real.DSN("timeout=5s"))
	require.NoError(t, err)
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if dials.Add(1) == 1 {
			return d.DialContext(ctx, network, addr)
		}
		return d.DialContext(ctx, "tcp", other.Addr()) // the balancer's next pick
	}
	connector, err := rawmysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	var id int64
	require.NoError(t, conn.QueryRowContext(context.Background(), "SELECT CONNECTION_ID()").Scan(&id))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = conn.ExecContext(ctx, "DO SLEEP(3)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	conn.Close()
	// Wait until the side connection has finished with the other server.
	require.Eventually(t, func() bool { return dials.Load() >= 2 && other.Conns() >= 1 }, 10*time.Second, 10*time.Millisecond)
	db.Close()
	other.Close()
	assert.Zero(t, kills.Load(), "KILL was sent to a server that is not the connection's")
	// The statement was not killed on its own server either: kill it here so it does not linger.
	admin, err := sql.Open("rawmysql", real.DSN(""))
	require.NoError(t, err)
	defer admin.Close()
	_, _ = admin.Exec("KILL " + strconv.FormatInt(id, 10))
}
