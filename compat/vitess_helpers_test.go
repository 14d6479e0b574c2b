package compat

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/stretchr/testify/require"
)

// authServer is a vitess mysql.AuthServer holding plain-text passwords and, like MySQL's caching_sha2_password,
// a cache of users who completed a full authentication: a cached user gets the fast path (scramble check, 0x03),
// any other one the full authentication (0x04, password over TLS or a unix socket).
type authServer struct {
	users   map[string]string
	methods []mysql.AuthMethod
	def     mysql.AuthMethodDescription

	mu     sync.Mutex
	cached map[string]bool

	fastAuths, fullAuths, clearAuths atomic.Int64
}

// newAuthServer creates an auth server offering def in the handshake and methods for the accounts.
func newAuthServer(users map[string]string, def mysql.AuthMethodDescription, methods ...mysql.AuthMethodDescription) *authServer {
	a := &authServer{users: users, def: def, cached: map[string]bool{}}
	for _, m := range methods {
		switch m {
		case mysql.CachingSha2Password:
			a.methods = append(a.methods, mysql.NewSha2CachingAuthMethod(a, a, a))
		case mysql.MysqlNativePassword:
			a.methods = append(a.methods, mysql.NewMysqlNativeAuthMethod(a, a))
		case mysql.MysqlClearPassword:
			a.methods = append(a.methods, mysql.NewMysqlClearAuthMethod(a, a))
		}
	}
	return a
}

func (a *authServer) AuthMethods() []mysql.AuthMethod                           { return a.methods }
func (a *authServer) DefaultAuthMethodDescription() mysql.AuthMethodDescription { return a.def }
func (a *authServer) HandleUser(user string, _ net.Addr) bool                   { return true }

func accessDenied(user string) error {
	return mysql.NewSQLError(mysql.ERAccessDeniedError, mysql.SSAccessDeniedError, "Access denied for user '%v'", user)
}

// UserEntryWithCacheHash is the fast path of caching_sha2_password.
func (a *authServer) UserEntryWithCacheHash(_ []*x509.Certificate, salt []byte, user string, resp []byte, _ net.Addr) (mysql.Getter, mysql.CacheState, error) {
	pw, ok := a.users[user]
	if !ok {
		return nil, mysql.AuthRejected, accessDenied(user)
	}
	a.mu.Lock()
	cached := a.cached[user]
	a.mu.Unlock()
	if !cached {
		return nil, mysql.AuthNeedMoreData, nil
	}
	if subtle.ConstantTimeCompare(resp, mysql.ScrambleCachingSha2Password(salt, []byte(pw))) != 1 {
		return nil, mysql.AuthRejected, accessDenied(user)
	}
	a.fastAuths.Add(1)
	return &mysql.StaticUserData{}, mysql.AuthAccepted, nil
}

// UserEntryWithPassword checks a password received in clear (caching_sha2 full auth, mysql_clear_password).
func (a *authServer) UserEntryWithPassword(_ []*x509.Certificate, user, password string, _ net.Addr) (mysql.Getter, error) {
	pw, ok := a.users[user]
	if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(password)) != 1 {
		return nil, accessDenied(user)
	}
	a.mu.Lock()
	a.cached[user] = true
	a.mu.Unlock()
	if a.def == mysql.MysqlClearPassword || len(a.methods) > 0 && a.methods[0].Name() == mysql.MysqlClearPassword {
		a.clearAuths.Add(1)
	} else {
		a.fullAuths.Add(1)
	}
	return &mysql.StaticUserData{}, nil
}

// UserEntryWithHash is mysql_native_password.
func (a *authServer) UserEntryWithHash(_ []*x509.Certificate, salt []byte, user string, resp []byte, _ net.Addr) (mysql.Getter, error) {
	pw, ok := a.users[user]
	if !ok || subtle.ConstantTimeCompare(resp, mysql.ScrambleMysqlNativePassword(salt, []byte(pw))) != 1 {
		return nil, accessDenied(user)
	}
	return &mysql.StaticUserData{}, nil
}

// handler answers every query with one row holding the connected user's name and the query text.
type handler struct{}

func (handler) NewConnection(*mysql.Conn)                   {}
func (handler) ConnectionClosed(*mysql.Conn)                {}
func (handler) ConnectionAborted(*mysql.Conn, string) error { return nil }
func (handler) ComInitDB(*mysql.Conn, string) error         { return nil }
func (handler) WarningCount(*mysql.Conn) uint16             { return 0 }
func (handler) ComResetConnection(*mysql.Conn) error        { return nil }
func (handler) ParserOptionsForConnection(*mysql.Conn) (sqlparser.ParserOptions, error) {
	return sqlparser.ParserOptions{}, nil
}

func (handler) ComQuery(_ context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn) error {
	return cb(&sqltypes.Result{
		Fields: []*querypb.Field{{Name: "user", Type: querypb.Type_VARCHAR}, {Name: "query", Type: querypb.Type_VARCHAR}},
		Rows: [][]sqltypes.Value{{
			sqltypes.MakeTrusted(querypb.Type_VARCHAR, []byte(c.User)),
			sqltypes.MakeTrusted(querypb.Type_VARCHAR, []byte(query)),
		}},
	}, false)
}

func (h handler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, cb mysql.ResultSpoolFn) (string, error) {
	return "", h.ComQuery(ctx, c, query, cb)
}

func (handler) ComPrepare(context.Context, *mysql.Conn, string, *mysql.PrepareData) ([]*querypb.Field, error) {
	return nil, mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "prepare not supported here")
}

func (handler) ComStmtExecute(context.Context, *mysql.Conn, *mysql.PrepareData, func(*sqltypes.Result) error) error {
	return mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState, "execute not supported here")
}

// startVitess starts a vitess listener on network ("tcp" on 127.0.0.1, or "unix" in a temp dir) with auth and
// optional TLS; it returns the address and closes the listener at the end of the test.
func startVitess(t *testing.T, network string, auth *authServer, tlsCfg *tls.Config) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = t.TempDir() + "/vt.sock"
	}
	ln, err := net.Listen(network, addr)
	require.NoError(t, err)
	l, err := mysql.NewFromListener(ln, auth, handler{}, 30*time.Second, 30*time.Second)
	require.NoError(t, err)
	l.TLSConfig = tlsCfg
	l.ServerVersion = "8.0.36-vitess"
	go l.Accept()
	t.Cleanup(l.Close)
	return ln.Addr().String()
}

// selfSignedTLS returns a server TLS config with a new certificate for 127.0.0.1, and a pool trusting it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "vitess test server"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
