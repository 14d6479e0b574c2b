package rawmysql

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Config is the full configuration of a rawmysql connection. Create it with NewConfig (which sets the
// defaults) or ParseDSN; a Connector keeps a private copy, so changing a Config after NewConnector has no effect
// on it.
type Config struct {
	User   string // user name
	Passwd string // password (never printed in errors or logs)
	Net    string // "tcp", "tcp4", "tcp6", "unix", or a name registered with RegisterDialContext
	Addr   string // host:port for TCP, a path for unix
	DBName string // default database, may be empty

	// Addrs lists several TCP servers (host:port) that connections are spread over or fail over between (DSN
	// tcp(h1:3306,h2:3306,h3)); see LoadBalance. When it holds more than one address, normalize sets Addr to
	// the first; a list of one is moved to Addr. Empty: Addr is the only server.
	Addrs []string
	// LoadBalance is the order in which a new connection tries Addrs: "failover" (the default), "random",
	// "roundrobin" or "leastconnections" (the LoadBalance* constants).
	LoadBalance string
	// HostBackoff is how long a host that could not be reached is tried only after all others (default 10s,
	// 0: no backoff).
	HostBackoff time.Duration
	// TargetServer is the kind of server a connection must reach: "any" (the default), "primary", "replica",
	// "preferReplica" or "preferPrimary" (the Target* constants; see target.go).
	TargetServer string
	// TargetRecheck is how old a pooled connection's role check may be before ResetSession checks it again
	// (default 5s; 0: at every reuse). Used when TargetServer is not any or Addrs has several hosts.
	TargetRecheck time.Duration

	// Params are session system variables applied after connecting with SET (DSN keys this driver does not
	// know). Values are sent as written.
	Params map[string]string
	// ConnectionAttributes are extra connection attributes, "key:value,key2:value2" as in the DSN.
	ConnectionAttributes string

	Charset   string         // if set, "SET NAMES <Charset>" after connecting
	Collation string         // connection collation sent in the handshake (default utf8mb4_general_ci)
	Loc       *time.Location // location for DATETIME/TIMESTAMP values (default time.UTC)

	// MaxAllowedPacket is the largest packet the client sends or accepts (default 64 MiB); 0 asks the server's
	// max_allowed_packet after connecting.
	MaxAllowedPacket int

	ServerPubKey string      // name of a key registered with RegisterServerPubKey
	TLSConfig    string      // the DSN's tls value: "", "false", "true", "skip-verify", "preferred" or a registered name
	TLS          *tls.Config // TLS configuration to use; set by ParseDSN from TLSConfig or by the user
	TLSCA        string      // path of a PEM CA bundle to verify the server with (DSN tls-ca)
	TLSCert      string      // path of a PEM client certificate (DSN tls-cert)
	TLSKey       string      // path of the PEM key of TLSCert (DSN tls-key)

	Timeout      time.Duration // dial + handshake + auth timeout
	ReadTimeout  time.Duration // I/O read timeout
	WriteTimeout time.Duration // I/O write timeout
	TimeTruncate time.Duration // truncate time.Time arguments to this precision (0: no truncation)

	// Logger receives connection lifecycle events (Debug: connected, closed), failed connects, protocol errors
	// and broken connections that database/sql will retry elsewhere (Warn); nil logs nothing. Passwords are
	// never logged. No DSN form.
	Logger *slog.Logger
	// Tracer observes queries, execs, prepares and connects (see Tracer); nil traces nothing. No DSN form.
	Tracer Tracer
	// PacketTrace, when set, is called for every packet read ('<') or written ('>') with its sequence id and
	// payload (valid only during the call), on the goroutine using the connection. Payloads are passed as they
	// are, authentication data included: a tracer that prints them must mask it (cmd/rawmysql -trace does).
	// No DSN form.
	PacketTrace func(dir byte, seq uint8, payload []byte)
	// DialFunc, when set, dials the server instead of net.Dialer (takes precedence over RegisterDialContext).
	DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

	StmtCacheSize int // prepared statements cached per connection (default 64, 0 disables)
	// StmtCacheTotal bounds the statements cached by all connections of one Connector (one *sql.DB) together,
	// so that a pool never holds more than this many of the server's max_prepared_stmt_count (default 1000;
	// 0 = no pool-wide bound, only StmtCacheSize per connection).
	StmtCacheTotal int

	AllowAllFiles            bool // LOAD DATA LOCAL INFILE may read any file
	AllowCleartextPasswords  bool // allow mysql_clear_password
	AllowFallbackToPlaintext bool // tls=preferred: plaintext when the server has no TLS
	AllowNativePasswords     bool // allow mysql_native_password (default true)
	AllowOldPasswords        bool // allow the pre-4.1 mysql_old_password (always refused; kept for DSN compatibility)
	AllowPublicKeyRetrieval  bool // caching_sha2/sha256 may fetch the server's RSA key over an insecure channel
	CheckConnLiveness        bool // check the connection before reuse from the pool (default true)
	ClientFoundRows          bool // affected rows count found (matched) rows
	ColumnsWithAlias         bool // column names are "table.column"
	Compress                 bool // zlib protocol compression
	InterpolateParams        bool // interpolate arguments into the query text instead of preparing
	MultiStatements          bool // allow several statements in one query
	ParseTime                bool // DATE/DATETIME/TIMESTAMP become time.Time
	RejectReadOnly           bool // a read-only error (1290, 1792, 1836) closes the connection
	ResetSession             bool // send COM_RESET_CONNECTION when a connection is reused from the pool
	KillQueryOnCancel        bool // on context cancel, KILL QUERY through a side connection (default true)

	// Read-your-writes across replicas (see gtid.go and GTIDWatermark):
	TrackGTID         bool           // report each commit's GTID and advance the GTID watermark (DSN trackGTID)
	CausalReads       bool           // reads first wait until the server applied the watermark (DSN causalReads)
	CausalWaitTimeout time.Duration  // bound of that wait when the context allows more (default 10 s)
	GTIDWatermark     *GTIDWatermark // watermark shared between pools (DSN gtidWatermark=name); nil: the Connector's own

	// pubKey is the key registered under ServerPubKey, looked up by normalize (nil when ServerPubKey is empty).
	pubKey *rsa.PublicKey
	// beforeConnect runs before each new connection on a copy of the Config (the BeforeConnect option).
	beforeConnect func(context.Context, *Config) error
}

// Defaults of NewConfig and normalize.
const (
	defaultCollation        = "utf8mb4_general_ci"
	defaultMaxAllowedPacket = 64 << 20
	defaultStmtCacheSize    = 64
	defaultStmtCacheTotal   = 1000
	defaultPort             = "3306"
	defaultTCPAddr          = "127.0.0.1:" + defaultPort
	defaultTCP6Addr         = "[::1]:" + defaultPort
	defaultUnixAddr         = "/tmp/mysql.sock"

	// maxMaxAllowedPacket is the largest max_allowed_packet a server accepts (1 GiB).
	maxMaxAllowedPacket = 1 << 30
)

// NewConfig returns a Config with the defaults: Collation utf8mb4_general_ci, Loc time.UTC, MaxAllowedPacket
// 64 MiB, StmtCacheSize 64, StmtCacheTotal 1000, LoadBalance failover, HostBackoff 10s, TargetServer any,
// TargetRecheck 5s, and AllowNativePasswords, CheckConnLiveness and KillQueryOnCancel set. Net and Addr
// stay empty; a Connector uses "tcp" and 127.0.0.1:3306 ("/tmp/mysql.sock" for "unix") when they are.
func NewConfig() *Config {
	return &Config{
		Collation:            defaultCollation,
		Loc:                  time.UTC,
		MaxAllowedPacket:     defaultMaxAllowedPacket,
		StmtCacheSize:        defaultStmtCacheSize,
		StmtCacheTotal:       defaultStmtCacheTotal,
		AllowNativePasswords: true,
		CheckConnLiveness:    true,
		KillQueryOnCancel:    true,
		LoadBalance:          LoadBalanceFailover,
		HostBackoff:          defaultHostBackoff,
		TargetServer:         TargetAny,
		TargetRecheck:        defaultTargetRecheck,
	}
}

// Clone returns a deep copy of c: Params is copied and TLS is cloned with (*tls.Config).Clone. Loc, Logger,
// Tracer, PacketTrace and DialFunc are shared. Clone of nil is nil.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	cp := *c
	if c.Params != nil {
		cp.Params = maps.Clone(c.Params)
	}
	cp.Addrs = slices.Clone(c.Addrs)
	if c.TLS != nil {
		cp.TLS = c.TLS.Clone()
	}
	cp.pubKey = clonePublicKey(c.pubKey)
	return &cp
}

// normalize fills the defaults a Config may lack (Net, Addr, port, Loc, Collation), checks every field and
// resolves ServerPubKey and the TLS settings into the key and the *tls.Config to use. NewConnector calls it on
// its private copy. It is idempotent: a second call leaves the Config as the first one did.
func (c *Config) normalize() error {
	return c.normalizeWith(errPrefixConfig)
}

// normalizeWith is normalize with the prefix of its error messages.
func (c *Config) normalizeWith(prefix string) error {
	if c.Net == "" {
		c.Net = "tcp"
	}
	switch c.Net {
	case "tcp", "tcp4", "tcp6":
		if err := c.normalizeHosts(prefix); err != nil {
			return err
		}
	case "unix":
		if c.Addr == "" {
			c.Addr = defaultUnixAddr
		}
	default:
		if c.Addr == "" {
			return errors.New(prefix + "no default address for this network, write it as net(address)")
		}
	}

	if err := c.normalizeHA(prefix); err != nil {
		return err
	}

	if c.Loc == nil {
		c.Loc = time.UTC
	}

	if c.Collation == "" {
		c.Collation = defaultCollation
	}
	id, ok := protocol.CollationID(c.Collation)
	if !ok {
		return fmt.Errorf("%scollation: unknown collation %q", prefix, c.Collation)
	}
	if c.Charset != "" && !validCharsetList(c.Charset) {
		return fmt.Errorf("%scharset: invalid charset %q", prefix, c.Charset)
	}
	if c.InterpolateParams {
		if cs := protocol.CollationCharset(id); protocol.IsMultibyteUnsafeCharset(cs) {
			return fmt.Errorf("%sinterpolateParams cannot be used with the %s character set (collation %s)", prefix, cs, c.Collation)
		}
		if c.Charset != "" {
			for cs := range strings.SplitSeq(c.Charset, ",") {
				if protocol.IsMultibyteUnsafeCharset(cs) {
					return fmt.Errorf("%sinterpolateParams cannot be used with the %s character set", prefix, cs)
				}
			}
		}
	}

	if c.MaxAllowedPacket < 0 || c.MaxAllowedPacket > maxMaxAllowedPacket {
		return fmt.Errorf("%smaxAllowedPacket: %d is out of range", prefix, c.MaxAllowedPacket)
	}
	if c.StmtCacheSize < 0 {
		return fmt.Errorf("%sstmtCacheSize: %d is out of range", prefix, c.StmtCacheSize)
	}
	if c.StmtCacheTotal < 0 {
		return fmt.Errorf("%sstmtCacheTotal: %d is out of range", prefix, c.StmtCacheTotal)
	}
	for _, d := range []struct {
		key string
		d   time.Duration
	}{{"timeout", c.Timeout}, {"readTimeout", c.ReadTimeout}, {"writeTimeout", c.WriteTimeout}, {"timeTruncate", c.TimeTruncate}} {
		if d.d < 0 {
			return fmt.Errorf("%s%s: negative duration %s", prefix, d.key, d.d)
		}
	}

	for key := range c.Params {
		if _, known := dsnParams[key]; known {
			return fmt.Errorf("%sParams[%q] is a driver parameter, set its Config field instead", prefix, key)
		}
	}

	c.pubKey = nil
	if c.ServerPubKey != "" {
		if c.pubKey = getServerPubKey(c.ServerPubKey); c.pubKey == nil {
			return fmt.Errorf("%sserverPubKey: no public key registered as %q", prefix, c.ServerPubKey)
		}
	}

	return c.resolveTLS(prefix)
}

// withDefaultPort returns addr with port 3306 added when it has none ("db" → "db:3306", "::1" and "[::1]" →
// "[::1]:3306", "db:" → "db:3306"); ok is false when addr cannot be made into host:port.
func withDefaultPort(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		port = ""
	}
	if port == "" {
		port = defaultPort
	}
	out := net.JoinHostPort(host, port)
	if h, p, err := net.SplitHostPort(out); err != nil || h != host || p != port {
		return "", false
	}
	return out, true
}

// resolveTLS sets c.TLS to the TLS configuration to use. A TLS already set (by the user, or by an earlier
// normalize) takes precedence over TLSConfig, as in go-sql-driver; it is cloned, never modified. Otherwise
// TLSConfig chooses: "true" verifies the server, "skip-verify" does not, "preferred" does not and also allows a
// plaintext connection to a server without TLS, "false" and "" mean no TLS unless tls-ca or tls-cert is set
// (then as "true"), anything else is a name registered with RegisterTLSConfig. The tls-ca, tls-cert and tls-key
// files are loaded on top. When verifying, an empty ServerName is set to the host of Addr.
func (c *Config) resolveTLS(prefix string) error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New(prefix + "tls-cert and tls-key must be given together")
	}
	files := c.TLSCA != "" || c.TLSCert != ""
	var t *tls.Config
	switch {
	case c.TLS != nil:
		t = c.TLS.Clone()
	case c.TLSConfig == "true":
		t = &tls.Config{}
	case c.TLSConfig == "skip-verify":
		t = &tls.Config{InsecureSkipVerify: true}
	case c.TLSConfig == "preferred":
		t = &tls.Config{InsecureSkipVerify: true}
		c.AllowFallbackToPlaintext = true
	case c.TLSConfig == "false":
		if files {
			return errors.New(prefix + "tls=false conflicts with tls-ca/tls-cert/tls-key")
		}
	case c.TLSConfig == "":
		if files {
			t = &tls.Config{}
		}
	default:
		if t = getTLSConfigClone(c.TLSConfig); t == nil {
			return fmt.Errorf("%stls: no TLS config registered as %q", prefix, c.TLSConfig)
		}
	}
	if t != nil {
		if err := c.loadTLSFiles(t, prefix); err != nil {
			return err
		}
		if t.ServerName == "" && !t.InsecureSkipVerify && len(c.Addrs) <= 1 { // several hosts: set per host
			if host, _, err := net.SplitHostPort(c.Addr); err == nil {
				t.ServerName = host
			}
		}
	}
	c.TLS = t
	return nil
}

// loadTLSFiles loads the tls-ca bundle into t.RootCAs and the tls-cert/tls-key pair into t.Certificates.
func (c *Config) loadTLSFiles(t *tls.Config, prefix string) error {
	if c.TLSCA != "" {
		pem, err := readTLSFile(prefix, "tls-ca", c.TLSCA)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%stls-ca: no PEM certificate found in %q", prefix, c.TLSCA)
		}
		t.RootCAs = pool
	}
	if c.TLSCert != "" {
		certPEM, err := readTLSFile(prefix, "tls-cert", c.TLSCert)
		if err != nil {
			return err
		}
		keyPEM, err := readTLSFile(prefix, "tls-key", c.TLSKey)
		if err != nil {
			return err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return fmt.Errorf("%stls-cert/tls-key: loading %q and %q: %w", prefix, c.TLSCert, c.TLSKey, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return nil
}

// readTLSFile reads the file of a tls-* parameter; the error names the parameter, the path and the cause.
func readTLSFile(prefix, key, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s%s: cannot read %q: %w", prefix, key, path, err)
	}
	return data, nil
}

// Option changes a Config; apply options with Config.Apply. The options are go-sql-driver/mysql's, with the
// same names and effects.
type Option func(*Config) error

// Apply applies opts to c in order and stops at the first error.
func (c *Config) Apply(opts ...Option) error {
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return err
		}
	}
	return nil
}

// TimeTruncate makes time.Time arguments be truncated to d before they are sent (Config.TimeTruncate, DSN
// timeTruncate).
func TimeTruncate(d time.Duration) Option {
	return func(c *Config) error {
		c.TimeTruncate = d
		return nil
	}
}

// BeforeConnect sets fn to run before each new connection is made, with a copy of the Config that fn may
// change for that connection only — typically to set a fresh password or token (AWS RDS or Cloud SQL IAM
// authentication) or another address. An error from fn fails the connection attempt with that error. The
// connection keeps the Config fn returned: its KILL QUERY side connection (killQueryOnCancel) logs in with the
// same credentials, without running fn again.
func BeforeConnect(fn func(context.Context, *Config) error) Option {
	return func(c *Config) error {
		c.beforeConnect = fn
		return nil
	}
}

// EnableCompression turns zlib protocol compression on or off (Config.Compress, DSN compress).
func EnableCompression(yes bool) Option {
	return func(c *Config) error {
		c.Compress = yes
		return nil
	}
}

// Charset sets the connection character set and collation: "SET NAMES charset" is sent after connecting, or
// "SET NAMES charset COLLATE collation" when collation is not empty (Config.Charset and Config.Collation, DSN
// charset and collation). An empty collation leaves Collation unset (the default handshake collation).
func Charset(charset, collation string) Option {
	return func(c *Config) error {
		c.Charset = charset
		c.Collation = collation
		return nil
	}
}
