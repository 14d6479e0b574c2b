package rawmysql

import (
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSDowngradeRefused plays a man in the middle who strips CLIENT_SSL from the handshake: with TLS
// required the client must hang up without sending a byte (no handshake response, so no user name and no
// password hash travel in clear).
func TestTLSDowngradeRefused(t *testing.T) {
	got := make(chan []byte, 1)
	fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{}) // no TLS offered
		c.SetTimeout(10 * time.Second)
		got <- c.ReadPacket()
	})
	for _, mode := range []string{"true", "skip-verify"} {
		_, err := sslCipher(t, mustParse(t, "root:pw@tcp("+fake.Addr()+")/test?tls="+mode))
		var te *protocol.TLSUnavailableError
		require.ErrorAs(t, err, &te)
		assert.Nil(t, <-got, "the client sent nothing after the downgraded handshake")
	}
}
