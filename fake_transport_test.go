package rawmysql_test

import (
	"context"
	"crypto/tls"
	"database/sql"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/require"
)

// TestTimeoutBoundsConnect checks that the DSN's timeout covers the whole connection phase, not just the dial:
// fake servers that stall at each step must make Connect fail with the deadline.
func TestTimeoutBoundsConnect(t *testing.T) {
	stalls := map[string]struct {
		params string
		script func(c *protocoltest.Conn)
	}{
		"before the handshake": {"", func(c *protocoltest.Conn) {}},
		"during auth": {"", func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{})
			c.ExpectHandshakeResponse()
		}},
		"mid-packet": {"", func(c *protocoltest.Conn) {
			c.WriteRaw([]byte{0x4a, 0x00, 0x00, 0x00, 10, '8'})
		}},
		"during the TLS handshake": {"&tls=skip-verify", func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{TLS: &tls.Config{}})
			c.ReadPacket() // the SSLRequest; then swallow the ClientHello and never answer
			nc := c.NetConn()
			_ = nc.SetDeadline(time.Now().Add(time.Minute))
			_, _ = io.Copy(io.Discard, nc)
		}},
	}
	for name, stall := range stalls {
		script := stall.script
		t.Run(name, func(t *testing.T) {
			fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
				script(c)
				// Stall: wait for bytes that never come, until the client hangs up.
				c.SetTimeout(time.Minute)
				c.ReadPacket()
			})
			db, err := sql.Open("rawmysql", "root:pw@tcp("+fake.Addr()+")/test?timeout=300ms"+stall.params)
			require.NoError(t, err)
			defer db.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = db.PingContext(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.NoError(t, ctx.Err(), "the DSN timeout fired, not the test's own deadline")
		})
	}
}

// A server that is not there: the error names the address once and the cause.
func TestDialErrorNamesAddressOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more
	db, err := sql.Open("rawmysql", "root@tcp("+addr+")/test?timeout=5s")
	require.NoError(t, err)
	defer db.Close()
	err = db.Ping()
	require.Error(t, err)
	require.Equal(t, 1, strings.Count(err.Error(), addr), err.Error())
	require.Contains(t, err.Error(), "connection refused")
}
