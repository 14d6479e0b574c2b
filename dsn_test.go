package rawmysql

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/dsnparse"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// assertConfigEqual compares two Configs field by field. Loc is compared by name, TLS by the fields this package
// sets, the server key by value, Logger by identity, DialFunc and PacketTrace by presence.
func assertConfigEqual(t testing.TB, want, got *Config) {
	t.Helper()
	require.NotNil(t, want)
	require.NotNil(t, got)
	w, g := *want, *got

	assert.Equal(t, w.Loc == nil, g.Loc == nil, "Loc presence")
	if w.Loc != nil && g.Loc != nil {
		assert.Equal(t, w.Loc.String(), g.Loc.String(), "Loc")
	}
	w.Loc, g.Loc = nil, nil

	if assert.Equal(t, w.TLS == nil, g.TLS == nil, "TLS presence") && w.TLS != nil {
		assert.Equal(t, w.TLS.ServerName, g.TLS.ServerName, "TLS.ServerName")
		assert.Equal(t, w.TLS.InsecureSkipVerify, g.TLS.InsecureSkipVerify, "TLS.InsecureSkipVerify")
		assert.Equal(t, w.TLS.MinVersion, g.TLS.MinVersion, "TLS.MinVersion")
		if assert.Equal(t, w.TLS.RootCAs == nil, g.TLS.RootCAs == nil, "TLS.RootCAs presence") && w.TLS.RootCAs != nil {
			assert.True(t, w.TLS.RootCAs.Equal(g.TLS.RootCAs), "TLS.RootCAs")
		}
		if assert.Len(t, g.TLS.Certificates, len(w.TLS.Certificates), "TLS.Certificates") {
			for i := range w.TLS.Certificates {
				assert.Equal(t, w.TLS.Certificates[i].Certificate, g.TLS.Certificates[i].Certificate)
			}
		}
	}
	w.TLS, g.TLS = nil, nil

	if assert.Equal(t, w.pubKey == nil, g.pubKey == nil, "pubKey presence") && w.pubKey != nil {
		assert.True(t, w.pubKey.Equal(g.pubKey), "pubKey")
	}
	w.pubKey, g.pubKey = nil, nil

	assert.Equal(t, w.DialFunc == nil, g.DialFunc == nil, "DialFunc presence")
	w.DialFunc, g.DialFunc = nil, nil
	assert.Same(t, w.Logger, g.Logger, "Logger")
	w.Logger, g.Logger = nil, nil
	assert.Equal(t, w.PacketTrace == nil, g.PacketTrace == nil, "PacketTrace presence")
	w.PacketTrace, g.PacketTrace = nil, nil
	assert.Equal(t, w.Tracer, g.Tracer, "Tracer")
	w.Tracer, g.Tracer = nil, nil

	assert.Equal(t, w, g)
}

// expConfig is NewConfig after normalize of an empty DSN (tcp to 127.0.0.1:3306), changed by mod.
func expConfig(mod func(c *Config)) *Config {
	c := NewConfig()
	c.Net = "tcp"
	c.Addr = dsnparse.DefaultTCPAddr
	if mod != nil {
		mod(c)
	}
	return c
}

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func TestNewConfigDefaults(t *testing.T) {
	c := NewConfig()
	assert.Equal(t, "", c.Net)
	assert.Equal(t, "", c.Addr)
	assert.Equal(t, "utf8mb4_general_ci", c.Collation)
	assert.Same(t, time.UTC, c.Loc)
	assert.Equal(t, 64<<20, c.MaxAllowedPacket)
	assert.Equal(t, 64, c.StmtCacheSize)
	assert.Equal(t, 1000, c.StmtCacheTotal)
	assert.True(t, c.AllowNativePasswords)
	assert.True(t, c.CheckConnLiveness)
	assert.True(t, c.KillQueryOnCancel)
	assert.False(t, c.AllowAllFiles)
	assert.False(t, c.ParseTime)
	assert.False(t, c.InterpolateParams)
	assert.Nil(t, c.TLS)
	assert.Nil(t, c.Params)
	assert.Equal(t, "/", c.FormatDSN(), "Net and Addr are filled by normalize, not NewConfig")
}

// validDSNs maps DSNs to the Config ParseDSN must return (TLS is compared by the fields set here). They also seed
// FuzzParseDSN.
var validDSNs = []struct {
	dsn  string
	want func(t testing.TB) *Config
}{
	// Structure.
	{"", func(testing.TB) *Config { return expConfig(nil) }},
	{"/", func(testing.TB) *Config { return expConfig(nil) }},
	{"@/", func(testing.TB) *Config { return expConfig(nil) }},
	{"/dbname", func(testing.TB) *Config { return expConfig(func(c *Config) { c.DBName = "dbname" }) }},
	{"/dbname%2Fwithslash", func(testing.TB) *Config { return expConfig(func(c *Config) { c.DBName = "dbname/withslash" }) }},
	{"/my%20db+x", func(testing.TB) *Config { return expConfig(func(c *Config) { c.DBName = "my db+x" }) }},
	{"/db?", func(testing.TB) *Config { return expConfig(func(c *Config) { c.DBName = "db" }) }},
	{"user@/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.User, c.DBName = "user", "db" })
	}},
	{"user:pass@/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.User, c.Passwd, c.DBName = "user", "pass", "db" })
	}},
	{"user:@/", func(testing.TB) *Config { return expConfig(func(c *Config) { c.User = "user" }) }},
	{":pass@/", func(testing.TB) *Config { return expConfig(func(c *Config) { c.Passwd = "pass" }) }},
	{"user:p@ss:w/rd?x=1@tcp(localhost:3307)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Passwd, c.Addr, c.DBName = "user", "p@ss:w/rd?x=1", "localhost:3307", "db"
		})
	}},
	{"user:p@/ssword@/", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.User, c.Passwd = "user", "p@/ssword" })
	}},
	{"us@er:pw@/", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.User, c.Passwd = "us@er", "pw" })
	}},
	{"user:p@ss(word)@tcp([de:ad:be:ef::ca:fe]:80)/dbname?loc=Local", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Passwd, c.Addr, c.DBName, c.Loc = "user", "p@ss(word)", "[de:ad:be:ef::ca:fe]:80", "dbname", time.Local
		})
	}},
	{"user@unix(/var/run/mysqld/mysqld.sock)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Net, c.Addr, c.DBName = "user", "unix", "/var/run/mysqld/mysqld.sock", "db"
		})
	}},
	{"unix/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Net, c.Addr, c.DBName = "unix", "/tmp/mysql.sock", "db" })
	}},
	{"unix/?arg=%2Fsome%2Fpath.ext", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.Net, c.Addr, c.Params = "unix", "/tmp/mysql.sock", map[string]string{"arg": "/some/path.ext"}
		})
	}},
	{"tcp(localhost)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.DBName = "localhost:3306", "db" })
	}},
	{"tcp(db.example.com:)/", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr = "db.example.com:3306" })
	}},
	{"tcp([::1])/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.DBName = "[::1]:3306", "db" })
	}},
	{"tcp(::1)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.DBName = "[::1]:3306", "db" })
	}},
	{"tcp(de:ad:be:ef::ca:fe)/dbname", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.DBName = "[de:ad:be:ef::ca:fe]:3306", "dbname" })
	}},
	{"tcp(fe80::1%25eth0)/", func(testing.TB) *Config {
		// Addr is not unescaped: %25 stays as written, like go-sql-driver.
		return expConfig(func(c *Config) { c.Addr = "[fe80::1%25eth0]:3306" })
	}},
	{"tcp([::1]:3307)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.DBName = "[::1]:3307", "db" })
	}},
	{"tcp6/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Net, c.Addr, c.DBName = "tcp6", "[::1]:3306", "db" })
	}},
	{"tcp4(10.0.0.1)/db", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Net, c.Addr, c.DBName = "tcp4", "10.0.0.1:3306", "db" })
	}},
	{"(db.example.com:3307)/", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr = "db.example.com:3307" })
	}},
	{"tcp()/db", func(testing.TB) *Config { return expConfig(func(c *Config) { c.DBName = "db" }) }},
	{"username:password@protocol(address)/dbname?param=value", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Passwd, c.Net, c.Addr, c.DBName = "username", "password", "protocol", "address", "dbname"
			c.Params = map[string]string{"param": "value"}
		})
	}},

	// Unescaped slashes in parameter values.
	{"/db?arg=/some/unescaped/path", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.DBName, c.Params = "db", map[string]string{"arg": "/some/unescaped/path"} })
	}},
	{"user:pa/ss@tcp(h)/db?loc=America/New_York", func(t testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Passwd, c.Addr, c.DBName = "user", "pa/ss", "h:3306", "db"
			c.Loc = mustLoadLocation(t, "America/New_York")
		})
	}},
	{"u@unix(/tmp/my.sock)/db?connectionAttributes=attr1:/unescaped/value", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.User, c.Net, c.Addr, c.DBName = "u", "unix", "/tmp/my.sock", "db"
			c.ConnectionAttributes = "attr1:/unescaped/value"
		})
	}},

	// Booleans, every spelling.
	{"/?allowAllFiles=true&allowCleartextPasswords=1&allowFallbackToPlaintext=t&allowOldPasswords=T" +
		"&allowPublicKeyRetrieval=TRUE&clientFoundRows=True&columnsWithAlias=true&compress=1&interpolateParams=true" +
		"&multiStatements=true&parseTime=true&rejectReadOnly=true&resetSession=true", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.AllowAllFiles, c.AllowCleartextPasswords, c.AllowFallbackToPlaintext, c.AllowOldPasswords = true, true, true, true
			c.AllowPublicKeyRetrieval, c.ClientFoundRows, c.ColumnsWithAlias, c.Compress = true, true, true, true
			c.InterpolateParams, c.MultiStatements, c.ParseTime, c.RejectReadOnly, c.ResetSession = true, true, true, true, true
		})
	}},
	{"/?allowNativePasswords=false&checkConnLiveness=0&killQueryOnCancel=F", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.AllowNativePasswords, c.CheckConnLiveness, c.KillQueryOnCancel = false, false, false
		})
	}},
	{"/?parseTime=f&multiStatements=FALSE&compress=False&allowAllFiles=0", func(testing.TB) *Config {
		return expConfig(nil)
	}},
	{"/?parseTime=true&parseTime=false", func(testing.TB) *Config { return expConfig(nil) }},
	{"/?parseTime&multiStatements=true&&", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.MultiStatements = true })
	}},
	// Unknown names are session variables whatever their spelling, as in go-sql-driver/mysql (the server
	// judges them when connecting).
	{"/?x-migrations-table=schema_migrations&a;b=1&=2", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.Params = map[string]string{"x-migrations-table": "schema_migrations", "a;b": "1", "": "2"}
		})
	}},

	// Strings.
	{"/?charset=utf8mb4,utf8&collation=utf8mb4_unicode_ci", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Charset, c.Collation = "utf8mb4,utf8", "utf8mb4_unicode_ci" })
	}},
	{"/?collation=UTF8MB4_BIN", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Collation = "UTF8MB4_BIN" })
	}},
	{"/?collation=utf8_general_ci", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Collation = "utf8_general_ci" })
	}},
	{"/?collation=", func(testing.TB) *Config { return expConfig(nil) }},
	{"/?charset=", func(testing.TB) *Config { return expConfig(nil) }},
	{"foo:bar@tcp(192.168.1.50:3307)/baz?timeout=10s&connectionAttributes=program_name:MySQLGoDriver%2FTest,program_version:1.2.3",
		func(testing.TB) *Config {
			return expConfig(func(c *Config) {
				c.User, c.Passwd, c.Addr, c.DBName, c.Timeout = "foo", "bar", "192.168.1.50:3307", "baz", 10*time.Second
				c.ConnectionAttributes = "program_name:MySQLGoDriver/Test,program_version:1.2.3"
			})
		}},
	{"/?loc=Europe%2FBerlin", func(t testing.TB) *Config {
		return expConfig(func(c *Config) { c.Loc = mustLoadLocation(t, "Europe/Berlin") })
	}},
	{"/?loc=UTC", func(testing.TB) *Config { return expConfig(nil) }},
	{"/?loc=", func(testing.TB) *Config { return expConfig(nil) }},

	// Numbers and durations.
	{"/?maxAllowedPacket=0&stmtCacheSize=0", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.MaxAllowedPacket, c.StmtCacheSize = 0, 0 })
	}},
	{"/?maxAllowedPacket=1073741824&stmtCacheSize=1000", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.MaxAllowedPacket, c.StmtCacheSize = 1<<30, 1000 })
	}},
	{"/?timeout=30s&readTimeout=1.5s&writeTimeout=1m&timeTruncate=1ms", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.Timeout, c.ReadTimeout, c.WriteTimeout, c.TimeTruncate = 30*time.Second, 1500*time.Millisecond, time.Minute, time.Millisecond
		})
	}},
	{"/?timeout=0s", func(testing.TB) *Config { return expConfig(nil) }},

	// TLS.
	{"tcp(db.example.com)/?tls=true", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.Addr, c.TLSConfig, c.TLS = "db.example.com:3306", "true", &tls.Config{ServerName: "db.example.com"}
		})
	}},
	{"tcp([::1]:3307)/?tls=1", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.Addr, c.TLSConfig, c.TLS = "[::1]:3307", "true", &tls.Config{ServerName: "::1"} })
	}},
	{"/?tls=skip-verify", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.TLSConfig, c.TLS = "skip-verify", &tls.Config{InsecureSkipVerify: true} })
	}},
	{"/?tls=SKIP-VERIFY", func(testing.TB) *Config {
		return expConfig(func(c *Config) { c.TLSConfig, c.TLS = "skip-verify", &tls.Config{InsecureSkipVerify: true} })
	}},
	{"/?tls=preferred", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.TLSConfig, c.TLS, c.AllowFallbackToPlaintext = "preferred", &tls.Config{InsecureSkipVerify: true}, true
		})
	}},
	{"/?tls=false", func(testing.TB) *Config { return expConfig(func(c *Config) { c.TLSConfig = "false" }) }},
	{"/?tls=0", func(testing.TB) *Config { return expConfig(func(c *Config) { c.TLSConfig = "false" }) }},
	{"/?tls=", func(testing.TB) *Config { return expConfig(nil) }},
	{"/?tls-ca=&tls-cert=&tls-key=", func(testing.TB) *Config { return expConfig(nil) }},

	// Session variables.
	{"/?time_zone=%27%2B00%3A00%27&sql_mode=ANSI&autocommit=1&foo=a+b&@@session.x=1", func(testing.TB) *Config {
		return expConfig(func(c *Config) {
			c.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "ANSI", "autocommit": "1", "foo": "a b", "@@session.x": "1"}
		})
	}},
	{"/?strict=1&parsetime=true", func(testing.TB) *Config {
		// Names are case-sensitive: an unknown spelling is a session variable, as in go-sql-driver.
		return expConfig(func(c *Config) { c.Params = map[string]string{"strict": "1", "parsetime": "true"} })
	}},
}

func TestParseDSN(t *testing.T) {
	for _, tt := range validDSNs {
		t.Run(tt.dsn, func(t *testing.T) {
			cfg, err := ParseDSN(tt.dsn)
			require.NoError(t, err)
			assertConfigEqual(t, tt.want(t), cfg)
		})
	}
}

// invalidDSNs are DSNs ParseDSN must refuse, with a part of the expected message. They also seed FuzzParseDSN.
var invalidDSNs = []struct {
	dsn string
	msg string
}{
	{"User:pass@tcp(1.2.3.4:3306)", "rawmysql: invalid DSN: missing the slash separating the database name"},
	{"db", "missing the slash"},
	{"@net(addr/", "network address not terminated"},
	{"@tcp(/", "network address not terminated"},
	{"tcp(/", "network address not terminated"},
	{"(/", "network address not terminated"},
	{"net(addr)//", "did you forget to escape a param value?"},
	{"tcp(h)?/db", "did you forget to escape a param value?"},
	{"tcp(h?x)/db", "network address contains '?'"},
	{"user:pass/db", "invalid network name"},
	{"user@tcp:x/db", "invalid network name"},
	{"net()/", "no default address for this network"},
	{"foo/db", "no default address for this network"},
	{"tcp([a]b)/db", "invalid TCP address"},
	{"tcp(a]b)/db", "invalid TCP address"},
	{"user:pass@tcp(127.0.0.1:3306)/db/name", "did you forget to escape a param value?"},
	{"/db/name", "invalid network name"},
	{"/db?x=/a@b", "invalid network name"}, // a value with both '/' and '@' must be escaped
	{"/db%zz", `rawmysql: invalid DSN: database name: invalid URL escape "%zz"`},
	{"/?allowFallbackToPlaintext=PREFERRED", `rawmysql: invalid DSN: allowFallbackToPlaintext: invalid boolean "PREFERRED"`},
	{"/?parseTime=maybe", `rawmysql: invalid DSN: parseTime: invalid boolean "maybe"`},
	{"/?parseTime=", `rawmysql: invalid DSN: parseTime: invalid boolean ""`},
	{"/?timeout=abc", `rawmysql: invalid DSN: timeout: invalid duration "abc"`},
	{"/?readTimeout=-1s", `rawmysql: invalid DSN: readTimeout: negative duration "-1s"`},
	{"/?writeTimeout=", `rawmysql: invalid DSN: writeTimeout: invalid duration ""`},
	{"/?timeTruncate=1x", `rawmysql: invalid DSN: timeTruncate: invalid duration "1x"`},
	{"/?maxAllowedPacket=-1", "rawmysql: invalid DSN: maxAllowedPacket: -1 is out of range"},
	{"/?maxAllowedPacket=1073741825", "rawmysql: invalid DSN: maxAllowedPacket: 1073741825 is out of range"},
	{"/?maxAllowedPacket=abc", `rawmysql: invalid DSN: maxAllowedPacket: invalid integer "abc"`},
	{"/?maxAllowedPacket=99999999999999999999", `maxAllowedPacket: invalid integer "99999999999999999999"`},
	{"/?stmtCacheSize=-1", "rawmysql: invalid DSN: stmtCacheSize: -1 is out of range"},
	{"/?stmtCacheSize=1.5", `rawmysql: invalid DSN: stmtCacheSize: invalid integer "1.5"`},
	{"/?loc=Mars%2FOlympus_Mons", `rawmysql: invalid DSN: loc: unknown time zone "Mars/Olympus_Mons"`},
	{"/?loc=%zz", `rawmysql: invalid DSN: loc: invalid URL escape "%zz"`},
	{"/?x=%zz", `rawmysql: invalid DSN: x: invalid URL escape "%zz"`},
	{"/?collation=klingon_ci", `rawmysql: invalid DSN: collation: unknown collation "klingon_ci"`},
	{"/?collation=uca1400_ai_ci", `collation: unknown collation "uca1400_ai_ci"`},
	{"/?charset=utf8;DROP", `rawmysql: invalid DSN: charset: invalid charset "utf8;DROP"`},
	{"/?charset=a,,b", `charset: invalid charset "a,,b"`},
	{"/?serverPubKey=nope", `rawmysql: invalid DSN: serverPubKey: no public key registered as "nope"`},
	{"/?tls=nope", `rawmysql: invalid DSN: tls: no TLS config registered as "nope"`},
	{"/?tls-cert=%2Fx.pem", "rawmysql: invalid DSN: tls-cert and tls-key must be given together"},
	{"/?tls-key=/x.pem", "rawmysql: invalid DSN: tls-cert and tls-key must be given together"},
	{"/?tls=false&tls-ca=/x.pem", "rawmysql: invalid DSN: tls=false conflicts with tls-ca/tls-cert/tls-key"},
	{"/?tls-ca=/nonexistent/ca.pem", `rawmysql: invalid DSN: tls-ca: cannot read "/nonexistent/ca.pem"`},
	{"/?interpolateParams=true&collation=sjis_japanese_ci", "interpolateParams cannot be used with the sjis character set"},
	{"/?interpolateParams=1&charset=utf8mb4,gbk", "interpolateParams cannot be used with the gbk character set"},
}

func TestParseDSNErrors(t *testing.T) {
	for _, tt := range invalidDSNs {
		t.Run(tt.dsn, func(t *testing.T) {
			cfg, err := ParseDSN(tt.dsn)
			require.Error(t, err)
			assert.Nil(t, cfg)
			assert.Contains(t, err.Error(), tt.msg)
			assert.True(t, strings.HasPrefix(err.Error(), "rawmysql: invalid DSN: "), err.Error())
		})
	}
}

// TestParseDSNBadValueNamesKey gives every non-string parameter a bad value: the error names the key and the value.
func TestParseDSNBadValueNamesKey(t *testing.T) {
	n := 0
	for key := range dsnParams {
		switch key {
		case "charset", "collation", "connectionAttributes", "serverPubKey", "tls-ca", "tls-cert", "tls-key", "tls":
			continue // strings: "maybe" is well-formed here (refused later, if at all, for another reason)
		}
		n++
		_, err := ParseDSN("/?" + key + "=maybe")
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), "rawmysql: invalid DSN: "+key+": ")
		assert.Contains(t, err.Error(), `"maybe"`)
	}
	assert.Equal(t, 24, n, "16 booleans, 4 durations, 3 integers and loc")
}

func TestParseDSNMissingFileIsNotExist(t *testing.T) {
	_, err := ParseDSN("/?tls-ca=" + filepath.Join(t.TempDir(), "missing.pem"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), err.Error())
	assert.Contains(t, err.Error(), "missing.pem")
}

// TestParseDSNPasswordNotInErrors builds broken DSNs around distinctive passwords and checks that no error message
// contains any part of the password.
func TestParseDSNPasswordNotInErrors(t *testing.T) {
	passwords := []string{
		"S3cr3tPw", "S3cr/3tPw", "S3cr@3tPw", "S3cr:3tPw", "S3cr(3tPw)", "S3cr?3t=Pw", "S3cr%zz3tPw", "S3cr)3tPw",
		"@S3cr3tPw", "S3cr3tPw@x", "/S3cr3tPw",
	}
	templates := []string{
		"user:%s@tcp(127.0.0.1:3306)",        // no slash
		"user:%s",                            // no slash, no '@'
		"user:%s/db",                         // '@' forgotten
		"user:%s@tcp(host/db",                // address not closed
		"user:%s@tcp(h)x/db",                 // junk after the address
		"user:%s@tcp(h?x)/db",                // '?' in the address
		"user:%s@bogus/db",                   // network with no default address
		"user:%s@tcp([a]b)/db",               // bad TCP address
		"user:%s@tcp(h)/db?parseTime=maybe",  // bad boolean
		"user:%s@tcp(h)/db%%zz",              // bad escape in dbname
		"user:%s@tcp(h)/db?timeout=x",        // bad duration
		"user:%s@tcp(h)/db?collation=nope",   // unknown collation
		"user:%s@tcp(h)/db?tls=nope",         // unknown TLS config
		"user:%s@tcp(h)/db?serverPubKey=x",   // unknown server key
		"user:%s@tcp(h)/db?tls-cert=/a",      // cert without key
		"user:%s@tcp(h)/db?tls-ca=/nonexist", // unreadable file
		"user:%s@tcp(h)/db/x",                // unescaped slash in dbname
	}
	for _, pw := range passwords {
		for _, tmpl := range templates {
			dsn := strings.Replace(tmpl, "%s", pw, 1)
			dsn = strings.ReplaceAll(dsn, "%%", "%")
			_, err := ParseDSN(dsn)
			if !assert.Error(t, err, dsn) {
				continue
			}
			msg := err.Error()
			for _, part := range []string{"S3cr", "3tPw"} {
				assert.NotContains(t, msg, part, "DSN %q", dsn)
			}
		}
	}

	// A Config built in code: normalize errors do not print the password either.
	c := NewConfig()
	c.User, c.Passwd, c.Collation = "u", "S3cr3tPw", "nope"
	err := c.normalize()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "S3cr3tPw")
}

// formatCases are DSNs and their canonical form from FormatDSN.
var formatCases = []struct{ in, out string }{
	{"", "tcp(127.0.0.1:3306)/"},
	{"user:pass@tcp(localhost)/db?parseTime=true&loc=Local", "user:pass@tcp(localhost:3306)/db?loc=Local&parseTime=true"},
	{"/db?loc=America/New_York", "tcp(127.0.0.1:3306)/db?loc=America%2FNew_York"},
	{"/my%20db%2F1?x=1", "tcp(127.0.0.1:3306)/my%20db%2F1?x=1"},
	{":pw@/", ":pw@tcp(127.0.0.1:3306)/"},
	{"user:@/", "user@tcp(127.0.0.1:3306)/"},
	{"user:p@ss/w:rd@unix(/tmp/s.sock)/db", "user:p@ss/w:rd@unix(/tmp/s.sock)/db"},
	{"unix/", "unix(/tmp/mysql.sock)/"},
	{"tcp6/", "tcp6([::1]:3306)/"},
	{"tcp(::1)/", "tcp([::1]:3306)/"},
	{"/?time_zone=%27%2B00%3A00%27&sql_mode=ANSI,TRADITIONAL&a=b+c",
		"tcp(127.0.0.1:3306)/?a=b+c&sql_mode=ANSI%2CTRADITIONAL&time_zone=%27%2B00%3A00%27"},
	{"/?allowNativePasswords=0&checkConnLiveness=false&killQueryOnCancel=false&maxAllowedPacket=0&stmtCacheSize=0",
		"tcp(127.0.0.1:3306)/?allowNativePasswords=false&checkConnLiveness=false&killQueryOnCancel=false&maxAllowedPacket=0&stmtCacheSize=0"},
	{"/?parseTime=1&multiStatements=T&timeout=90s&readTimeout=1500ms&interpolateParams=true&collation=utf8mb4_bin",
		"tcp(127.0.0.1:3306)/?collation=utf8mb4_bin&interpolateParams=true&multiStatements=true&parseTime=true&readTimeout=1.5s&timeout=1m30s"},
	{"/?maxAllowedPacket=67108864&stmtCacheSize=64&stmtCacheTotal=1000&collation=utf8mb4_general_ci&loc=UTC", "tcp(127.0.0.1:3306)/"},
	{"/?tls=preferred", "tcp(127.0.0.1:3306)/?allowFallbackToPlaintext=true&tls=preferred"},
	{"/?tls=TRUE&charset=utf8mb4", "tcp(127.0.0.1:3306)/?charset=utf8mb4&tls=true"},
	{"/?tls=0", "tcp(127.0.0.1:3306)/?tls=false"},
	{"/?connectionAttributes=app:my%20app,v:1", "tcp(127.0.0.1:3306)/?connectionAttributes=app%3Amy+app%2Cv%3A1"},
	{"/?allowAllFiles=true&allowCleartextPasswords=true&allowOldPasswords=true&allowPublicKeyRetrieval=true" +
		"&clientFoundRows=true&columnsWithAlias=true&compress=true&rejectReadOnly=true&resetSession=true&timeTruncate=1s&writeTimeout=2s",
		"tcp(127.0.0.1:3306)/?allowAllFiles=true&allowCleartextPasswords=true&allowOldPasswords=true&allowPublicKeyRetrieval=true" +
			"&clientFoundRows=true&columnsWithAlias=true&compress=true&rejectReadOnly=true&resetSession=true&timeTruncate=1s&writeTimeout=2s"},
}

func TestFormatDSN(t *testing.T) {
	for _, tt := range formatCases {
		t.Run(tt.in, func(t *testing.T) {
			cfg, err := ParseDSN(tt.in)
			require.NoError(t, err)
			got := cfg.FormatDSN()
			assert.Equal(t, tt.out, got)

			again, err := ParseDSN(got)
			require.NoError(t, err)
			assertConfigEqual(t, cfg, again)
			assert.Equal(t, got, again.FormatDSN())
		})
	}
}

func TestFormatDSNRoundTripValidDSNs(t *testing.T) {
	for _, tt := range validDSNs {
		cfg, err := ParseDSN(tt.dsn)
		require.NoError(t, err, tt.dsn)
		out := cfg.FormatDSN()
		again, err := ParseDSN(out)
		require.NoError(t, err, "%q formatted as %q", tt.dsn, out)
		assertConfigEqual(t, cfg, again)
		assert.Equal(t, out, again.FormatDSN())
	}
}

func TestFormatDSNFromCode(t *testing.T) {
	c := NewConfig()
	c.User = "app"
	c.Passwd = "p&ss w/rd?"
	c.Net = "tcp"
	c.Addr = "db.internal:3307"
	c.DBName = "shop & co"
	c.Params = map[string]string{"sql_mode": "'STRICT_ALL_TABLES,NO_ZERO_DATE'", "time_zone": "+00:00"}
	c.Loc = mustLoadLocation(t, "Asia/Tokyo")
	c.MaxAllowedPacket = 0
	c.ParseTime = true
	c.ReadTimeout = 3 * time.Second
	c.ConnectionAttributes = "program_name:shop,env:prod"
	require.NoError(t, c.normalize())

	dsn := c.FormatDSN()
	assert.Equal(t, "app:p&ss w/rd?@tcp(db.internal:3307)/shop%20&%20co?connectionAttributes=program_name%3Ashop%2Cenv%3Aprod"+
		"&loc=Asia%2FTokyo&maxAllowedPacket=0&parseTime=true&readTimeout=3s"+
		"&sql_mode=%27STRICT_ALL_TABLES%2CNO_ZERO_DATE%27&time_zone=%2B00%3A00", dsn)
	got, err := ParseDSN(dsn)
	require.NoError(t, err)
	assertConfigEqual(t, c, got)
}

func TestFormatDSNNotNormalized(t *testing.T) {
	c := NewConfig()
	c.DBName = "db"
	assert.Equal(t, "/db", c.FormatDSN())
	c.Net = "unix"
	assert.Equal(t, "unix/db", c.FormatDSN())
	c.Net, c.Addr = "", "h:1"
	assert.Equal(t, "tcp(h:1)/db", c.FormatDSN())
}

func TestConfigClone(t *testing.T) {
	assert.Nil(t, (*Config)(nil).Clone())

	cfg, err := ParseDSN("u:p@tcp(db.example.com)/db?tls=true&x=1")
	require.NoError(t, err)
	cp := cfg.Clone()
	assertConfigEqual(t, cfg, cp)

	cp.Params["x"] = "2"
	cp.Params["y"] = "3"
	cp.TLS.ServerName = "other"
	assert.Equal(t, map[string]string{"x": "1"}, cfg.Params)
	assert.Equal(t, "db.example.com", cfg.TLS.ServerName)
	assert.NotSame(t, cfg.TLS, cp.TLS)

	empty := &Config{Params: map[string]string{}}
	assert.NotNil(t, empty.Clone().Params, "an empty non-nil map stays non-nil")
	assert.Nil(t, (&Config{}).Clone().Params)
}

// nopTracer is a Tracer that does nothing, comparable with ==.
type nopTracer struct{ name string }

func (*nopTracer) TraceQueryStart(ctx context.Context, _ TraceQueryStartData) context.Context {
	return ctx
}
func (*nopTracer) TraceQueryEnd(context.Context, TraceQueryEndData) {}
func (*nopTracer) TraceExecStart(ctx context.Context, _ TraceExecStartData) context.Context {
	return ctx
}
func (*nopTracer) TraceExecEnd(context.Context, TraceExecEndData) {}

// Tracer, PacketTrace and Logger have no DSN form: FormatDSN leaves them out, Clone shares them.
func TestConfigTracerNoDSNForm(t *testing.T) {
	cfg, err := ParseDSN("u:p@tcp(db:3306)/shop?parseTime=true")
	require.NoError(t, err)
	want := cfg.FormatDSN()
	tr := &nopTracer{"t"}
	var traced int
	cfg.Tracer = tr
	cfg.PacketTrace = func(byte, uint8, []byte) { traced++ }
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	assert.Equal(t, want, cfg.FormatDSN(), "FormatDSN writes no tracer or logger")

	cp := cfg.Clone()
	assert.Same(t, tr, cp.Tracer.(*nopTracer))
	assert.Same(t, cfg.Logger, cp.Logger)
	require.NotNil(t, cp.PacketTrace)
	cp.PacketTrace('>', 0, nil)
	assert.Equal(t, 1, traced, "the clone calls the same PacketTrace")

	back, err := ParseDSN(cfg.FormatDSN())
	require.NoError(t, err)
	assert.Nil(t, back.Tracer)
	assert.Nil(t, back.PacketTrace)
	assert.Nil(t, NewConfig().Tracer)
}

func TestNormalizeDefaults(t *testing.T) {
	c := &Config{}
	require.NoError(t, c.normalize())
	assert.Equal(t, "tcp", c.Net)
	assert.Equal(t, "127.0.0.1:3306", c.Addr)
	assert.Same(t, time.UTC, c.Loc)
	assert.Equal(t, "utf8mb4_general_ci", c.Collation)
	assert.Nil(t, c.TLS)

	u := &Config{Net: "unix"}
	require.NoError(t, u.normalize())
	assert.Equal(t, "/tmp/mysql.sock", u.Addr)

	r := &Config{Net: "registered-elsewhere", Addr: "anything goes"}
	require.NoError(t, r.normalize())
	assert.Equal(t, "anything goes", r.Addr)
}

func TestNormalizeIdempotent(t *testing.T) {
	dsns := []string{
		"",
		"u:p@tcp(db.example.com)/db?tls=true&parseTime=true&loc=Local",
		"tcp(::1)/?tls=preferred",
		"/?tls=skip-verify&x=y",
		"unix(/run/mysqld.sock)/?collation=latin1_swedish_ci",
	}
	for _, dsn := range dsns {
		cfg, err := ParseDSN(dsn)
		require.NoError(t, err, dsn)
		again := cfg.Clone()
		require.NoError(t, again.normalize(), dsn)
		assertConfigEqual(t, cfg, again)
		require.NoError(t, again.normalize(), dsn)
		assertConfigEqual(t, cfg, again)
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		mod func(c *Config)
		msg string
	}{
		{func(c *Config) { c.MaxAllowedPacket = -1 }, "maxAllowedPacket: -1 is out of range"},
		{func(c *Config) { c.MaxAllowedPacket = 1<<30 + 1 }, "maxAllowedPacket: 1073741825 is out of range"},
		{func(c *Config) { c.StmtCacheSize = -1 }, "stmtCacheSize: -1 is out of range"},
		{func(c *Config) { c.Timeout = -time.Second }, "timeout: negative duration -1s"},
		{func(c *Config) { c.ReadTimeout = -1 }, "readTimeout: negative duration"},
		{func(c *Config) { c.WriteTimeout = -1 }, "writeTimeout: negative duration"},
		{func(c *Config) { c.TimeTruncate = -1 }, "timeTruncate: negative duration"},
		{func(c *Config) { c.Params = map[string]string{"parseTime": "true"} }, `Params["parseTime"] is a driver parameter`},
		{func(c *Config) { c.Collation = "nope" }, `collation: unknown collation "nope"`},
		{func(c *Config) { c.Charset = "utf8mb4 COLLATE x" }, "charset: invalid charset"},
		{func(c *Config) { c.Net = "mynet" }, "no default address for this network"},
		{func(c *Config) { c.Addr = "[x]y" }, "invalid TCP address"},
		{func(c *Config) { c.TLSConfig = "unregistered" }, `tls: no TLS config registered as "unregistered"`},
		{func(c *Config) { c.TLSKey = "k.pem" }, "tls-cert and tls-key must be given together"},
		{func(c *Config) { c.InterpolateParams, c.Collation = true, "big5_chinese_ci" }, "interpolateParams cannot be used with the big5"},
	}
	for _, tt := range tests {
		c := NewConfig()
		tt.mod(c)
		err := c.normalize()
		if assert.Error(t, err, tt.msg) {
			assert.Contains(t, err.Error(), "rawmysql: invalid config: ")
			assert.Contains(t, err.Error(), tt.msg)
		}
	}
}

func TestNormalizeUserTLS(t *testing.T) {
	user := &tls.Config{MinVersion: tls.VersionTLS13}
	c := NewConfig()
	c.Addr = "db.example.com"
	c.TLS = user
	c.TLSConfig = "false" // a TLS set in code wins over TLSConfig, as in go-sql-driver
	require.NoError(t, c.normalize())
	require.NotNil(t, c.TLS)
	assert.NotSame(t, user, c.TLS, "the user's config is cloned")
	assert.Equal(t, "", user.ServerName, "the user's config is not modified")
	assert.Equal(t, "db.example.com", c.TLS.ServerName)
	assert.Equal(t, uint16(tls.VersionTLS13), c.TLS.MinVersion)

	// Changes made to the TLS of a parsed Config survive a later normalize (NewConnector).
	cfg, err := ParseDSN("tcp(db.example.com)/?tls=true")
	require.NoError(t, err)
	cfg.TLS.ServerName = "proxy.example.com"
	require.NoError(t, cfg.normalize())
	assert.Equal(t, "proxy.example.com", cfg.TLS.ServerName)
}

// testPKI is a throwaway CA with a server and a client certificate, written as PEM files.
type testPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	otherKey                                             string // a key that matches neither certificate
	caPool                                               *x509.CertPool
	clientDER                                            []byte
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	writePEM := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return der
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rawmysql test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, k *ecdsa.PrivateKey) []byte {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{cn},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		require.NoError(t, err)
		return der
	}
	serverKey, clientKey := newKey(), newKey()
	p := &testPKI{caPool: x509.NewCertPool()}
	p.caPool.AddCert(caCert)
	p.caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	p.serverCert = writePEM("server.pem", "CERTIFICATE", issue(2, "db.test", x509.ExtKeyUsageServerAuth, serverKey))
	p.serverKey = writePEM("server-key.pem", "PRIVATE KEY", keyDER(serverKey))
	p.clientDER = issue(3, "client", x509.ExtKeyUsageClientAuth, clientKey)
	p.clientCert = writePEM("client.pem", "CERTIFICATE", p.clientDER)
	p.clientKey = writePEM("client-key.pem", "PRIVATE KEY", keyDER(clientKey))
	p.otherKey = writePEM("other-key.pem", "PRIVATE KEY", keyDER(newKey()))
	return p
}

// handshake runs a TLS handshake over loopback TCP between a server using the PKI's server certificate
// (requiring a client certificate signed by the CA when requireClient) and a client using client.
func (p *testPKI) handshake(t *testing.T, client *tls.Config, requireClient bool) (clientErr, serverErr error) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if requireClient {
		srvCfg.ClientAuth = tls.RequireAndVerifyClientCert
		srvCfg.ClientCAs = p.caPool
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		s := tls.Server(c, srvCfg)
		err = s.Handshake()
		_ = s.Close()
		done <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	cl := tls.Client(conn, client)
	clientErr = cl.Handshake()
	if clientErr == nil {
		// TLS 1.3 reports a refused client certificate after the client's handshake: read to learn of it.
		_, clientErr = cl.Read(make([]byte, 1))
		if errors.Is(clientErr, io.EOF) {
			clientErr = nil
		}
	}
	_ = cl.Close()
	serverErr = <-done
	return clientErr, serverErr
}

func TestTLSFiles(t *testing.T) {
	p := newTestPKI(t)

	t.Run("ca only implies tls=true", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(db.test)/?tls-ca=" + p.caFile)
		require.NoError(t, err)
		require.NotNil(t, cfg.TLS)
		assert.Equal(t, "", cfg.TLSConfig)
		assert.Equal(t, "db.test", cfg.TLS.ServerName)
		assert.False(t, cfg.TLS.InsecureSkipVerify)
		require.NotNil(t, cfg.TLS.RootCAs)
		assert.True(t, p.caPool.Equal(cfg.TLS.RootCAs))
		assert.Empty(t, cfg.TLS.Certificates)

		clientErr, serverErr := p.handshake(t, cfg.TLS, false)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)
	})

	t.Run("ca, cert and key", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(db.test:3306)/?tls=true&tls-ca=" + p.caFile + "&tls-cert=" + p.clientCert + "&tls-key=" + p.clientKey)
		require.NoError(t, err)
		require.NotNil(t, cfg.TLS)
		require.Len(t, cfg.TLS.Certificates, 1)
		assert.Equal(t, p.clientDER, cfg.TLS.Certificates[0].Certificate[0])

		clientErr, serverErr := p.handshake(t, cfg.TLS, true)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)

		// The DSN round trip keeps the files and gives the same TLS.
		again, err := ParseDSN(cfg.FormatDSN())
		require.NoError(t, err)
		assertConfigEqual(t, cfg, again)
	})

	t.Run("verification uses the CA and the host name", func(t *testing.T) {
		// Without tls-ca the system roots do not know the test CA.
		cfg, err := ParseDSN("tcp(db.test)/?tls=true")
		require.NoError(t, err)
		clientErr, _ := p.handshake(t, cfg.TLS, false)
		require.Error(t, clientErr)

		// A host name the certificate does not name fails too.
		cfg, err = ParseDSN("tcp(other.test)/?tls-ca=" + p.caFile)
		require.NoError(t, err)
		clientErr, _ = p.handshake(t, cfg.TLS, false)
		require.Error(t, clientErr)
	})

	t.Run("skip-verify with a client certificate", func(t *testing.T) {
		cfg, err := ParseDSN("tcp(1.2.3.4)/?tls=skip-verify&tls-cert=" + p.clientCert + "&tls-key=" + p.clientKey)
		require.NoError(t, err)
		assert.True(t, cfg.TLS.InsecureSkipVerify)
		assert.Equal(t, "", cfg.TLS.ServerName)
		require.Len(t, cfg.TLS.Certificates, 1)
		clientErr, serverErr := p.handshake(t, cfg.TLS, true)
		require.NoError(t, clientErr)
		require.NoError(t, serverErr)
	})

	t.Run("registered config with files on top", func(t *testing.T) {
		reg := &tls.Config{MinVersion: tls.VersionTLS12}
		require.NoError(t, RegisterTLSConfig("dsn-test-files", reg))
		t.Cleanup(func() { DeregisterTLSConfig("dsn-test-files") })

		cfg, err := ParseDSN("tcp(db.test)/?tls=dsn-test-files&tls-ca=" + p.caFile)
		require.NoError(t, err)
		assert.Equal(t, uint16(tls.VersionTLS12), cfg.TLS.MinVersion)
		assert.Equal(t, "db.test", cfg.TLS.ServerName)
		assert.True(t, p.caPool.Equal(cfg.TLS.RootCAs))
		assert.Nil(t, getTLSConfigClone("dsn-test-files").RootCAs, "the registered config is not modified")
	})

	t.Run("errors name the file and the cause", func(t *testing.T) {
		_, err := ParseDSN("/?tls-ca=" + p.clientKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-ca: no PEM certificate found in \""+p.clientKey+"\"")

		_, err = ParseDSN("/?tls-cert=" + p.clientCert + "&tls-key=" + p.otherKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-cert/tls-key: loading \""+p.clientCert+"\" and \""+p.otherKey+"\"")
		assert.Contains(t, err.Error(), "private key does not match public key")

		missing := filepath.Join(filepath.Dir(p.clientKey), "absent.pem")
		_, err = ParseDSN("/?tls-cert=" + p.clientCert + "&tls-key=" + missing)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-key: cannot read \""+missing+"\"")
		assert.True(t, errors.Is(err, fs.ErrNotExist))

		_, err = ParseDSN("/?tls-cert=" + p.clientKey + "&tls-key=" + p.clientKey)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "tls-cert/tls-key")
	})
}
