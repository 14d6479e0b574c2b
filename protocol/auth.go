package protocol

import (
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
)

// AuthState is what an auth plugin may use while authenticating one connection.
type AuthState struct {
	Password string
	Scramble []byte // the current auth data (handshake scramble, or the one from an AuthSwitchRequest)
	TLS      bool   // the connection is TLS-encrypted
	Unix     bool   // the connection is a unix socket (password may travel in clear)
	Opts     *Options
	// ServerPubKey is the RSA key to encrypt passwords with (pinned by the user or fetched from the server).
	ServerPubKey *rsa.PublicKey
	// Private per-plugin state (e.g. which step of a multi-step exchange we are in).
	Step int
}

// Secure reports whether the channel protects a password sent in clear (TLS or unix socket).
func (a *AuthState) Secure() bool { return a.TLS || a.Unix }

// AuthPlugin computes the client side of one authentication method.
type AuthPlugin interface {
	// Name is the plugin name servers use, e.g. "mysql_native_password".
	Name() string
	// Start returns the first auth response for a.Scramble.
	Start(a *AuthState) ([]byte, error)
	// Continue handles an AuthMoreData packet (payload without the 0x01 header). It returns the next packet
	// to send, or send=false to read the server's next packet without sending anything.
	Continue(a *AuthState, data []byte) (resp []byte, send bool, err error)
}

var (
	pluginsMu sync.RWMutex
	plugins   = map[string]AuthPlugin{}
)

// RegisterAuthPlugin makes an auth plugin available to every connection (replacing one of the same name).
func RegisterAuthPlugin(p AuthPlugin) {
	pluginsMu.Lock()
	plugins[p.Name()] = p
	pluginsMu.Unlock()
}

// LookupAuthPlugin returns the registered plugin with that name.
func LookupAuthPlugin(name string) (AuthPlugin, bool) {
	pluginsMu.RLock()
	p, ok := plugins[name]
	pluginsMu.RUnlock()
	return p, ok
}

// AuthPluginNames lists the registered plugins, sorted.
func AuthPluginNames() []string {
	pluginsMu.RLock()
	defer pluginsMu.RUnlock()
	names := make([]string, 0, len(plugins))
	for n := range plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// UnsupportedPluginError is returned when the server asks for an auth plugin rawmysql does not implement
// (or that the configuration forbids).
type UnsupportedPluginError struct {
	Plugin string
	Reason string // why it cannot be used; empty when it is simply unknown
}

// Error names the plugin.
func (e *UnsupportedPluginError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("rawmysql: authentication plugin %q refused: %s", e.Plugin, e.Reason)
	}
	return fmt.Sprintf("rawmysql: authentication plugin %q requested by the server is not supported (supported: %v)", e.Plugin, AuthPluginNames())
}

func init() { RegisterAuthPlugin(nativePassword{}) }

// nativePassword is mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_authentication_methods_native_password_authentication.html.
type nativePassword struct{}

func (nativePassword) Name() string { return "mysql_native_password" }

func (nativePassword) Start(a *AuthState) ([]byte, error) {
	if a.Opts != nil && !a.Opts.AllowNativePasswords {
		return nil, &UnsupportedPluginError{Plugin: "mysql_native_password", Reason: "disabled by allowNativePasswords=false"}
	}
	return ScrambleNativePassword(a.Scramble, a.Password), nil
}

func (nativePassword) Continue(a *AuthState, data []byte) ([]byte, bool, error) {
	return nil, false, protoErr("auth mysql_native_password", "unexpected AuthMoreData packet")
}

// ScrambleNativePassword computes the mysql_native_password response for a 20-byte scramble. An empty
// password gives an empty response.
func ScrambleNativePassword(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	if len(scramble) > 20 {
		scramble = scramble[:20]
	}
	stage1 := sha1.Sum([]byte(password))
	stage2 := sha1.Sum(stage1[:])
	h := sha1.New()
	h.Write(scramble)
	h.Write(stage2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= stage1[i]
	}
	return out
}

// Server error numbers for an expired password: ER_MUST_CHANGE_PASSWORD_LOGIN is sent at login when the
// server disconnects such accounts; ER_MUST_CHANGE_PASSWORD answers every statement of a session that was let in
// "sandbox mode" (MariaDB's default, disconnect_on_expired_password=OFF).
const (
	ErMustChangePasswordLogin = 1862
	ErMustChangePassword      = 1820
)

// ExpiredPasswordError is returned when the account's password has expired. It wraps the server's error, so
// errors.As to *ServerError still works.
type ExpiredPasswordError struct {
	User string // the account's user name ("" when not known where the error was met)
	Err  *ServerError
}

// Error says whose password expired and how to set a new one.
func (e *ExpiredPasswordError) Error() string {
	who := "the account"
	if e.User != "" {
		who = "user " + strconv.Quote(e.User)
	}
	return "rawmysql: the password of " + who + " has expired: set a new one " +
		"(ALTER USER / SET PASSWORD) with an administrative client; server said: " + e.Err.Message
}

// Unwrap returns the server's error.
func (e *ExpiredPasswordError) Unwrap() error { return e.Err }

// authServerError names the cause of an ERR packet received during authentication when the server's text may
// not (an expired password); other errors are returned as they are.
func authServerError(err error, user string) error {
	var se *ServerError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Number {
	case ErMustChangePasswordLogin, ErMustChangePassword:
		return &ExpiredPasswordError{User: user, Err: se}
	}
	return err
}
