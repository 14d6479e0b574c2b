package protocol

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// caching_sha2_password and sha256_password: the SHA-256 based plugins of MySQL 8.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_caching_sha2_authentication_exchanges.html and
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_authentication_methods_sha256_password_authentication.html.

func init() {
	RegisterAuthPlugin(cachingSHA2Password{})
	RegisterAuthPlugin(sha256Password{})
}

// AuthMoreData bytes of caching_sha2_password and the client's requests for the server's RSA key.
const (
	sha2RequestPublicKey = 0x02 // caching_sha2_password: client asks for the server's RSA public key
	sha2FastAuthSuccess  = 0x03 // caching_sha2_password: the scramble matched the server's cache; OK follows
	sha2FullAuth         = 0x04 // caching_sha2_password: the server needs the password itself
	sha256RequestKey     = 0x01 // sha256_password: client asks for the server's RSA public key
)

// Steps of the SHA-256 plugins (AuthState.Step).
const (
	sha2Start        = iota // the scramble (caching_sha2) or first response (sha256) was sent
	sha2FastDone            // 0x03 received: only OK or ERR may follow
	sha2KeyRequested        // the public key was requested: the next AuthMoreData is a PEM key
	sha2PasswordSent        // the password (clear or encrypted) was sent: only OK or ERR may follow
)

// AuthError explains why the client cannot (or will not) complete an authentication exchange. It never
// contains the password.
type AuthError struct {
	Plugin string // the auth plugin, e.g. "caching_sha2_password"
	Msg    string // the cause and what to do about it
}

// Error names the plugin and the cause.
func (e *AuthError) Error() string {
	return "rawmysql: authentication with " + e.Plugin + " failed: " + e.Msg
}

// ScrambleCachingSHA2 computes the caching_sha2_password fast-auth response:
// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). An empty password gives an empty response.
// The scramble is the 20-byte nonce of the handshake (a trailing NUL is ignored).
func ScrambleCachingSHA2(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	if len(scramble) > 20 {
		scramble = scramble[:20]
	}
	stage1 := sha256.Sum256([]byte(password))
	stage2 := sha256.Sum256(stage1[:])
	h := sha256.New()
	h.Write(stage2[:])
	h.Write(scramble)
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= stage1[i]
	}
	return out
}

// EncryptPassword encrypts password+NUL, XORed with the scramble (repeated), with RSA-OAEP (SHA-1) under pub,
// as caching_sha2_password and sha256_password expect on a channel that is not secure.
func EncryptPassword(password string, scramble []byte, pub *rsa.PublicKey) ([]byte, error) {
	if len(scramble) > 20 {
		scramble = scramble[:20]
	}
	plain := make([]byte, len(password)+1)
	copy(plain, password)
	if len(scramble) > 0 {
		for i := range plain {
			plain[i] ^= scramble[i%len(scramble)]
		}
	}
	out, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, plain, nil)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("rawmysql: encrypting the password with the server's RSA key: %w", err)
	}
	return out, nil
}

// ParsePublicKey decodes a PEM RSA public key ("PUBLIC KEY", PKIX, as MySQL sends it, or "RSA PUBLIC KEY",
// PKCS #1).
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, protoErr("AuthMoreData", "server public key: no PEM block in %d bytes", len(data))
	}
	switch block.Type {
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, protoErr("AuthMoreData", "server public key: %v", err)
		}
		return k, nil
	default:
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, protoErr("AuthMoreData", "server public key: %v", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, protoErr("AuthMoreData", "server public key is a %T, not RSA", k)
		}
		return rk, nil
	}
}

func allowKeyRetrieval(a *AuthState) bool { return a.Opts != nil && a.Opts.AllowPublicKeyRetrieval }

// needKeyError is the error for a password that may travel neither in clear nor encrypted.
func needKeyError(plugin string) error {
	return &AuthError{Plugin: plugin, Msg: "the server asked for the full password (its authentication cache " +
		"is cold, or the password is wrong), but the connection is neither TLS nor a unix socket and no RSA " +
		"public key of the server is known, so it was not sent; use TLS (leave tls unset or tls=true), pin the server's " +
		"key (serverPubKey=<name> registered with RegisterServerPubKey), or let the driver fetch it " +
		"(allowPublicKeyRetrieval=true, open to a man in the middle)"}
}

// cachingSHA2Password is caching_sha2_password, the default plugin of MySQL 8.0+.
type cachingSHA2Password struct{}

func (cachingSHA2Password) Name() string { return "caching_sha2_password" }

func (cachingSHA2Password) Start(a *AuthState) ([]byte, error) {
	a.Step = sha2Start
	return ScrambleCachingSHA2(a.Scramble, a.Password), nil
}

func (p cachingSHA2Password) Continue(a *AuthState, data []byte) ([]byte, bool, error) {
	const pkt = "AuthMoreData (caching_sha2_password)"
	if a.Step == sha2KeyRequested {
		return encryptWithReceivedKey(a, data)
	}
	if len(data) == 0 {
		return nil, false, protoErr(pkt, "empty packet")
	}
	if a.Step != sha2Start {
		return nil, false, protoErr(pkt, "unexpected packet 0x%02x after the exchange ended", data[0])
	}
	if len(data) != 1 {
		return nil, false, protoErr(pkt, "%d bytes, expected 1", len(data))
	}
	switch data[0] {
	case sha2FastAuthSuccess:
		a.Step = sha2FastDone
		return nil, false, nil
	case sha2FullAuth:
		switch {
		case a.Secure():
			a.Step = sha2PasswordSent
			return append([]byte(a.Password), 0), true, nil
		case a.ServerPubKey != nil:
			enc, err := EncryptPassword(a.Password, a.Scramble, a.ServerPubKey)
			if err != nil {
				return nil, false, err
			}
			a.Step = sha2PasswordSent
			return enc, true, nil
		case allowKeyRetrieval(a):
			a.Step = sha2KeyRequested
			return []byte{sha2RequestPublicKey}, true, nil
		}
		return nil, false, needKeyError(p.Name())
	}
	return nil, false, protoErr(pkt, "unknown status byte 0x%02x (want 0x03 fast auth or 0x04 full auth)", data[0])
}

// sha256Password is sha256_password (MySQL 5.6–8.x, deprecated). The password travels in clear only over TLS:
// unlike caching_sha2_password, a unix socket does not count as secure for it, so there it is encrypted too.
type sha256Password struct{}

func (sha256Password) Name() string { return "sha256_password" }

func (p sha256Password) Start(a *AuthState) ([]byte, error) {
	a.Step = sha2PasswordSent
	switch {
	case a.Password == "":
		return []byte{0}, nil
	case a.TLS:
		return append([]byte(a.Password), 0), nil
	case a.ServerPubKey != nil:
		return EncryptPassword(a.Password, a.Scramble, a.ServerPubKey)
	case allowKeyRetrieval(a):
		a.Step = sha2KeyRequested
		return []byte{sha256RequestKey}, nil
	}
	return nil, needKeyError(p.Name())
}

func (sha256Password) Continue(a *AuthState, data []byte) ([]byte, bool, error) {
	if a.Step != sha2KeyRequested {
		return nil, false, protoErr("AuthMoreData (sha256_password)", "unexpected packet of %d bytes", len(data))
	}
	return encryptWithReceivedKey(a, data)
}

// encryptWithReceivedKey answers the public key the server sent on request: the password, RSA-encrypted
// with it (caching_sha2_password and sha256_password alike).
func encryptWithReceivedKey(a *AuthState, pem []byte) ([]byte, bool, error) {
	key, err := ParsePublicKey(pem)
	if err != nil {
		return nil, false, err
	}
	a.ServerPubKey = key
	enc, err := EncryptPassword(a.Password, a.Scramble, key)
	if err != nil {
		return nil, false, err
	}
	a.Step = sha2PasswordSent
	return enc, true, nil
}
