package rawmysql

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawConn runs fn with the driver connection of one pooled connection of db.
func rawConn(t *testing.T, db *sql.DB, fn func(c *conn)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := db.Conn(ctx)
	require.NoError(t, err)
	defer sc.Close()
	require.NoError(t, sc.Raw(func(dc any) error {
		fn(dc.(*conn))
		return nil
	}))
}

func TestUnixSocket(t *testing.T) {
	srv := testserver.Get(t)
	db, err := sql.Open("rawmysql", srv.SocketDSN(t, ""))
	require.NoError(t, err)
	defer db.Close()
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
	rawConn(t, db, func(c *conn) {
		assert.Equal(t, "unix", c.pc.NetConn().RemoteAddr().Network())
	})
}

func TestIPv6(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second server")
	}
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	ln.Close()
	srv := testserver.StartPrivate(t, "--bind-address=127.0.0.1,::1")
	if srv.CAFile == "" {
		t.Skip("needs a private server")
	}
	_, err = srv.Exec("CREATE USER IF NOT EXISTS 'root'@'::1'; GRANT ALL ON *.* TO 'root'@'::1'")
	require.NoError(t, err)
	_, port, err := net.SplitHostPort(srv.Addr)
	require.NoError(t, err)
	for _, params := range []string{"tls=false", "tls=true&tls-ca=" + srv.CAFile} {
		t.Run("params="+params, func(t *testing.T) {
			dsn := "root@tcp([::1]:" + port + ")/test"
			if params != "" {
				dsn += "?" + params
			}
			cfg := mustParse(t, dsn)
			if cfg.TLS != nil {
				assert.Equal(t, "::1", cfg.TLS.ServerName, "ServerName is the IPv6 address without brackets")
			}
			db := sql.OpenDB(mustConnector(t, cfg))
			defer db.Close()
			var host string
			require.NoError(t, db.QueryRow("SELECT SUBSTRING_INDEX(USER(), '@', -1)").Scan(&host))
			assert.Equal(t, "::1", host, "the server saw an IPv6 client")
			rawConn(t, db, func(c *conn) {
				assert.Equal(t, params != "tls=false", c.pc.TLS())
			})
		})
	}
}

func mustConnector(t *testing.T, cfg *Config) *Connector {
	t.Helper()
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	return c
}

// countingDialer dials TCP and counts its calls.
type countingDialer struct{ n atomic.Int64 }

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.n.Add(1)
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestCustomDialers(t *testing.T) {
	srv := testserver.Get(t)

	t.Run("RegisterDialContext", func(t *testing.T) {
		var d countingDialer
		RegisterDialContext("rmcounting", func(ctx context.Context, addr string) (net.Conn, error) {
			return d.dial(ctx, "tcp", addr)
		})
		defer DeregisterDialContext("rmcounting")
		cfg := mustParse(t, srv.DSN(""))
		cfg.Net = "rmcounting"
		db := sql.OpenDB(mustConnector(t, cfg))
		defer db.Close()
		db.SetMaxIdleConns(0)
		for i := 0; i < 3; i++ {
			require.NoError(t, db.Ping())
		}
		assert.Equal(t, int64(3), d.n.Load(), "one dial per new connection")
	})

	t.Run("Config.DialFunc takes precedence", func(t *testing.T) {
		var reg, own countingDialer
		RegisterDialContext("tcp", func(ctx context.Context, addr string) (net.Conn, error) {
			return reg.dial(ctx, "tcp", addr)
		})
		defer DeregisterDialContext("tcp")
		cfg := mustParse(t, srv.DSN(""))
		cfg.DialFunc = own.dial
		db := sql.OpenDB(mustConnector(t, cfg))
		defer db.Close()
		require.NoError(t, db.Ping())
		assert.Equal(t, int64(1), own.n.Load())
		assert.Equal(t, int64(0), reg.n.Load())
	})

	t.Run("dial error is reported", func(t *testing.T) {
		cfg := mustParse(t, srv.DSN(""))
		boom := errors.New("no route to the bastion")
		cfg.DialFunc = func(context.Context, string, string) (net.Conn, error) { return nil, boom }
		db := sql.OpenDB(mustConnector(t, cfg))
		defer db.Close()
		require.ErrorIs(t, db.Ping(), boom)
	})
}

func TestTCPKeepAlive(t *testing.T) {
	srv := testserver.Get(t)
	db, err := sql.Open("rawmysql", srv.DSN("tls=false")) // the *net.TCPConn itself, not a TLS wrapper
	require.NoError(t, err)
	defer db.Close()
	rawConn(t, db, func(c *conn) {
		tc, ok := c.pc.NetConn().(*net.TCPConn)
		require.True(t, ok, "plain TCP connection")
		sc, err := tc.SyscallConn()
		require.NoError(t, err)
		var on int
		var serr error
		require.NoError(t, sc.Control(func(fd uintptr) {
			on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}))
		require.NoError(t, serr)
		assert.NotZero(t, on, "SO_KEEPALIVE is set")
	})
}

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
