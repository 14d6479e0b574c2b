package rawmysql

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuthDSNOptionsReachTheWire checks, against the fake server, that the DSN's serverPubKey,
// allowPublicKeyRetrieval and allowCleartextPasswords drive what the client sends.
func TestAuthDSNOptionsReachTheWire(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	RegisterServerPubKey("rm-test-key", &key.PublicKey)
	defer DeregisterServerPubKey("rm-test-key")
	const pw = "dsn-Secret-9"
	want := append([]byte(pw), 0)

	decrypt := func(ct, scramble []byte) []byte {
		pt, err := rsa.DecryptOAEP(sha1.New(), nil, key, ct, nil)
		if err != nil {
			return nil
		}
		for i := range pt {
			pt[i] ^= scramble[i%len(scramble)]
		}
		return pt
	}
	// fullAuth plays caching_sha2_password full authentication; serve handles the client's answer to 0x04
	// and reports the password it recovered.
	fullAuth := func(serve func(c *protocoltest.Conn, p []byte) []byte) (func(c *protocoltest.Conn), *[]byte) {
		var got []byte
		return func(c *protocoltest.Conn) {
			c.SendHandshake(protocoltest.HandshakeOpts{AuthPlugin: "caching_sha2_password"})
			if c.ExpectHandshakeResponse() == nil {
				return
			}
			c.WritePacket(protocoltest.AuthMoreData([]byte{0x04}))
			p := c.ReadPacket()
			if p == nil {
				return
			}
			got = serve(c, p)
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
			c.ExpectCommand() // COM_QUIT
		}, &got
	}
	connect := func(addr, params string) error {
		cfg, err := ParseDSN("app:" + pw + "@tcp(" + addr + ")/?timeout=10s&" + params)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		dc, err := mustConnector(t, cfg).Connect(ctx)
		if err == nil {
			dc.Close()
		}
		return err
	}

	t.Run("serverPubKey", func(t *testing.T) {
		script, got := fullAuth(func(c *protocoltest.Conn, p []byte) []byte { return decrypt(p, c.Scramble()) })
		fake := protocoltest.NewServer(t, script)
		require.NoError(t, connect(fake.Addr(), "serverPubKey=rm-test-key"))
		fake.Close()
		assert.Equal(t, want, *got)
	})
	t.Run("allowPublicKeyRetrieval", func(t *testing.T) {
		script, got := fullAuth(func(c *protocoltest.Conn, p []byte) []byte {
			if !bytes.Equal(p, []byte{0x02}) {
				return nil
			}
			c.WritePacket(protocoltest.AuthMoreData(keyPEM))
			return decrypt(c.ReadPacket(), c.Scramble())
		})
		fake := protocoltest.NewServer(t, script)
		require.NoError(t, connect(fake.Addr(), "allowPublicKeyRetrieval=true"))
		fake.Close()
		assert.Equal(t, want, *got)
	})
	t.Run("neither", func(t *testing.T) {
		script, got := fullAuth(func(c *protocoltest.Conn, p []byte) []byte { return p })
		fake := protocoltest.NewServer(t, script)
		err := connect(fake.Addr(), "")
		var ae *protocol.AuthError
		require.ErrorAs(t, err, &ae)
		assert.NotContains(t, err.Error(), pw)
		fake.Close()
		assert.Nil(t, *got)
	})
	t.Run("allowCleartextPasswords", func(t *testing.T) {
		for _, allow := range []bool{false, true} {
			var got []byte
			fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
				c.SendHandshake(protocoltest.HandshakeOpts{})
				if c.ExpectHandshakeResponse() == nil {
					return
				}
				c.WritePacket(protocoltest.AuthSwitch("mysql_clear_password", nil))
				if got = c.ReadPacket(); got != nil {
					c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
					c.ExpectCommand()
				}
			})
			params := ""
			if allow {
				params = "allowCleartextPasswords=true"
			}
			err := connect(fake.Addr(), params)
			fake.Close()
			if allow {
				require.NoError(t, err)
				assert.Equal(t, want, got)
			} else {
				var ue *protocol.UnsupportedPluginError
				require.ErrorAs(t, err, &ue)
				assert.Nil(t, got)
			}
		}
	})
}
