package rawmysql

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterTLSConfigReserved(t *testing.T) {
	for _, key := range []string{"", "true", "TRUE", "True", "tRuE", "false", "False", "1", "0", "t", "F",
		"skip-verify", "SKIP-VERIFY", "preferred", "Preferred"} {
		err := RegisterTLSConfig(key, &tls.Config{})
		if assert.Error(t, err, key) {
			assert.Contains(t, err.Error(), "rawmysql: TLS config key "+strconv.Quote(key)+" is reserved")
		}
		assert.Nil(t, getTLSConfigClone(key), key)
	}
	err := RegisterTLSConfig("reg-test-nil", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rawmysql: ")
	assert.Nil(t, getTLSConfigClone("reg-test-nil"))
}

func TestRegisterTLSConfig(t *testing.T) {
	const key = "reg-test-custom"
	orig := &tls.Config{ServerName: "registered.example.com", MinVersion: tls.VersionTLS13}
	require.NoError(t, RegisterTLSConfig(key, orig))
	t.Cleanup(func() { DeregisterTLSConfig(key) })

	// Changing the caller's config after registration has no effect.
	orig.ServerName = "changed.example.com"

	cfg, err := ParseDSN("tcp(db.example.com)/?tls=" + key)
	require.NoError(t, err)
	assert.Equal(t, key, cfg.TLSConfig)
	require.NotNil(t, cfg.TLS)
	assert.Equal(t, "registered.example.com", cfg.TLS.ServerName)
	assert.Equal(t, uint16(tls.VersionTLS13), cfg.TLS.MinVersion)

	// Each Config gets its own clone.
	cfg.TLS.ServerName = "mine"
	again := getTLSConfigClone(key)
	require.NotNil(t, again)
	assert.Equal(t, "registered.example.com", again.ServerName)
	assert.Equal(t, "tcp(db.example.com:3306)/?tls="+key, cfg.FormatDSN())

	// A registered config without ServerName gets the host of Addr; with InsecureSkipVerify it stays empty.
	require.NoError(t, RegisterTLSConfig(key, &tls.Config{}))
	cfg, err = ParseDSN("tcp(10.1.2.3:3307)/?tls=" + key)
	require.NoError(t, err)
	assert.Equal(t, "10.1.2.3", cfg.TLS.ServerName)
	require.NoError(t, RegisterTLSConfig(key, &tls.Config{InsecureSkipVerify: true}))
	cfg, err = ParseDSN("tcp(10.1.2.3:3307)/?tls=" + key)
	require.NoError(t, err)
	assert.Equal(t, "", cfg.TLS.ServerName)

	// Names are URL-unescaped like every value, and are case-sensitive.
	const spaced = "reg test spaced"
	require.NoError(t, RegisterTLSConfig(spaced, &tls.Config{ServerName: "s"}))
	t.Cleanup(func() { DeregisterTLSConfig(spaced) })
	cfg, err = ParseDSN("/?tls=reg+test%20spaced")
	require.NoError(t, err)
	assert.Equal(t, spaced, cfg.TLSConfig)
	_, err = ParseDSN("/?tls=REG-TEST-CUSTOM")
	require.Error(t, err)

	DeregisterTLSConfig(key)
	assert.Nil(t, getTLSConfigClone(key))
	_, err = ParseDSN("/?tls=" + key)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tls: no TLS config registered as "`+key+`"`)
	DeregisterTLSConfig("reg-test-never-registered") // no-op
}

func TestRegisterServerPubKey(t *testing.T) {
	const name = "reg-test-key"
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub := &priv.PublicKey

	RegisterServerPubKey(name, pub)
	t.Cleanup(func() { DeregisterServerPubKey(name) })

	got := getServerPubKey(name)
	require.NotNil(t, got)
	assert.True(t, pub.Equal(got))
	assert.NotSame(t, pub, got)
	assert.NotSame(t, pub.N, got.N, "the modulus is copied")

	cfg, err := ParseDSN("/?serverPubKey=" + name)
	require.NoError(t, err)
	assert.Equal(t, name, cfg.ServerPubKey)
	require.NotNil(t, cfg.pubKey)
	assert.True(t, pub.Equal(cfg.pubKey))
	assert.Equal(t, "tcp(127.0.0.1:3306)/?serverPubKey="+name, cfg.FormatDSN())

	cp := cfg.Clone()
	assert.True(t, pub.Equal(cp.pubKey))
	assert.NotSame(t, cfg.pubKey, cp.pubKey)

	// Clearing ServerPubKey clears the resolved key on the next normalize.
	cfg.ServerPubKey = ""
	require.NoError(t, cfg.normalize())
	assert.Nil(t, cfg.pubKey)

	DeregisterServerPubKey(name)
	assert.Nil(t, getServerPubKey(name))
	_, err = ParseDSN("/?serverPubKey=" + name)
	require.Error(t, err)

	RegisterServerPubKey(name, pub)
	require.NotNil(t, getServerPubKey(name))
	RegisterServerPubKey(name, nil) // nil removes
	assert.Nil(t, getServerPubKey(name))
}

func TestRegisterDialContext(t *testing.T) {
	const netName = "reg-test-net"
	var gotAddr string
	server, client := net.Pipe()
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	RegisterDialContext(netName, func(ctx context.Context, addr string) (net.Conn, error) {
		gotAddr = addr
		return client, ctx.Err()
	})
	t.Cleanup(func() { DeregisterDialContext(netName) })

	cfg, err := ParseDSN("u@" + netName + "(some-instance:region)/db")
	require.NoError(t, err)
	assert.Equal(t, netName, cfg.Net)
	assert.Equal(t, "some-instance:region", cfg.Addr)

	dial := getDialContext(cfg.Net)
	require.NotNil(t, dial)
	conn, err := dial(context.Background(), cfg.Addr)
	require.NoError(t, err)
	assert.Same(t, client, conn)
	assert.Equal(t, "some-instance:region", gotAddr)

	// A registered network has no default address.
	_, err = ParseDSN(netName + "/db")
	require.Error(t, err)

	DeregisterDialContext(netName)
	assert.Nil(t, getDialContext(netName))

	RegisterDialContext(netName, func(context.Context, string) (net.Conn, error) { return nil, nil })
	require.NotNil(t, getDialContext(netName))
	RegisterDialContext(netName, nil) // nil removes
	assert.Nil(t, getDialContext(netName))
	assert.Nil(t, getDialContext("tcp"), "nothing is registered for tcp by default")
}

// TestRegistryConcurrent exercises the registries from several goroutines; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "reg-test-conc-" + strconv.Itoa(g%2)
			for i := range 200 {
				switch i % 3 {
				case 0:
					assert.NoError(t, RegisterTLSConfig(name, &tls.Config{ServerName: name}))
					RegisterServerPubKey(name, &priv.PublicKey)
					RegisterDialContext(name, func(context.Context, string) (net.Conn, error) { return nil, nil })
				case 1:
					if c := getTLSConfigClone(name); c != nil {
						assert.Equal(t, name, c.ServerName)
					}
					if k := getServerPubKey(name); k != nil {
						assert.True(t, priv.PublicKey.Equal(k))
					}
					_ = getDialContext(name)
				case 2:
					DeregisterTLSConfig(name)
					DeregisterServerPubKey(name)
					DeregisterDialContext(name)
				}
			}
		}()
	}
	wg.Wait()
	for g := range 2 {
		name := "reg-test-conc-" + strconv.Itoa(g)
		DeregisterTLSConfig(name)
		DeregisterServerPubKey(name)
		DeregisterDialContext(name)
	}
}
