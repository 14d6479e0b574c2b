package rawmysql

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/rawmysql/rawmysql/internal/stmtcache"
	"github.com/rawmysql/rawmysql/protocol"
)

// Connector opens connections with a fixed Config. Use it with sql.OpenDB:
//
//	cfg := rawmysql.NewConfig()
//	cfg.User, cfg.Addr, cfg.DBName = "app", "db.internal:3306", "shop"
//	connector, err := rawmysql.NewConnector(cfg)
//	db := sql.OpenDB(connector)
type Connector struct {
	cfg *Config
	// stmtBudget bounds the statements cached by all connections of this Connector (Config.StmtCacheTotal).
	stmtBudget *stmtBudget
	side       *sidePool // idle KILL side connections (cancel.go)
	// spares holds connections recycled after a cancelled command (spare.go); nil with a BeforeConnect hook.
	spares *sparePool
	hosts  *hostSet // per-host backoff and open connections (hosts.go)
	// ownWatermark is the GTID watermark of this Connector's connections when Config.GTIDWatermark is nil.
	ownWatermark *GTIDWatermark
}

// Close closes the idle KILL side connections and the spare connections; database/sql calls it from
// DB.Close. Connections opened by the Connector are closed by database/sql itself.
func (c *Connector) Close() error {
	c.side.close()
	if c.spares != nil {
		c.spares.close()
	}
	return nil
}

// NewConnector validates cfg and returns a Connector holding a private copy of it.
func NewConnector(cfg *Config) (*Connector, error) {
	c := cfg.Clone()
	if err := c.normalize(); err != nil {
		return nil, err
	}
	return newConnector(c), nil
}

func newConnector(cfg *Config) *Connector {
	return &Connector{cfg: cfg, stmtBudget: stmtcache.NewBudget(cfg.StmtCacheTotal), side: &sidePool{}, spares: &sparePool{},
		hosts: newHostSet(), ownWatermark: NewGTIDWatermark()}
}

// Driver returns the rawmysql Driver.
func (c *Connector) Driver() driver.Driver { return &Driver{} }

// connect does the work of Connect.
func (c *Connector) connect(ctx context.Context) (driver.Conn, error) {
	cached := true
	if c.cfg.beforeConnect != nil {
		hc, err := c.runBeforeConnect(ctx)
		if err != nil {
			return nil, err
		}
		c = hc // this connection (and its KILL QUERY side connection) uses the hook's Config
		cached = false
	}
	if len(c.cfg.Addrs) > 1 {
		return c.connectHosts(ctx, cached)
	}
	var dc driver.Conn
	if sc := c.takeSpare(ctx, cached); sc != nil {
		dc = sc // a connection recycled after a cancel, proven clean (spare.go)
	} else {
		var err error
		if dc, err = c.connectOne(ctx); err != nil {
			return nil, err
		}
	}
	if err := dc.(*conn).checkSingleTarget(); err != nil {
		dc.Close()
		return nil, err
	}
	return dc, nil
}

// connectOne opens a connection to c.cfg.Addr.
func (c *Connector) connectOne(ctx context.Context) (driver.Conn, error) {
	cfg := c.cfg
	caller := ctx // the caller's context: when it ends the connect, its error is returned as is
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	nc, err := c.dial(ctx)
	if err != nil {
		// Not driver.ErrBadConn: database/sql would dial twice more to the same address. The dialer's own
		// error is returned as it is, as go-sql-driver does (code compares it; a *net.OpError names the
		// address); only the DSN's timeout gets the address added.
		if err := caller.Err(); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("rawmysql: dial %s %s: timeout=%v: %w", cfg.Net, cfg.Addr, cfg.Timeout, ctx.Err())
		}
		return nil, err
	}
	opts, err := c.options()
	if err != nil {
		nc.Close()
		return nil, err
	}
	pc, err := protocol.Connect(ctx, nc, opts)
	if err != nil {
		return nil, driverErr(c.connectErr(caller, ctx, "handshake", err))
	}
	mc := newConn(pc, cfg, c.stmtBudget)
	if err := mc.setupGTID(c); err != nil {
		pc.Close()
		return nil, err
	}
	if err := mc.setupSession(ctx); err != nil {
		pc.Close()
		if se := serverError(err); se != nil && se.Number == protocol.ErMustChangePassword {
			// The server let an expired account in "sandbox mode" (MariaDB's default): say so.
			return nil, driverErr(&protocol.ExpiredPasswordError{User: cfg.User, Err: se.protocolError()})
		}
		return nil, c.connectErr(caller, ctx, "session setup", err)
	}
	if err := mc.setupCancel(ctx, c); err != nil {
		pc.Close()
		return nil, c.connectErr(caller, ctx, "session setup", err)
	}
	return mc, nil
}

// runBeforeConnect runs the BeforeConnect hook on a copy of the Config and returns a Connector for the result.
func (c *Connector) runBeforeConnect(ctx context.Context) (*Connector, error) {
	cfg := c.cfg.Clone()
	if err := c.cfg.beforeConnect(ctx, cfg); err != nil {
		return nil, err
	}
	if err := cfg.normalizeWith("rawmysql: BeforeConnect left an invalid config: "); err != nil {
		return nil, err
	}
	// The connection still belongs to this Connector's pool: it shares the pool-wide statement budget and
	// the idle KILL side connections (closed by DB.Close through this Connector).
	return &Connector{cfg: cfg, stmtBudget: c.stmtBudget, side: c.side, hosts: c.hosts, ownWatermark: c.ownWatermark}, nil
}

// connectErr names the address in an error of the connection phase. When the caller's context ended it, that
// context's error is returned as it is (what database/sql and go-sql-driver return); when the DSN's timeout
// (ctx, derived from caller) ended it, the error names the address and wraps context.DeadlineExceeded.
func (c *Connector) connectErr(caller, ctx context.Context, phase string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if serverError(err) == nil {
		if cerr := caller.Err(); cerr != nil {
			return cerr
		}
		err = ctx.Err()
	}
	return fmt.Errorf("rawmysql: %s with %s %s: %w", phase, c.cfg.Net, c.cfg.Addr, err)
}

func (c *Connector) dial(ctx context.Context) (net.Conn, error) {
	cfg := c.cfg
	if cfg.DialFunc != nil {
		return cfg.DialFunc(ctx, cfg.Net, cfg.Addr)
	}
	if dial := getDialContext(cfg.Net); dial != nil {
		return dial(ctx, cfg.Addr)
	}
	nd := net.Dialer{KeepAlive: 30 * time.Second}
	nc, err := nd.DialContext(ctx, cfg.Net, cfg.Addr)
	if err != nil {
		return nil, err
	}
	return nc, nil
}

func (c *Connector) options() (protocol.Options, error) {
	cfg := c.cfg
	coll, ok := protocol.CollationID(cfg.Collation)
	if !ok {
		return protocol.Options{}, fmt.Errorf("rawmysql: unknown collation %q", cfg.Collation)
	}
	opts := protocol.Options{
		User:                    cfg.User,
		Password:                cfg.Passwd,
		Database:                cfg.DBName,
		Collation:               coll,
		MaxPacketSize:           cfg.MaxAllowedPacket,
		ClientFoundRows:         cfg.ClientFoundRows,
		MultiStatements:         cfg.MultiStatements,
		TLS:                     cfg.TLS,
		TLSPreferred:            cfg.AllowFallbackToPlaintext,
		Unix:                    cfg.Net == "unix",
		AllowNativePasswords:    cfg.AllowNativePasswords,
		AllowCleartextPasswords: cfg.AllowCleartextPasswords,
		AllowPublicKeyRetrieval: cfg.AllowPublicKeyRetrieval,
		Compress:                cfg.Compress,
		MaxReadPacket:           cfg.MaxAllowedPacket,
		ReadTimeout:             cfg.ReadTimeout,
		WriteTimeout:            cfg.WriteTimeout,
		Trace:                   cfg.PacketTrace,
	}
	if opportunisticTLS(cfg) {
		// No tls parameter: encrypt whenever the server offers TLS (MySQL clients' ssl-mode=PREFERRED), so
		// caching_sha2_password's full authentication never sends the password readable; servers without
		// TLS are still reached in plaintext. tls=false turns this off, tls=true also verifies the server.
		opts.TLS = &tls.Config{InsecureSkipVerify: true}
		opts.TLSPreferred = true
	}
	if cfg.MaxAllowedPacket == 0 {
		opts.MaxPacketSize = 64 << 20 // until the server's value is read
	}
	if cfg.Net != "unix" {
		if host, _, err := net.SplitHostPort(cfg.Addr); err == nil {
			opts.ServerHost = host
		}
	}
	opts.ServerPubKey = cfg.pubKey // resolved by normalize: deregistering the name later does not matter
	attrs, err := parseConnectionAttributes(cfg.ConnectionAttributes)
	if err != nil {
		return opts, err
	}
	opts.Attributes = attrs
	return opts, nil
}

// parseConnectionAttributes parses "key:value,key2:value2".
func parseConnectionAttributes(s string) ([][2]string, error) {
	if s == "" {
		return nil, nil
	}
	var out [][2]string
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("rawmysql: invalid connectionAttributes entry %q: want key:value", kv)
		}
		out = append(out, [2]string{k, strings.TrimSpace(v)})
	}
	return out, nil
}

// opportunisticTLS reports whether a connection of cfg tries TLS without requiring it: the default for TCP
// when neither a tls parameter nor a TLS configuration is given.
func opportunisticTLS(cfg *Config) bool {
	return cfg.TLS == nil && cfg.TLSConfig == "" && cfg.Net != "unix"
}

// Connect dials the server, runs the handshake and authentication, and applies the session settings of the
// Config. Config.Timeout bounds all of it together; ctx may end it earlier. A ConnectTracer in Config.Tracer
// sees the attempt and its outcome, Config.Logger logs it.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	cfg := c.cfg
	ct, _ := cfg.Tracer.(ConnectTracer)
	if ct == nil && cfg.Logger == nil {
		return c.connect(ctx)
	}
	start := time.Now()
	if ct != nil {
		ctx = ct.TraceConnectStart(ctx, TraceConnectStartData{Net: cfg.Net, Addr: cfg.Addr, User: cfg.User, DBName: cfg.DBName})
	}
	dc, err := c.connect(ctx)
	end := TraceConnectEndData{Net: cfg.Net, Addr: cfg.Addr, Duration: time.Since(start), Err: err}
	if mc, ok := dc.(*conn); ok {
		end.ConnectionID, end.ServerVersion, end.TLS = mc.pc.ConnectionID(), mc.pc.ServerVersion(), mc.pc.TLS()
	}
	if ct != nil {
		ct.TraceConnectEnd(ctx, end)
	}
	if l := cfg.Logger; l != nil {
		if err != nil {
			l.LogAttrs(ctx, slog.LevelWarn, "rawmysql: connect failed", slog.String("net", cfg.Net), slog.String("addr", cfg.Addr),
				slog.String("user", cfg.User), slog.Duration("duration", end.Duration), slog.Bool("retryable", errors.Is(err, driver.ErrBadConn)),
				slog.String("error", err.Error()))
		} else {
			l.LogAttrs(ctx, slog.LevelDebug, "rawmysql: connected", slog.String("net", cfg.Net), slog.String("addr", cfg.Addr),
				slog.String("user", cfg.User), slog.String("server", end.ServerVersion), slog.Uint64("connection_id", uint64(end.ConnectionID)),
				slog.Bool("tls", end.TLS), slog.Duration("duration", end.Duration))
		}
	}
	return dc, err
}
