package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoggerProtocolError(t *testing.T) {
	fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		c.ExpectHandshakeResponse()
		c.WritePacket(protocoltest.OK(0, 0, 2, 0, ""))
		c.ExpectCommand()
		c.WritePacket([]byte{0xff, 0x01}) // an ERR packet cut inside its error code
	})
	var buf logBuffer
	cfg := NewConfig()
	cfg.Addr = fake.Addr()
	cfg.MaxAllowedPacket = 1 << 20 // no SELECT @@max_allowed_packet
	cfg.Passwd = "fake-secret-pw"
	cfg.Timeout = 5 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, "DO 1")
	var pe *ProtocolError
	require.True(t, errors.As(err, &pe), "got %v", err)
	out := buf.String()
	assert.Contains(t, out, "rawmysql: connected")
	assert.Contains(t, out, "rawmysql: protocol error, connection discarded")
	assert.Contains(t, out, "connection_id=42")
	assert.NotContains(t, out, "fake-secret-pw")
	assert.Equal(t, 1, strings.Count(out, "connection discarded"), out)
}
