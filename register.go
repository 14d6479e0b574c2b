package rawmysql

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
)

// DialContextFunc dials addr for a network name registered with RegisterDialContext.
type DialContextFunc func(ctx context.Context, addr string) (net.Conn, error)

// The registries behind the DSN's tls=<name>, serverPubKey=<name> and net(addr) values. The names and signatures
// of the Register/Deregister functions are those of github.com/go-sql-driver/mysql.
var (
	registryMu    sync.RWMutex
	tlsConfigs    map[string]*tls.Config
	serverPubKeys map[string]*rsa.PublicKey
	dialFuncs     map[string]DialContextFunc
)

// isReservedTLSKey reports whether key cannot name a registered TLS config because the DSN's tls parameter gives
// it another meaning: the empty string, a boolean spelling accepted by strconv.ParseBool ("true", "0", "F", ...),
// "skip-verify" and "preferred" (in any case).
func isReservedTLSKey(key string) bool {
	if key == "" {
		return true
	}
	if _, err := strconv.ParseBool(key); err == nil {
		return true
	}
	switch strings.ToLower(key) {
	case "true", "false", "skip-verify", "preferred":
		return true
	}
	return false
}

// RegisterTLSConfig registers a TLS configuration under key, to be selected with tls=<key> in a DSN or
// Config.TLSConfig. The configuration is cloned on registration and again for each Config using it, so later
// changes to config have no effect. Reserved keys (true, false and the other boolean spellings, skip-verify,
// preferred, in any case) and a nil config are errors. Registering an existing key replaces it.
func RegisterTLSConfig(key string, config *tls.Config) error {
	if isReservedTLSKey(key) {
		return errors.New("rawmysql: TLS config key " + strconv.Quote(key) + " is reserved")
	}
	if config == nil {
		return errors.New("rawmysql: RegisterTLSConfig: nil *tls.Config for key " + strconv.Quote(key))
	}
	c := config.Clone()
	registryMu.Lock()
	defer registryMu.Unlock()
	if tlsConfigs == nil {
		tlsConfigs = make(map[string]*tls.Config)
	}
	tlsConfigs[key] = c
	return nil
}

// DeregisterTLSConfig removes the TLS configuration registered under key; unknown keys are ignored.
func DeregisterTLSConfig(key string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(tlsConfigs, key)
}

// getTLSConfigClone returns a clone of the TLS configuration registered under key, or nil.
func getTLSConfigClone(key string) *tls.Config {
	registryMu.RLock()
	defer registryMu.RUnlock()
	if c, ok := tlsConfigs[key]; ok {
		return c.Clone()
	}
	return nil
}

// clonePublicKey returns a deep copy of k (nil for nil).
func clonePublicKey(k *rsa.PublicKey) *rsa.PublicKey {
	if k == nil {
		return nil
	}
	c := &rsa.PublicKey{E: k.E}
	if k.N != nil {
		c.N = new(big.Int).Set(k.N)
	}
	return c
}

// RegisterServerPubKey registers the server's RSA public key under name, to be selected with serverPubKey=<name>
// in a DSN or Config.ServerPubKey. With it, sha256_password and caching_sha2_password encrypt the password
// without asking the server for its key. The key is copied; a nil key removes the name.
func RegisterServerPubKey(name string, pubKey *rsa.PublicKey) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if pubKey == nil {
		delete(serverPubKeys, name)
		return
	}
	if serverPubKeys == nil {
		serverPubKeys = make(map[string]*rsa.PublicKey)
	}
	serverPubKeys[name] = clonePublicKey(pubKey)
}

// DeregisterServerPubKey removes the public key registered under name; unknown names are ignored.
func DeregisterServerPubKey(name string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(serverPubKeys, name)
}

// getServerPubKey returns a copy of the public key registered under name, or nil.
func getServerPubKey(name string) *rsa.PublicKey {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return clonePublicKey(serverPubKeys[name])
}

// RegisterDialContext makes DSNs of the form net(addr) dial with dial, which receives the context of the
// connection attempt and addr. It can add a network name ("cloudsql", "ssh") or replace the dialer of "tcp" or
// "unix". Config.DialFunc, when set, takes precedence. A nil dial removes the name.
func RegisterDialContext(net string, dial DialContextFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if dial == nil {
		delete(dialFuncs, net)
		return
	}
	if dialFuncs == nil {
		dialFuncs = make(map[string]DialContextFunc)
	}
	dialFuncs[net] = dial
}

// DeregisterDialContext removes the dial function registered for net; unknown names are ignored.
func DeregisterDialContext(net string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(dialFuncs, net)
}

// getDialContext returns the dial function registered for net, or nil.
func getDialContext(net string) DialContextFunc {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return dialFuncs[net]
}
