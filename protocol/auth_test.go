package protocol_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testPassword = "s3cret-Pässword"

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// serverKey is the fake server's RSA key pair (generated once per test binary).
func serverKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err == nil {
			rsaKey = k
		}
	})
	require.NotNil(t, rsaKey)
	return rsaKey
}

// serverKeyPEM is the server's public key as MySQL sends it (PKIX "PUBLIC KEY").
func serverKeyPEM(t *testing.T) []byte {
	der, err := x509.MarshalPKIXPublicKey(&serverKey(t).PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// decryptPassword is the server's side of the RSA exchange: OAEP-decrypt, then XOR with the scramble.
func decryptPassword(t *testing.T, ct, scramble []byte) []byte {
	pt, err := rsa.DecryptOAEP(sha1.New(), nil, serverKey(t), ct, nil)
	if err != nil {
		return nil
	}
	for i := range pt {
		pt[i] ^= scramble[i%len(scramble)]
	}
	return pt
}

// serverTLS is a TLS config with a throw-away self-signed certificate for the fake server.
func serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// fakeConnect runs script on a fake server and connects to it with opts; it returns the client's error and
// the script's first error (after the script ended).
func fakeConnect(t *testing.T, opts protocol.Options, script func(c *protocoltest.Conn)) (clientErr, scriptErr error) {
	t.Helper()
	done := make(chan error, 1)
	fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SetTimeout(5 * time.Second)
		script(c)
		done <- c.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := net.Dial("tcp", fake.Addr())
	require.NoError(t, err)
	if opts.User == "" {
		opts.User = "app"
	}
	pc, err := protocol.Connect(ctx, nc, opts)
	if err == nil {
		pc.Close()
	} else {
		nc.Close()
	}
	select {
	case scriptErr = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("fake server script did not end")
	}
	if err != nil {
		assert.NotContains(t, err.Error(), opts.Password, "error text must not contain the password")
	}
	return err, scriptErr
}

func baseOpts() protocol.Options {
	return protocol.Options{Password: testPassword, AllowNativePasswords: true}
}

var nul = []byte{0}

func TestCachingSHA2FastAuth(t *testing.T) {
	cerr, serr := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{AuthPlugin: "caching_sha2_password"})
		r := c.ExpectHandshakeResponse()
		if r == nil {
			return
		}
		if r.AuthPlugin != "caching_sha2_password" || !protocoltest.CachingSHA2Check(c.Scramble(), testPassword, r.AuthResponse) {
			c.Errorf("bad fast-auth response for plugin %q", r.AuthPlugin)
			return
		}
		c.WritePacket(protocoltest.AuthMoreData([]byte{0x03}))
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
	})
	require.NoError(t, cerr)
	require.NoError(t, serr)
}

// fullAuthScript plays caching_sha2_password full authentication: 0x04, then hands the next client packet to
// check, which returns the reply to send (OK, or more).
func fullAuthScript(tlsCfg *tls.Config, check func(c *protocoltest.Conn, p []byte)) func(c *protocoltest.Conn) {
	return func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{AuthPlugin: "caching_sha2_password", TLS: tlsCfg})
		if r := c.ExpectHandshakeResponse(); r == nil {
			return
		}
		c.WritePacket(protocoltest.AuthMoreData([]byte{0x04}))
		p := c.ReadPacket()
		if p == nil {
			return
		}
		check(c, p)
	}
}

func okIf(c *protocoltest.Conn, cond bool, what string) {
	if !cond {
		c.Errorf("%s", what)
		return
	}
	c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
}

func TestCachingSHA2FullAuth(t *testing.T) {
	clearPw := append([]byte(testPassword), 0)

	t.Run("TLS sends the password", func(t *testing.T) {
		opts := baseOpts()
		opts.TLS = &tls.Config{InsecureSkipVerify: true}
		cerr, serr := fakeConnect(t, opts, fullAuthScript(serverTLS(t), func(c *protocoltest.Conn, p []byte) {
			okIf(c, bytes.Equal(p, clearPw), "expected the password in clear over TLS")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("unix socket sends the password", func(t *testing.T) {
		opts := baseOpts()
		opts.Unix = true
		cerr, serr := fakeConnect(t, opts, fullAuthScript(nil, func(c *protocoltest.Conn, p []byte) {
			okIf(c, bytes.Equal(p, clearPw), "expected the password in clear over a unix socket")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("pinned key", func(t *testing.T) {
		opts := baseOpts()
		opts.ServerPubKey = &serverKey(t).PublicKey
		cerr, serr := fakeConnect(t, opts, fullAuthScript(nil, func(c *protocoltest.Conn, p []byte) {
			okIf(c, bytes.Equal(decryptPassword(t, p, c.Scramble()), clearPw), "expected the RSA-encrypted password")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("key retrieval allowed", func(t *testing.T) {
		opts := baseOpts()
		opts.AllowPublicKeyRetrieval = true
		cerr, serr := fakeConnect(t, opts, fullAuthScript(nil, func(c *protocoltest.Conn, p []byte) {
			if !bytes.Equal(p, []byte{0x02}) {
				c.Errorf("expected the public key request 0x02, got % x", p)
				return
			}
			c.WritePacket(protocoltest.AuthMoreData(serverKeyPEM(t)))
			p = c.ReadPacket()
			okIf(c, bytes.Equal(decryptPassword(t, p, c.Scramble()), clearPw), "expected the RSA-encrypted password")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("key retrieval refused", func(t *testing.T) {
		var got []byte
		cerr, _ := fakeConnect(t, baseOpts(), fullAuthScript(nil, func(c *protocoltest.Conn, p []byte) {
			got = p
		}))
		var ae *protocol.AuthError
		require.ErrorAs(t, cerr, &ae)
		assert.Contains(t, cerr.Error(), "allowPublicKeyRetrieval")
		assert.Contains(t, cerr.Error(), "serverPubKey")
		assert.Nil(t, got, "nothing is sent after the refusal")
	})
}

func TestSHA256Password(t *testing.T) {
	clearPw := append([]byte(testPassword), 0)
	// script: the server's handshake names sha256_password; check inspects the handshake response's auth data.
	script := func(tlsCfg *tls.Config, check func(c *protocoltest.Conn, auth []byte)) func(c *protocoltest.Conn) {
		return func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{AuthPlugin: "sha256_password", TLS: tlsCfg})
			r := c.ExpectHandshakeResponse()
			if r == nil {
				return
			}
			if r.AuthPlugin != "sha256_password" {
				c.Errorf("client answered with %q", r.AuthPlugin)
				return
			}
			check(c, r.AuthResponse)
		}
	}
	t.Run("TLS", func(t *testing.T) {
		opts := baseOpts()
		opts.TLS = &tls.Config{InsecureSkipVerify: true}
		cerr, serr := fakeConnect(t, opts, script(serverTLS(t), func(c *protocoltest.Conn, auth []byte) {
			okIf(c, bytes.Equal(auth, clearPw), "expected the password in clear over TLS")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("pinned key, also on a unix socket", func(t *testing.T) {
		opts := baseOpts()
		opts.Unix = true // sha256_password does not send the password in clear over a socket
		opts.ServerPubKey = &serverKey(t).PublicKey
		cerr, serr := fakeConnect(t, opts, script(nil, func(c *protocoltest.Conn, auth []byte) {
			okIf(c, bytes.Equal(decryptPassword(t, auth, c.Scramble()), clearPw), "expected the RSA-encrypted password")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("key retrieval", func(t *testing.T) {
		opts := baseOpts()
		opts.AllowPublicKeyRetrieval = true
		cerr, serr := fakeConnect(t, opts, script(nil, func(c *protocoltest.Conn, auth []byte) {
			if !bytes.Equal(auth, []byte{0x01}) {
				c.Errorf("expected the public key request 0x01, got % x", auth)
				return
			}
			c.WritePacket(protocoltest.AuthMoreData(serverKeyPEM(t)))
			p := c.ReadPacket()
			okIf(c, bytes.Equal(decryptPassword(t, p, c.Scramble()), clearPw), "expected the RSA-encrypted password")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("empty password", func(t *testing.T) {
		opts := baseOpts()
		opts.Password = ""
		cerr, serr := fakeConnect(t, opts, script(nil, func(c *protocoltest.Conn, auth []byte) {
			okIf(c, bytes.Equal(auth, nul), "expected a single 0x00")
		}))
		require.NoError(t, cerr)
		require.NoError(t, serr)
	})
	t.Run("no key and no retrieval after a switch", func(t *testing.T) {
		var sent []byte
		cerr, _ := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{})
			if c.ExpectHandshakeResponse() == nil {
				return
			}
			c.WritePacket(protocoltest.AuthSwitch("sha256_password", append(protocoltest.DefaultScramble(), 0)))
			sent = c.ReadPacket()
		})
		var ae *protocol.AuthError
		require.ErrorAs(t, cerr, &ae)
		assert.Equal(t, "sha256_password", ae.Plugin)
		assert.Nil(t, sent)
	})
}

func TestClearPassword(t *testing.T) {
	script := func(tlsCfg *tls.Config, got *[]byte) func(c *protocoltest.Conn) {
		return func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{TLS: tlsCfg})
			if c.ExpectHandshakeResponse() == nil {
				return
			}
			c.WritePacket(protocoltest.AuthSwitch("mysql_clear_password", nil))
			*got = c.ReadPacket()
			if *got != nil {
				c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
			}
		}
	}
	t.Run("refused over plain TCP", func(t *testing.T) {
		var got []byte
		cerr, _ := fakeConnect(t, baseOpts(), script(nil, &got))
		var ue *protocol.UnsupportedPluginError
		require.ErrorAs(t, cerr, &ue)
		assert.Contains(t, cerr.Error(), "allowCleartextPasswords")
		assert.Contains(t, cerr.Error(), "plain TCP")
		assert.Nil(t, got, "the password was not sent")
	})
	t.Run("refused over TLS without the flag", func(t *testing.T) {
		var got []byte
		opts := baseOpts()
		opts.TLS = &tls.Config{InsecureSkipVerify: true}
		cerr, _ := fakeConnect(t, opts, script(serverTLS(t), &got))
		var ue *protocol.UnsupportedPluginError
		require.ErrorAs(t, cerr, &ue)
		assert.Nil(t, got)
	})
	t.Run("refused over a unix socket without the flag", func(t *testing.T) {
		var got []byte
		opts := baseOpts()
		opts.Unix = true
		cerr, _ := fakeConnect(t, opts, script(nil, &got))
		var ue *protocol.UnsupportedPluginError
		require.ErrorAs(t, cerr, &ue)
		assert.Contains(t, cerr.Error(), "unix socket")
		assert.Nil(t, got)
	})
	t.Run("sent over plain TCP with the flag", func(t *testing.T) {
		// The user's explicit choice (as in go-sql-driver/mysql), e.g. for PAM behind a trusted network.
		var got []byte
		opts := baseOpts()
		opts.AllowCleartextPasswords = true
		cerr, serr := fakeConnect(t, opts, script(nil, &got))
		require.NoError(t, cerr)
		require.NoError(t, serr)
		assert.Equal(t, append([]byte(testPassword), 0), got)
	})
	t.Run("allowed over TLS with the flag", func(t *testing.T) {
		var got []byte
		opts := baseOpts()
		opts.TLS = &tls.Config{InsecureSkipVerify: true}
		opts.AllowCleartextPasswords = true
		cerr, serr := fakeConnect(t, opts, script(serverTLS(t), &got))
		require.NoError(t, cerr)
		require.NoError(t, serr)
		assert.Equal(t, append([]byte(testPassword), 0), got)
	})
}

func TestSecondAuthSwitch(t *testing.T) {
	s2 := bytes.Repeat([]byte{0x5a}, 20)
	s3 := bytes.Repeat([]byte{0x33}, 20)
	cerr, serr := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		r := c.ExpectHandshakeResponse()
		if r == nil {
			return
		}
		if !protocoltest.NativePasswordCheck(c.Scramble(), testPassword, r.AuthResponse) {
			c.Errorf("bad native response")
			return
		}
		c.WritePacket(protocoltest.AuthSwitch("caching_sha2_password", append(s2, 0)))
		if p := c.ReadPacket(); !protocoltest.CachingSHA2Check(s2, testPassword, p) {
			c.Errorf("bad caching_sha2 response to the first switch")
			return
		}
		c.WritePacket(protocoltest.AuthSwitch("mysql_native_password", append(s3, 0)))
		p := c.ReadPacket()
		okIf(c, protocoltest.NativePasswordCheck(s3, testPassword, p), "bad native response to the second switch")
	})
	require.NoError(t, cerr)
	require.NoError(t, serr)
}

func TestEndlessAuthSwitchesAreBounded(t *testing.T) {
	cerr, _ := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		for i := 0; i < 100; i++ {
			c.WritePacket(protocoltest.AuthSwitch("mysql_native_password", append(protocoltest.DefaultScramble(), 0)))
			if c.ReadPacket() == nil {
				return
			}
		}
	})
	var pe *protocol.ProtocolError
	require.ErrorAs(t, cerr, &pe)
	assert.Contains(t, cerr.Error(), "rounds")
}

func TestMalformedAuthReplies(t *testing.T) {
	type reply func(c *protocoltest.Conn)
	pkt := func(payload []byte) reply { return func(c *protocoltest.Conn) { c.WritePacket(payload) } }
	cases := []struct {
		name   string
		plugin string
		steps  []reply
		want   any // pointer to the error type expected
	}{
		{"empty packet", "caching_sha2_password", []reply{pkt([]byte{})}, new(*protocol.ProtocolError)},
		{"truncated AuthMoreData", "caching_sha2_password", []reply{pkt([]byte{0x01})}, new(*protocol.ProtocolError)},
		{"garbage AuthMoreData", "caching_sha2_password", []reply{pkt([]byte{0x01, 0x99})}, new(*protocol.ProtocolError)},
		{"overlong status", "caching_sha2_password", []reply{pkt([]byte{0x01, 0x03, 0x03})}, new(*protocol.ProtocolError)},
		{"second fast-auth status", "caching_sha2_password", []reply{pkt([]byte{0x01, 0x03}), pkt([]byte{0x01, 0x03})}, new(*protocol.ProtocolError)},
		{"AuthMoreData for native", "mysql_native_password", []reply{pkt([]byte{0x01, 0x03})}, new(*protocol.ProtocolError)},
		{"unknown header", "mysql_native_password", []reply{pkt([]byte{0x42, 1, 2, 3})}, new(*protocol.ProtocolError)},
		{"switch without NUL", "mysql_native_password", []reply{pkt([]byte{0xfe, 'a', 'b'})}, new(*protocol.ProtocolError)},
		{"switch to unknown plugin", "mysql_native_password", []reply{pkt(protocoltest.AuthSwitch("dialog", []byte("Password: ")))}, new(*protocol.UnsupportedPluginError)},
		{"switch to old passwords", "mysql_native_password", []reply{pkt([]byte{0xfe})}, new(*protocol.UnsupportedPluginError)},
		{"truncated OK", "mysql_native_password", []reply{pkt([]byte{0x00, 0xfc})}, new(*protocol.ProtocolError)},
		{"cut mid-packet", "mysql_native_password", []reply{func(c *protocoltest.Conn) {
			c.WriteRaw([]byte{10, 0, 0, c.Seq(), 0x00, 0x00})
			c.Close()
		}}, new(*protocol.IOError)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cerr, _ := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
				c.SendHandshake(protocoltest.HandshakeOpts{AuthPlugin: tc.plugin})
				if c.ExpectHandshakeResponse() == nil {
					return
				}
				for _, s := range tc.steps {
					s(c)
				}
				c.ReadPacket() // wait for the client to hang up
			})
			require.Error(t, cerr)
			require.True(t, errors.As(cerr, tc.want), "got %T: %v", cerr, cerr)
		})
	}
	// Bad public keys after a key request.
	for name, key := range map[string][]byte{
		"not PEM":    []byte("-----BEGIN NOTHING"),
		"EC key PEM": ecPublicKeyPEM(t),
		"bad DER":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}),
	} {
		t.Run("public key "+name, func(t *testing.T) {
			opts := baseOpts()
			opts.AllowPublicKeyRetrieval = true
			cerr, _ := fakeConnect(t, opts, fullAuthScript(nil, func(c *protocoltest.Conn, p []byte) {
				c.WritePacket(protocoltest.AuthMoreData(key))
				c.ReadPacket()
			}))
			var pe *protocol.ProtocolError
			require.ErrorAs(t, cerr, &pe)
		})
	}
}

func ecPublicKeyPEM(t *testing.T) []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestExpiredPasswordAtLogin(t *testing.T) {
	cerr, _ := fakeConnect(t, baseOpts(), func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		c.WritePacket(protocoltest.ERR(1862, "HY000", "Your password has expired. To log in you must change it using a client that supports expired passwords."))
	})
	var ee *protocol.ExpiredPasswordError
	require.ErrorAs(t, cerr, &ee)
	assert.Equal(t, "app", ee.User)
	var se *protocol.ServerError
	require.ErrorAs(t, cerr, &se)
	assert.Equal(t, uint16(1862), se.Number)
}

// TestEd25519MatchesRFC8032 checks SignEd25519 against crypto/ed25519: for a 32-byte password MariaDB's scheme
// is exactly Ed25519 with the password as the seed.
func TestEd25519MatchesRFC8032(t *testing.T) {
	pw := "0123456789abcdef0123456789abcdef"
	priv := ed25519.NewKeyFromSeed([]byte(pw))
	for _, nonce := range [][]byte{bytes.Repeat([]byte{7}, 32), make([]byte, 32), []byte("short")} {
		got, err := protocol.SignEd25519(nonce, pw)
		require.NoError(t, err)
		assert.Equal(t, ed25519.Sign(priv, nonce), got)
	}
}

// TestEd25519NonceEndingInZero: a 32-byte nonce ending in 0x00 must be signed whole (not taken for a
// NUL-terminated scramble).
func TestEd25519NonceEndingInZero(t *testing.T) {
	pw := "0123456789abcdef0123456789abcdef"
	pub := ed25519.NewKeyFromSeed([]byte(pw)).Public().(ed25519.PublicKey)
	nonce := append(bytes.Repeat([]byte{0xab}, 31), 0)
	opts := baseOpts()
	opts.Password = pw
	cerr, serr := fakeConnect(t, opts, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		c.WritePacket(protocoltest.AuthSwitch("client_ed25519", nonce))
		p := c.ReadPacket()
		okIf(c, len(p) == 64 && ed25519.Verify(pub, nonce, p), "bad ed25519 signature")
	})
	require.NoError(t, cerr)
	require.NoError(t, serr)
}

// FuzzParsePublicKey: the server's PEM key is untrusted input. A key that parses is then used the way the
// driver uses it, to encrypt a password; that may fail (a modulus too small for OAEP) but must not panic.
func FuzzParsePublicKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n"))
	// Real keys in both encodings, so the fuzzer starts from DER that parses.
	pub := &serverKey(f).PublicKey
	pkix, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(f, err)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)}))
	f.Fuzz(func(t *testing.T, in []byte) {
		k, err := protocol.ParsePublicKey(in)
		if err != nil {
			if k != nil {
				t.Fatal("key with an error")
			}
			return
		}
		if k == nil {
			t.Fatal("nil key without error")
		}
		ct, err := protocol.EncryptPassword("secret", []byte("0123456789abcdefghij"), k)
		if err == nil && len(ct) != k.Size() {
			t.Fatalf("ciphertext of %d bytes for a %d-byte modulus", len(ct), k.Size())
		}
	})
}
