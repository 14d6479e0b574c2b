package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	t.Parallel()
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
