package rawmysql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDSNHosts(t *testing.T) {
	cfg, err := ParseDSN("u:p@tcp(db1:3307,db2,[::1],10.0.0.9:3310)/shop?loadBalance=roundrobin&hostBackoff=30s&targetServer=preferReplica&targetRecheck=0s")
	require.NoError(t, err)
	assert.Equal(t, []string{"db1:3307", "db2:3306", "[::1]:3306", "10.0.0.9:3310"}, cfg.Addrs)
	assert.Equal(t, "db1:3307", cfg.Addr)
	assert.Equal(t, LoadBalanceRoundRobin, cfg.LoadBalance)
	assert.Equal(t, 30*time.Second, cfg.HostBackoff)
	assert.Equal(t, TargetPreferReplica, cfg.TargetServer)
	assert.Equal(t, time.Duration(0), cfg.TargetRecheck)

	formatted := cfg.FormatDSN()
	assert.Equal(t, "u:p@tcp(db1:3307,db2:3306,[::1]:3306,10.0.0.9:3310)/shop?hostBackoff=30s&loadBalance=roundrobin&targetRecheck=0s&targetServer=preferReplica", formatted)
	again, err := ParseDSN(formatted)
	require.NoError(t, err)
	assertConfigEqual(t, cfg, again)

	// One host in a list is a plain Addr; defaults are not written.
	cfg, err = ParseDSN("tcp(db1)/x?loadBalance=failover&targetServer=any")
	require.NoError(t, err)
	assert.Nil(t, cfg.Addrs)
	assert.Equal(t, "db1:3306", cfg.Addr)
	assert.Equal(t, "tcp(db1:3306)/x", cfg.FormatDSN())

	// A Config built in code: Addrs wins over Addr, and normalize is idempotent.
	c := NewConfig()
	c.Addrs = []string{"a", "b:1"}
	conn, err := NewConnector(c)
	require.NoError(t, err)
	assert.Equal(t, []string{"a:3306", "b:1"}, conn.cfg.Addrs)
	assert.Equal(t, "a:3306", conn.cfg.Addr)
	assert.Equal(t, "tcp(a:3306,b:1)/", conn.cfg.FormatDSN())

	for dsn, msg := range map[string]string{
		"tcp(a,,b)/":                "empty host in the host list",
		"tcp(a,[b)/":                `invalid TCP address "[b" in the host list`,
		"tcp(a,b)/?loadBalance=lol": `loadBalance: unknown strategy "lol"`,
		"/?targetServer=master":     `targetServer: unknown target "master"`,
		"/?hostBackoff=-1s":         "hostBackoff: negative duration",
	} {
		_, err := ParseDSN(dsn)
		require.Error(t, err, dsn)
		assert.Contains(t, err.Error(), "rawmysql: invalid DSN: "+msg, dsn)
	}

	// A unix socket path may contain a comma: it is not a host list.
	cfg, err = ParseDSN("unix(/tmp/a,b.sock)/")
	require.NoError(t, err)
	assert.Equal(t, "/tmp/a,b.sock", cfg.Addr)
	assert.Nil(t, cfg.Addrs)
}
