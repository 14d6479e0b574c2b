package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostRouter is a DialFunc that sends made-up host names to real addresses (the test server, or a closed
// loopback port) and counts the dials per host name.
type hostRouter struct {
	mu     sync.Mutex
	routes map[string]string
	dials  map[string]int
}

func newHostRouter() *hostRouter {
	return &hostRouter{routes: map[string]string{}, dials: map[string]int{}}
}

func (r *hostRouter) route(host, to string) { r.mu.Lock(); r.routes[host] = to; r.mu.Unlock() }

func (r *hostRouter) count(host string) int { r.mu.Lock(); defer r.mu.Unlock(); return r.dials[host] }

func (r *hostRouter) reset() { r.mu.Lock(); r.dials = map[string]int{}; r.mu.Unlock() }

func (r *hostRouter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	r.mu.Lock()
	r.dials[addr]++
	to, ok := r.routes[addr]
	r.mu.Unlock()
	if !ok {
		return nil, errors.New("hostRouter: no route to " + addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

// deadAddr returns a loopback address where nothing listens (connection refused).
func deadAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// hostsConnector returns a Connector for the test server's DSN with the given hosts (routed by r) and params.
func hostsConnector(t testing.TB, r *hostRouter, hosts []string, params string) *Connector {
	t.Helper()
	srv := testserver.Get(t)
	if srv.Addr == "" {
		t.Skip("the test server is known only by its unix socket; several hosts need TCP")
	}
	cfg, err := ParseDSN(srv.DSN(joinParams(params, extraTestParams)))
	require.NoError(t, err)
	cfg.Addrs = hosts
	cfg.DialFunc = r.dial
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestHostsFirstDown: the first host refuses connections; the second serves. The dead host is dialled once,
// then skipped during its backoff; without backoff it is dialled at every connect.
func TestHostsFirstDown(t *testing.T) {
	srv := testserver.Get(t)
	r := newHostRouter()
	r.route("dead:3306", deadAddr(t))
	r.route("live:3306", srv.Addr)
	ctx := context.Background()

	c := hostsConnector(t, r, []string{"dead", "live"}, "hostBackoff=1h")
	for i := 0; i < 3; i++ {
		dc, err := c.Connect(ctx)
		require.NoError(t, err)
		require.NoError(t, dc.Close())
	}
	assert.Equal(t, 1, r.count("dead:3306"), "the dead host is dialled once, then in backoff")
	assert.Equal(t, 3, r.count("live:3306"))

	r.reset()
	c = hostsConnector(t, r, []string{"dead", "live"}, "hostBackoff=0")
	for i := 0; i < 3; i++ {
		dc, err := c.Connect(ctx)
		require.NoError(t, err)
		require.NoError(t, dc.Close())
	}
	assert.Equal(t, 3, r.count("dead:3306"), "no backoff: the dead host is tried first every time")
	assert.Equal(t, 3, r.count("live:3306"))
}

// TestHostsConnectTimeoutMovesOn: a host that accepts the TCP connection but never greets (a hung server) is
// left when the DSN's timeout ends, and the next host serves.
func TestHostsConnectTimeoutMovesOn(t *testing.T) {
	srv := testserver.Get(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	r := newHostRouter()
	r.route("hung:3306", l.Addr().String())
	r.route("live:3306", srv.Addr)
	c := hostsConnector(t, r, []string{"hung", "live"}, "timeout=500ms")
	dc, err := c.Connect(context.Background())
	require.NoError(t, err)
	require.NoError(t, dc.Close())
	assert.Equal(t, "live:3306", dc.(*conn).cfg.Addr)
	assert.Equal(t, 1, r.count("hung:3306"))
	assert.Equal(t, 1, r.count("live:3306"))
}

// TestHostsAllInBackoff: when every host is in backoff they are still tried (a host that came back is found).
func TestHostsAllInBackoff(t *testing.T) {
	srv := testserver.Get(t)
	r := newHostRouter()
	dead := deadAddr(t)
	r.route("a:3306", dead)
	r.route("b:3306", dead)
	c := hostsConnector(t, r, []string{"a", "b"}, "hostBackoff=1h")
	_, err := c.Connect(context.Background())
	require.Error(t, err)

	r.route("b:3306", srv.Addr) // b is back, both are in backoff
	dc, err := c.Connect(context.Background())
	require.NoError(t, err)
	require.NoError(t, dc.Close())
	assert.Equal(t, 2, r.count("a:3306"))
	assert.Equal(t, 2, r.count("b:3306"))
}

// TestHostsWrongPasswordStopsAtFirst: a login refused for bad credentials is returned at once; the other host
// is never dialled.
func TestHostsWrongPasswordStopsAtFirst(t *testing.T) {
	srv := testserver.Get(t)
	r := newHostRouter()
	r.route("one:3306", srv.Addr)
	r.route("two:3306", srv.Addr)
	c := hostsConnector(t, r, []string{"one", "two"}, "")
	c.cfg.Passwd = "certainly-not-the-password"
	_, err := c.Connect(context.Background())
	require.Error(t, err)
	var me *MySQLError
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, uint16(1045), me.Number)
	var he *HostsError
	assert.False(t, errors.As(err, &he), "not a per-host list: %v", err)
	assert.Equal(t, 1, r.count("one:3306"))
	assert.Equal(t, 0, r.count("two:3306"))

	// An unknown database stops at once too.
	c = hostsConnector(t, r, []string{"one", "two"}, "")
	r.reset()
	c.cfg.DBName = "no_such_database_here"
	_, err = c.Connect(context.Background())
	require.True(t, errors.As(err, &me), "%v", err)
	assert.Equal(t, uint16(1049), me.Number)
	assert.Equal(t, 0, r.count("two:3306"))
}

// TestHostsTLSVerifyStopsAtFirst: a server certificate that does not verify (tls=true without the test CA)
// is a setting, not an unreachable host: the next host is not tried.
func TestHostsTLSVerifyStopsAtFirst(t *testing.T) {
	srv := testserver.Get(t)
	r := newHostRouter()
	r.route("one:3306", srv.Addr)
	r.route("two:3306", srv.Addr)
	c := hostsConnector(t, r, []string{"one", "two"}, "tls=true")
	_, err := c.Connect(context.Background())
	require.Error(t, err)
	var he *HostsError
	assert.False(t, errors.As(err, &he), "%v", err)
	assert.Equal(t, 1, r.count("one:3306"))
	assert.Equal(t, 0, r.count("two:3306"), "%v", err)
	t.Logf("%v", err)
}

// TestHostsAllDown: one error names every host and its failure.
func TestHostsAllDown(t *testing.T) {
	r := newHostRouter()
	r.route("x1:3306", deadAddr(t))
	r.route("x2:3306", deadAddr(t))
	// x3 has no route: the dialer itself fails.
	c := hostsConnector(t, r, []string{"x1", "x2", "x3"}, "")
	_, err := c.Connect(context.Background())
	require.Error(t, err)
	var he *HostsError
	require.True(t, errors.As(err, &he), "%v", err)
	require.Len(t, he.Failures, 3)
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "rawmysql: no usable host among 3: x1:3306: "), msg)
	assert.Contains(t, msg, "; x2:3306: ")
	assert.Contains(t, msg, "; x3:3306: hostRouter: no route to x3:3306")
	assert.Contains(t, msg, "connection refused")
	assert.NotErrorIs(t, err, driver.ErrBadConn)
}

// TestHostsStrategies: where successive connections go under each loadBalance strategy.
func TestHostsStrategies(t *testing.T) {
	srv := testserver.Get(t)
	r := newHostRouter()
	hosts := []string{"h1", "h2", "h3"}
	for _, h := range hosts {
		r.route(h+":3306", srv.Addr)
	}
	ctx := context.Background()
	connectN := func(c *Connector, n int) []driver.Conn {
		var out []driver.Conn
		for i := 0; i < n; i++ {
			dc, err := c.Connect(ctx)
			require.NoError(t, err)
			out = append(out, dc)
		}
		return out
	}
	closeAll := func(cs []driver.Conn) {
		for _, dc := range cs {
			dc.Close()
		}
	}

	t.Run("failover", func(t *testing.T) {
		r.reset()
		closeAll(connectN(hostsConnector(t, r, hosts, ""), 4))
		assert.Equal(t, 4, r.count("h1:3306"))
		assert.Equal(t, 0, r.count("h2:3306")+r.count("h3:3306"))
	})
	t.Run("roundrobin", func(t *testing.T) {
		r.reset()
		closeAll(connectN(hostsConnector(t, r, hosts, "loadBalance=roundrobin"), 6))
		for _, h := range hosts {
			assert.Equal(t, 2, r.count(h+":3306"), h)
		}
	})
	t.Run("random", func(t *testing.T) {
		r.reset()
		closeAll(connectN(hostsConnector(t, r, hosts, "loadBalance=random"), 60))
		for _, h := range hosts {
			// Each host is first in a third of the orders; missing one in 60 has probability 3·(2/3)^60 ≈ 1e-10.
			assert.Positive(t, r.count(h+":3306"), h)
		}
	})
	t.Run("leastconnections", func(t *testing.T) {
		r.reset()
		c := hostsConnector(t, r, hosts, "loadBalance=leastconnections")
		held := connectN(c, 3)
		for _, h := range hosts {
			assert.Equal(t, 1, r.count(h+":3306"), h)
		}
		// Close the connection on h2 (whichever it is): the next connection goes there.
		var onH2 driver.Conn
		for _, dc := range held {
			if dc.(*conn).cfg.Addr == "h2:3306" {
				onH2 = dc
			}
		}
		require.NotNil(t, onH2)
		require.NoError(t, onH2.Close())
		dc, err := c.Connect(ctx)
		require.NoError(t, err)
		assert.Equal(t, "h2:3306", dc.(*conn).cfg.Addr)
		assert.Equal(t, 2, r.count("h2:3306"))
		held = append(held, dc)
		closeAll(held)
		for _, h := range hosts {
			assert.Equal(t, int64(0), c.hosts.state(h+":3306").open.Load(), h)
		}
	})
}

// TestTargetServerNoExtraQuery: reading the server's role at connect costs no query of its own — the same
// number of COM_QUERY packets are sent at connect with targetServer=primary as with any.
func TestTargetServerNoExtraQuery(t *testing.T) {
	srv := testserver.Get(t)
	count := func(params string) int {
		cfg, err := ParseDSN(srv.DSN(joinParams(params, extraTestParams)))
		require.NoError(t, err)
		var mu sync.Mutex
		n := 0
		cfg.PacketTrace = func(dir byte, seq uint8, payload []byte) {
			if dir == '>' && seq == 0 && len(payload) > 0 && payload[0] == 0x03 {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}
		c, err := NewConnector(cfg)
		require.NoError(t, err)
		defer c.Close()
		dc, err := c.Connect(context.Background())
		require.NoError(t, err)
		require.True(t, dc.(*conn).role.checked == (params != ""), "role checked only with a target")
		require.NoError(t, dc.Close())
		mu.Lock()
		defer mu.Unlock()
		return n
	}
	any := count("")
	primary := count("targetServer=primary")
	assert.Equal(t, any, primary, "COM_QUERY packets at connect")
	assert.Positive(t, any)
}
