package rawmysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rawmysql/rawmysql/internal/dsnparse"
	"github.com/rawmysql/rawmysql/protocol"
)

// Several hosts.
//
// A DSN may name several TCP servers, tcp(h1:3306,h2:3306,h3) (a host without a port gets 3306); Config.Addrs
// holds them. Each new connection walks the hosts in the order of the loadBalance strategy and stops at the
// first one that can be used. Only failures to reach a host move on to the next one: a dial error or timeout,
// a connection refused or reset, a server that is shutting down, has too many connections, blocks the client
// host, or is a Galera node that is not ready (see target.go). Anything else — wrong credentials, an unknown
// database, a TLS verification failure — is returned at once, because the next host would answer the same.
// When every host fails, the error is a *HostsError naming each host with its failure.
//
// A host that could not be reached is in backoff for Config.HostBackoff: later connections try it only after
// every host outside backoff failed (or did not have the wanted role), so a dead host is not dialled on every
// connect while a live one answers.

// Load-balancing strategies (Config.LoadBalance, DSN loadBalance).
const (
	// LoadBalanceFailover tries the hosts in the order written: every connection goes to the first host that
	// works (the default).
	LoadBalanceFailover = "failover"
	// LoadBalanceRandom tries the hosts in a new random order for each connection.
	LoadBalanceRandom = "random"
	// LoadBalanceRoundRobin starts each connection at the host after the one the previous connection started
	// at, so successive connections spread over the hosts in turn.
	LoadBalanceRoundRobin = "roundrobin"
	// LoadBalanceLeastConnections tries first the host with the fewest connections open through this
	// Connector (ties in round-robin order).
	LoadBalanceLeastConnections = "leastconnections"
)

// defaultHostBackoff is NewConfig's HostBackoff.
const defaultHostBackoff = 10 * time.Second

// HostsError is returned by a connect over several hosts when none could be used: it lists every host tried,
// in the order tried, with its failure.
type HostsError struct {
	Failures []HostFailure
}

// HostFailure is one host's failure in a HostsError.
type HostFailure struct {
	Addr string // host:port
	Err  error  // why the host was not used
}

// Error names every host and its failure.
func (e *HostsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rawmysql: no usable host among %d", len(e.Failures))
	for i, f := range e.Failures {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Addr)
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(f.Err.Error(), "rawmysql: "))
	}
	return b.String()
}

// Unwrap returns the failures of every host, so errors.Is and errors.As look into them.
func (e *HostsError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// hostSet is the state a Connector keeps about its hosts: backoff and open connections per address, and the
// round-robin position. Connectors made for one connect (BeforeConnect, one per host) share their parent's.
type hostSet struct {
	mu    sync.Mutex
	hosts map[string]*hostState
	next  atomic.Uint64 // round-robin position

	// cfgs caches a per-host Config for each address of the Connector's own Config (not for a Config changed
	// by BeforeConnect, which is built per connect).
	cfgMu sync.Mutex
	cfgs  map[string]*Connector
}

// hostState is what is known about one address.
type hostState struct {
	open         atomic.Int64 // connections of this Connector open on the host
	backoffUntil atomic.Int64 // unix nanoseconds; the host is in backoff before it
}

func newHostSet() *hostSet {
	return &hostSet{hosts: make(map[string]*hostState), cfgs: make(map[string]*Connector)}
}

// state returns the state of addr, creating it.
func (s *hostSet) state(addr string) *hostState {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hosts[addr]
	if h == nil {
		h = &hostState{}
		s.hosts[addr] = h
	}
	return h
}

// order returns the addresses in the order a new connection tries them.
func (s *hostSet) order(strategy string, addrs []string) []string {
	out := slices.Clone(addrs)
	switch strategy {
	case LoadBalanceRandom:
		rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	case LoadBalanceRoundRobin:
		rotate(out, int((s.next.Add(1)-1)%uint64(len(out))))
	case LoadBalanceLeastConnections:
		rotate(out, int((s.next.Add(1)-1)%uint64(len(out))))
		open := make(map[string]int64, len(out))
		for _, a := range out {
			open[a] = s.state(a).open.Load()
		}
		slices.SortStableFunc(out, func(a, b string) int {
			switch {
			case open[a] < open[b]:
				return -1
			case open[a] > open[b]:
				return 1
			}
			return 0
		})
	}
	return out
}

// rotate moves the first k elements of s to its end.
func rotate[T any](s []T, k int) {
	if k <= 0 || k >= len(s) {
		return
	}
	slices.Reverse(s[:k])
	slices.Reverse(s[k:])
	slices.Reverse(s)
}

// hostConnector returns a Connector for one address of c's host list: c's Config with Addr set to it (and a
// TLS ServerName of its host when the server is verified), sharing c's statement budget, KILL side
// connections and host state.
func (c *Connector) hostConnector(addr string, cached bool) *Connector {
	if cached {
		c.hosts.cfgMu.Lock()
		defer c.hosts.cfgMu.Unlock()
		if hc := c.hosts.cfgs[addr]; hc != nil {
			return hc
		}
	}
	cfg := c.cfg.Clone()
	cfg.Addr = addr // Addrs stays: the connection reads its server's role (target.go)
	if cfg.TLS != nil && !cfg.TLS.InsecureSkipVerify && cfg.TLS.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.TLS.ServerName = host
		}
	}
	// Every dial failure is a failure to reach the host, whatever dialer returned it.
	orig := c.cfg
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&Connector{cfg: orig}).dialAddr(ctx, network, addr)
		if err != nil {
			return nil, &dialError{err}
		}
		return nc, nil
	}
	hc := &Connector{cfg: cfg, stmtBudget: c.stmtBudget, side: c.side, hosts: c.hosts}
	if cached {
		c.hosts.cfgs[addr] = hc
	}
	return hc
}

// connectHosts opens a connection on one of several hosts (Config.Addrs), by the loadBalance strategy, the
// host backoff and the target server. cached tells whether c is the Connector of the pool (its per-host
// Configs can be kept) rather than one made for a single connect by BeforeConnect.
func (c *Connector) connectHosts(ctx context.Context, cached bool) (driver.Conn, error) {
	cfg := c.cfg
	order := c.hosts.order(cfg.LoadBalance, cfg.Addrs)
	now := time.Now().UnixNano()
	var ready, waiting []string
	for _, a := range order {
		if cfg.HostBackoff > 0 && c.hosts.state(a).backoffUntil.Load() > now {
			waiting = append(waiting, a)
		} else {
			ready = append(ready, a)
		}
	}
	var (
		failures []HostFailure
		fallback *conn // prefer*: the first connection of the other kind
	)
	for _, a := range append(ready, waiting...) {
		if err := ctx.Err(); err != nil {
			if fallback != nil {
				fallback.Close()
			}
			return nil, err
		}
		mc, err := c.connectHost(ctx, a, cached)
		if err != nil {
			if ctx.Err() != nil || !unreachable(err) {
				if fallback != nil {
					fallback.Close()
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
			if cfg.HostBackoff > 0 {
				c.hosts.state(a).backoffUntil.Store(time.Now().Add(cfg.HostBackoff).UnixNano())
			}
			failures = append(failures, HostFailure{Addr: a, Err: err})
			continue
		}
		c.hosts.state(a).backoffUntil.Store(0)
		switch fit := targetFits(cfg.TargetServer, mc.role.readOnly); {
		case fit == fitYes:
			if fallback != nil {
				fallback.Close()
			}
			return mc, nil
		case fit == fitFallback && fallback == nil:
			fallback = mc
		case fit == fitFallback:
			mc.Close()
		default:
			mc.Close()
			failures = append(failures, HostFailure{Addr: a, Err: roleMismatch(cfg.TargetServer, mc.role.readOnly)})
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return nil, &HostsError{Failures: failures}
}

// connectHost opens a connection on addr and counts it as open on that host until it is closed.
func (c *Connector) connectHost(ctx context.Context, addr string, cached bool) (*conn, error) {
	hc := c.hostConnector(addr, cached)
	dc, err := hc.connectOne(ctx)
	if err != nil {
		return nil, err
	}
	mc := dc.(*conn)
	h := c.hosts.state(addr)
	h.open.Add(1)
	mc.role.host = h
	return mc, nil
}

// dialAddr dials addr as Connector.dial dials cfg.Addr: Config.DialFunc, a dialer registered for the
// network, or net.Dialer.
func (c *Connector) dialAddr(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.cfg.DialFunc != nil {
		return c.cfg.DialFunc(ctx, network, addr)
	}
	if dial := getDialContext(network); dial != nil {
		return dial(ctx, addr)
	}
	nd := net.Dialer{KeepAlive: 30 * time.Second}
	return nd.DialContext(ctx, network, addr)
}

// dialError marks a failure to dial a host (the dialer's error is kept as it is).
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// releaseHost is called when a connection closes: its host has one open connection less.
func (c *conn) releaseHost() {
	if h := c.role.host; h != nil {
		c.role.host = nil
		h.open.Add(-1)
	}
}

// Server errors that mean the host cannot take a connection now (another host may).
const (
	erUnknownCom        = 1047 // Galera: "WSREP has not yet prepared node for application use"
	erConCount          = 1040 // too many connections
	erServerShutdown    = 1053
	erHostIsBlocked     = 1129
	erTooManyUserConns  = 1203
	erConnectionKilled  = 1927 // MariaDB
	erServerOfflineMode = 3032 // MySQL offline_mode
	erSessionWasKilled  = 3169 // MySQL
)

// unreachable reports whether err means the host could not be reached or cannot serve now, so that the next
// host is tried. Errors about the client's own settings (credentials, database, TLS verification) are not.
func unreachable(err error) bool {
	var gne *galeraNotReadyError
	var de *dialError
	if errors.As(err, &gne) || errors.As(err, &de) {
		return true
	}
	// The server answered with an error.
	if n, ok := errNumber(err); ok {
		switch n {
		case erUnknownCom, erConCount, erServerShutdown, erHostIsBlocked, erTooManyUserConns, erConnectionKilled,
			erServerOfflineMode, erSessionWasKilled:
			return true
		}
		return false
	}
	// TLS: a certificate that does not verify, or a server without TLS when TLS is required, is a setting.
	var (
		uae   x509.UnknownAuthorityError
		he    x509.HostnameError
		cie   x509.CertificateInvalidError
		cve   *tls.CertificateVerificationError
		rhe   tls.RecordHeaderError
		alert tls.AlertError
		tue   *protocol.TLSUnavailableError
	)
	if errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie) || errors.As(err, &cve) ||
		errors.As(err, &rhe) || errors.As(err, &alert) || errors.As(err, &tue) {
		return false
	}
	var ne net.Error
	var ioe *protocol.IOError
	switch {
	case errors.As(err, &ne), errors.As(err, &ioe):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	return false
}

// errNumber returns the server error number in err's chain.
func errNumber(err error) (uint16, bool) {
	var se *protocol.ServerError
	if errors.As(err, &se) {
		return se.Number, true
	}
	var me *MySQLError
	if errors.As(err, &me) {
		return me.Number, true
	}
	return 0, false
}

// normalizeHosts splits a TCP Addr holding several comma-separated hosts into Addrs, adds the default port to
// each host, and keeps Addr equal to the first one. A list of one host is kept in Addr alone.
func (c *Config) normalizeHosts(prefix string) error {
	if len(c.Addrs) == 0 && strings.IndexByte(c.Addr, ',') >= 0 {
		c.Addrs = strings.Split(c.Addr, ",")
	}
	if len(c.Addrs) > 0 {
		addrs := make([]string, len(c.Addrs))
		for i, a := range c.Addrs {
			a = strings.TrimSpace(a)
			if a == "" {
				return errors.New(prefix + "empty host in the host list")
			}
			full, ok := dsnparse.WithDefaultPort(a)
			if !ok {
				return fmt.Errorf("%sinvalid TCP address %q in the host list (want host, host:port, IPv6 or [IPv6]:port)", prefix, a)
			}
			addrs[i] = full
		}
		c.Addrs, c.Addr = addrs, addrs[0]
		if len(addrs) == 1 {
			c.Addrs = nil
		}
		return nil
	}
	if c.Addr == "" {
		c.Addr = dsnparse.DefaultAddr(c.Net)
	}
	addr, ok := dsnparse.WithDefaultPort(c.Addr)
	if !ok {
		return errors.New(prefix + "invalid TCP address (want host, host:port, IPv6 or [IPv6]:port)")
	}
	c.Addr = addr
	return nil
}

// normalizeHA checks the availability settings: strategy, target server, durations.
func (c *Config) normalizeHA(prefix string) error {
	if len(c.Addrs) > 0 && c.Net != "tcp" && c.Net != "tcp4" && c.Net != "tcp6" {
		return fmt.Errorf("%sseveral hosts need a TCP network, not %q", prefix, c.Net)
	}
	switch c.LoadBalance {
	case "":
		c.LoadBalance = LoadBalanceFailover
	case LoadBalanceFailover, LoadBalanceRandom, LoadBalanceRoundRobin, LoadBalanceLeastConnections:
	default:
		return fmt.Errorf("%sloadBalance: unknown strategy %q (want failover, random, roundrobin or leastconnections)", prefix, c.LoadBalance)
	}
	switch c.TargetServer {
	case "":
		c.TargetServer = TargetAny
	case TargetAny, TargetPrimary, TargetReplica, TargetPreferReplica, TargetPreferPrimary:
	default:
		return fmt.Errorf("%stargetServer: unknown target %q (want any, primary, replica, preferReplica or preferPrimary)", prefix, c.TargetServer)
	}
	if c.HostBackoff < 0 {
		return fmt.Errorf("%shostBackoff: negative duration %s", prefix, c.HostBackoff)
	}
	if c.TargetRecheck < 0 {
		return fmt.Errorf("%stargetRecheck: negative duration %s", prefix, c.TargetRecheck)
	}
	return nil
}

// hostList is the network address as written in a DSN: the hosts joined by commas, or Addr.
func (c *Config) hostList() string {
	if len(c.Addrs) > 1 {
		return strings.Join(c.Addrs, ",")
	}
	return c.Addr
}

// enumParam is a string parameter whose value is one of a fixed set (checked by normalize); empty and def are
// the default.
func enumParam(field func(*Config) *string, def string) dsnParam {
	p := stringParam(field, def)
	p.format = func(c *Config) (string, bool) {
		s := *field(c)
		return s, s != "" && s != def
	}
	return p
}

// defaultDurationParam is a duration parameter with a non-zero default.
func defaultDurationParam(field func(*Config) *time.Duration, def time.Duration) dsnParam {
	p := durationParam(field)
	p.format = func(c *Config) (string, bool) {
		d := *field(c)
		return d.String(), d != def
	}
	return p
}

func init() {
	dsnParams["loadBalance"] = enumParam(func(c *Config) *string { return &c.LoadBalance }, LoadBalanceFailover)
	dsnParams["targetServer"] = enumParam(func(c *Config) *string { return &c.TargetServer }, TargetAny)
	dsnParams["hostBackoff"] = defaultDurationParam(func(c *Config) *time.Duration { return &c.HostBackoff }, defaultHostBackoff)
	dsnParams["targetRecheck"] = defaultDurationParam(func(c *Config) *time.Duration { return &c.TargetRecheck }, defaultTargetRecheck)
}
