package rawmysql

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		case "charset", "collation", "connectionAttributes", "serverPubKey", "tls-ca", "tls-cert", "tls-key", "tls",
			"gtidWatermark":
			continue // strings: "maybe" is well-formed here (refused later, if at all, for another reason)
		}
		n++
		_, err := ParseDSN("/?" + key + "=maybe")
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), "rawmysql: invalid DSN: "+key+": ")
		assert.Contains(t, err.Error(), `"maybe"`)
	}
	assert.Equal(t, 31, n, "18 booleans, 7 durations, 3 integers, loc, loadBalance and targetServer")
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

// nopTracer is a Tracer implementing no sub-interface, comparable with ==.
type nopTracer struct{ name string }
