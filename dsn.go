package rawmysql

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Prefixes of the errors of ParseDSN and of normalize called for a Config built in code.
const (
	errPrefixDSN    = "rawmysql: invalid DSN: "
	errPrefixConfig = "rawmysql: invalid config: "
)

// Errors about the structure of a DSN. They never quote the DSN: the part before the slash holds the password.
var (
	errDSNNoSlash       = errors.New(errPrefixDSN + "missing the slash separating the database name")
	errDSNAddrNotClosed = errors.New(errPrefixDSN + "network address not terminated (missing closing parenthesis)")
	errDSNUnescaped     = errors.New(errPrefixDSN + "did you forget to escape a param value?")
	errDSNNetName       = errors.New(errPrefixDSN + "invalid network name before the slash (is the '@' after the password missing?)")
	errDSNAddrQuestion  = errors.New(errPrefixDSN + "network address contains '?' (did you forget to escape a param value?)")
)

// ParseDSN parses a data source name in the grammar of github.com/go-sql-driver/mysql:
//
//	[user[:password]@][net[(addr)]]/dbname[?param1=value1&paramN=valueN]
//
// For TCP, addr may list several servers separated by commas, tcp(h1:3306,h2:3306,h3) (Config.Addrs).
//
// The user ends at the first ':' and the password at the last '@' before the slash, so the password may contain
// ':', '@' and '/'; user and password are taken as written (no unescaping). net is "tcp" (the default), "tcp4",
// "tcp6", "unix" or a name registered with RegisterDialContext; addr defaults to 127.0.0.1:3306 for tcp and
// /tmp/mysql.sock for unix, and a TCP address without a port gets :3306. The database name and every parameter
// value are URL-unescaped ('%2F' is '/', and in values '+' is a space). A value may contain '/' unescaped
// ("?tls-ca=/etc/mysql/ca.pem") as long as no '@' follows the database name; '&', '%' and '+' must always be
// escaped (url.QueryEscape does all of it). An empty DSN is the default Config.
//
// Parameters (names are case-sensitive; booleans take the spellings of strconv.ParseBool):
//
//	allowAllFiles, allowCleartextPasswords, allowFallbackToPlaintext, allowNativePasswords (default true),
//	allowOldPasswords, allowPublicKeyRetrieval, checkConnLiveness (default true), clientFoundRows,
//	columnsWithAlias, compress, interpolateParams, killQueryOnCancel (default true), multiStatements,
//	parseTime, rejectReadOnly, resetSession                                       booleans
//	charset          SET NAMES after connecting; a comma-separated list of charset names
//	collation        handshake collation (default utf8mb4_general_ci); must be known to protocol.CollationID
//	connectionAttributes  "key:value,key2:value2"
//	loc              time zone name for time.LoadLocation, or Local (default UTC)
//	maxAllowedPacket bytes, 0 to 1 GiB (default 64 MiB; 0 asks the server)
//	stmtCacheSize    prepared statements cached per connection (default 64, 0 disables)
//	stmtCacheTotal   prepared statements cached by all connections of the pool together (default 1000, 0: no bound)
//	timeout, readTimeout, writeTimeout, timeTruncate  durations for time.ParseDuration, not negative
//	serverPubKey     name of a key registered with RegisterServerPubKey
//	tls              true, false, skip-verify, preferred, or a name registered with RegisterTLSConfig
//	tls-ca, tls-cert, tls-key  PEM files: CA bundle to verify the server; client certificate and its key.
//	                 Without a tls parameter they imply tls=true.
//	loadBalance      failover (default), random, roundrobin, leastconnections: how several hosts are tried
//	hostBackoff      how long an unreachable host is tried last (default 10s, 0: never)
//	targetServer     any (default), primary, replica, preferReplica, preferPrimary
//	targetRecheck    how often a pooled connection's server role is checked again on reuse (default 5s)
//	trackGTID, causalReads  booleans: report each commit's GTID; wait before reads for the GTIDs written (gtid.go)
//	causalWaitTimeout  duration bounding a causal wait (default 10s)
//	gtidWatermark    name of a process-wide GTIDWatermark shared by the pools whose DSNs name it
//
// Any other parameter is a session system variable set after connecting (Config.Params), sent as written in
// "SET name=value" as go-sql-driver does: a name that is no variable (golang-migrate's x-migrations-table, for
// one) makes connecting fail with the server's error. A parameter without '=' is ignored, as go-sql-driver does. When a
// parameter is repeated, the last one wins.
//
// ParseDSN resolves tls, tls-ca, tls-cert and tls-key into Config.TLS and checks the collation, the server key
// name and the TLS config name. Errors start with "rawmysql: invalid DSN: " and never contain the password.
func ParseDSN(dsn string) (*Config, error) {
	cfg := NewConfig()
	if dsn != "" {
		p, err := splitDSN(dsn)
		if err != nil {
			return nil, err
		}
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = p.user, p.passwd, p.net, p.addr
		if cfg.DBName, err = url.PathUnescape(p.dbname); err != nil {
			return nil, fmt.Errorf("%sdatabase name: %w", errPrefixDSN, err)
		}
		if err := cfg.parseParams(p.params); err != nil {
			return nil, err
		}
	}
	if err := cfg.normalizeWith(errPrefixDSN); err != nil {
		return nil, err
	}
	return cfg, nil
}

// dsnParts are the raw pieces of a DSN.
type dsnParts struct {
	user, passwd, net, addr, dbname, params string
}

// splitDSN cuts dsn into its pieces. The slash before the database name is the last '/' of the DSN, as in
// go-sql-driver, unless what precedes that slash is not a valid [user[:password]@][net[(addr)]]: then the value
// of a parameter holds unescaped slashes, and the separator is the first '/' after the last '@' that is followed
// by a '?' before any other '/' (parameters never contain '@' in that case, so the slash cannot be inside the
// password). Only that one alternative can be valid, because its '?' would be inside the network part of any
// slash further right.
func splitDSN(dsn string) (dsnParts, error) {
	last := strings.LastIndexByte(dsn, '/')
	if last < 0 {
		return dsnParts{}, errDSNNoSlash
	}
	p, err := splitDSNAt(dsn, last)
	if err == nil {
		return p, nil
	}
	at := strings.LastIndexByte(dsn, '@')
	for i := at + 1; i < last; i++ {
		if dsn[i] != '/' {
			continue
		}
		rest := dsn[i+1:]
		q := strings.IndexByte(rest, '?')
		if q >= 0 && q < strings.IndexByte(rest, '/') {
			if p2, err2 := splitDSNAt(dsn, i); err2 == nil {
				return p2, nil
			}
			break
		}
	}
	return dsnParts{}, err
}

// splitDSNAt cuts dsn around the slash at index slash.
func splitDSNAt(dsn string, slash int) (dsnParts, error) {
	var p dsnParts
	prefix := dsn[:slash]
	if at := strings.LastIndexByte(prefix, '@'); at >= 0 {
		p.user, p.passwd, _ = strings.Cut(prefix[:at], ":")
		prefix = prefix[at+1:]
	}
	if open := strings.IndexByte(prefix, '('); open >= 0 {
		if prefix[len(prefix)-1] != ')' {
			if strings.IndexByte(prefix[open+1:], ')') >= 0 {
				return p, errDSNUnescaped
			}
			return p, errDSNAddrNotClosed
		}
		p.net, p.addr = prefix[:open], prefix[open+1:len(prefix)-1]
		if strings.IndexByte(p.addr, '?') >= 0 {
			return p, errDSNAddrQuestion
		}
	} else {
		p.net = prefix
	}
	if p.net != "" && !validNetName(p.net) {
		return p, errDSNNetName
	}
	p.dbname, p.params, _ = strings.Cut(dsn[slash+1:], "?")
	return p, nil
}

// validNetName reports whether s can be a network name: ASCII letters, digits and "._+-".
func validNetName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// plainParamName reports whether s is a name shown unquoted in errors (letters, digits, '_', '.', '$', '@').
func plainParamName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '_' && c != '.' && c != '$' && c != '@' {
			return false
		}
	}
	return true
}

// validCharsetList reports whether s is a comma-separated list of charset names (letters, digits, '_').
func validCharsetList(s string) bool {
	for name := range strings.SplitSeq(s, ",") {
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !isAlnum(name[i]) && name[i] != '_' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// parseParams applies the DSN's query string to c.
func (c *Config) parseParams(query string) error {
	for kv := range strings.SplitSeq(query, "&") {
		key, raw, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		value, err := url.QueryUnescape(raw)
		if err != nil {
			return fmt.Errorf("%s%s: %w", errPrefixDSN, paramLabel(key), err)
		}
		if p, ok := dsnParams[key]; ok {
			if err := p.parse(c, key, value); err != nil {
				return err
			}
			continue
		}
		// Any other name is a session variable, as in go-sql-driver/mysql: it is sent as written in
		// "SET name=value" when connecting, and the server rejects what is not a variable.
		if c.Params == nil {
			c.Params = make(map[string]string)
		}
		c.Params[key] = value
	}
	return nil
}

// paramLabel is key as shown in an error: quoted unless it is a plain name.
func paramLabel(key string) string {
	if plainParamName(key) || dsnParams[key].parse != nil {
		return key
	}
	return strconv.Quote(key)
}

// dsnParam is a DSN parameter known to this driver.
type dsnParam struct {
	// parse sets the value (already URL-unescaped) in c; key is the parameter name, for errors.
	parse func(c *Config, key, value string) error
	// format returns the value to write (before escaping) and whether it differs from the default.
	format func(c *Config) (string, bool)
}

// dsnParams are the parameters with a Config field, by DSN name.
var dsnParams = map[string]dsnParam{
	"allowAllFiles":            boolParam(func(c *Config) *bool { return &c.AllowAllFiles }, false),
	"allowCleartextPasswords":  boolParam(func(c *Config) *bool { return &c.AllowCleartextPasswords }, false),
	"allowFallbackToPlaintext": boolParam(func(c *Config) *bool { return &c.AllowFallbackToPlaintext }, false),
	"allowNativePasswords":     boolParam(func(c *Config) *bool { return &c.AllowNativePasswords }, true),
	"allowOldPasswords":        boolParam(func(c *Config) *bool { return &c.AllowOldPasswords }, false),
	"allowPublicKeyRetrieval":  boolParam(func(c *Config) *bool { return &c.AllowPublicKeyRetrieval }, false),
	"checkConnLiveness":        boolParam(func(c *Config) *bool { return &c.CheckConnLiveness }, true),
	"clientFoundRows":          boolParam(func(c *Config) *bool { return &c.ClientFoundRows }, false),
	"columnsWithAlias":         boolParam(func(c *Config) *bool { return &c.ColumnsWithAlias }, false),
	"compress":                 boolParam(func(c *Config) *bool { return &c.Compress }, false),
	"interpolateParams":        boolParam(func(c *Config) *bool { return &c.InterpolateParams }, false),
	"killQueryOnCancel":        boolParam(func(c *Config) *bool { return &c.KillQueryOnCancel }, true),
	"multiStatements":          boolParam(func(c *Config) *bool { return &c.MultiStatements }, false),
	"parseTime":                boolParam(func(c *Config) *bool { return &c.ParseTime }, false),
	"rejectReadOnly":           boolParam(func(c *Config) *bool { return &c.RejectReadOnly }, false),
	"resetSession":             boolParam(func(c *Config) *bool { return &c.ResetSession }, false),

	"charset":              stringParam(func(c *Config) *string { return &c.Charset }, ""),
	"collation":            stringParam(func(c *Config) *string { return &c.Collation }, defaultCollation),
	"connectionAttributes": stringParam(func(c *Config) *string { return &c.ConnectionAttributes }, ""),
	"serverPubKey":         stringParam(func(c *Config) *string { return &c.ServerPubKey }, ""),
	"tls-ca":               stringParam(func(c *Config) *string { return &c.TLSCA }, ""),
	"tls-cert":             stringParam(func(c *Config) *string { return &c.TLSCert }, ""),
	"tls-key":              stringParam(func(c *Config) *string { return &c.TLSKey }, ""),

	"readTimeout":  durationParam(func(c *Config) *time.Duration { return &c.ReadTimeout }),
	"writeTimeout": durationParam(func(c *Config) *time.Duration { return &c.WriteTimeout }),
	"timeout":      durationParam(func(c *Config) *time.Duration { return &c.Timeout }),
	"timeTruncate": durationParam(func(c *Config) *time.Duration { return &c.TimeTruncate }),

	"maxAllowedPacket": intParam(func(c *Config) *int { return &c.MaxAllowedPacket }, defaultMaxAllowedPacket, maxMaxAllowedPacket),
	"stmtCacheSize":    intParam(func(c *Config) *int { return &c.StmtCacheSize }, defaultStmtCacheSize, -1),
	"stmtCacheTotal":   intParam(func(c *Config) *int { return &c.StmtCacheTotal }, defaultStmtCacheTotal, -1),

	"loc": {
		parse: func(c *Config, key, value string) error {
			loc, err := time.LoadLocation(value)
			if err != nil {
				return fmt.Errorf("%s%s: unknown time zone %q", errPrefixDSN, key, value)
			}
			c.Loc = loc
			return nil
		},
		format: func(c *Config) (string, bool) {
			if c.Loc == nil || c.Loc == time.UTC {
				return "", false
			}
			return c.Loc.String(), true
		},
	},
	"tls": {
		parse: func(c *Config, _, value string) error {
			if b, err := strconv.ParseBool(value); err == nil {
				c.TLSConfig = strconv.FormatBool(b)
				return nil
			}
			switch lower := strings.ToLower(value); lower {
			case "true", "false", "skip-verify", "preferred":
				c.TLSConfig = lower
			default:
				c.TLSConfig = value
			}
			return nil
		},
		format: func(c *Config) (string, bool) { return c.TLSConfig, c.TLSConfig != "" },
	},
}

func boolParam(field func(*Config) *bool, def bool) dsnParam {
	return dsnParam{
		parse: func(c *Config, key, value string) error {
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("%s%s: invalid boolean %q", errPrefixDSN, key, value)
			}
			*field(c) = b
			return nil
		},
		format: func(c *Config) (string, bool) {
			b := *field(c)
			return strconv.FormatBool(b), b != def
		},
	}
}

func stringParam(field func(*Config) *string, def string) dsnParam {
	return dsnParam{
		parse: func(c *Config, _, value string) error {
			*field(c) = value
			return nil
		},
		format: func(c *Config) (string, bool) {
			s := *field(c)
			return s, s != def
		},
	}
}

func durationParam(field func(*Config) *time.Duration) dsnParam {
	return dsnParam{
		parse: func(c *Config, key, value string) error {
			d, err := time.ParseDuration(value)
			if err != nil {
				return fmt.Errorf("%s%s: invalid duration %q", errPrefixDSN, key, value)
			}
			if d < 0 {
				return fmt.Errorf("%s%s: negative duration %q", errPrefixDSN, key, value)
			}
			*field(c) = d
			return nil
		},
		format: func(c *Config) (string, bool) {
			d := *field(c)
			return d.String(), d != 0
		},
	}
}

// intParam is an integer parameter in [0, max] (max < 0: no upper bound).
func intParam(field func(*Config) *int, def, max int) dsnParam {
	return dsnParam{
		parse: func(c *Config, key, value string) error {
			n, err := strconv.Atoi(value)
			if err != nil {
				return fmt.Errorf("%s%s: invalid integer %q", errPrefixDSN, key, value)
			}
			if n < 0 || max >= 0 && n > max {
				return fmt.Errorf("%s%s: %d is out of range", errPrefixDSN, key, n)
			}
			*field(c) = n
			return nil
		},
		format: func(c *Config) (string, bool) {
			n := *field(c)
			return strconv.Itoa(n), n != def
		},
	}
}

// FormatDSN returns a DSN for c that ParseDSN turns back into an equal Config. Parameters equal to the NewConfig
// defaults are left out and the others are written in sorted order; the database name is escaped with
// url.PathEscape and parameter values with url.QueryEscape. User and password are written as they are, and so are
// Net and Addr ("tcp" when Net is empty; several Addrs joined by commas). TLS, Logger, Tracer, PacketTrace and DialFunc have no DSN form: only
// TLSConfig and the tls-ca/tls-cert/tls-key paths are written. The result contains the password: do not log it.
func (c *Config) FormatDSN() string {
	var b strings.Builder
	if c.User != "" || c.Passwd != "" {
		b.WriteString(c.User)
		if c.Passwd != "" {
			b.WriteByte(':')
			b.WriteString(c.Passwd)
		}
		b.WriteByte('@')
	}
	switch {
	case c.Addr != "":
		n := c.Net
		if n == "" {
			n = "tcp"
		}
		b.WriteString(n)
		b.WriteByte('(')
		b.WriteString(c.hostList())
		b.WriteByte(')')
	case c.Net != "" && c.Net != "tcp":
		b.WriteString(c.Net)
	}
	b.WriteByte('/')
	b.WriteString(url.PathEscape(c.DBName))

	type kv struct{ key, value string }
	params := make([]kv, 0, 8+len(c.Params))
	for key, p := range dsnParams {
		if v, ok := p.format(c); ok {
			params = append(params, kv{key, v})
		}
	}
	for key, v := range c.Params {
		params = append(params, kv{key, v})
	}
	slices.SortFunc(params, func(x, y kv) int { return strings.Compare(x.key, y.key) })
	for i, p := range params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}
