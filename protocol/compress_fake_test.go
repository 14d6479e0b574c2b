package protocol_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Compression against the scripted fake server (an external test package: protocoltest builds its packets with
// protocol's encoders).

// TestCompressedConnection runs a connection with compress negotiated against the fake server, which speaks
// compressed packets by hand after the authentication OK.
func TestCompressedConnection(t *testing.T) {
	done := make(chan error, 1)
	pc, fake := compressedFake(t, func(c *protocoltest.Conn, nc net.Conn) {
		for i := 0; i < 2; i++ {
			_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
			hdr, body, ok := readCompressed(c, nc, i)
			if !ok {
				return
			}
			if hdr[3] != 0 || !bytes.Equal(hdr[4:7], []byte{0, 0, 0}) || !bytes.Equal(body, protocol.PacketBytes(0, []byte{byte(protocol.ComPing)})) {
				c.Errorf("command %d: unexpected compressed packet % x % x", i, hdr, body)
				return
			}
			okp := protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, "")
			if _, err := nc.Write(protocol.BuildCompressed(t, 1, protocol.PacketBytes(1, okp), false)); err != nil {
				c.Errorf("write: %v", err)
				return
			}
		}
		done <- nil
	})
	assert.True(t, pc.Compressed())
	assert.True(t, pc.Capabilities().Has(protocol.ClientCompress))
	require.NoError(t, pc.Ping(context.Background()))
	require.NoError(t, pc.Ping(context.Background()))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("script did not finish")
	}
	assert.Empty(t, fake.Errs())
}

// compressedFake starts a fake server that offers compression, requires the client to ask for it, logs it in
// and hands the raw socket (compressed packets from then on) to script; it returns the client's connection
// (closed when the test ends) and the server.
func compressedFake(t *testing.T, script func(c *protocoltest.Conn, nc net.Conn)) (*protocol.Conn, *protocoltest.Server) {
	t.Helper()
	fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{Capabilities: protocoltest.DefaultCapabilities | protocol.ClientCompress})
		r := c.ExpectHandshakeResponse()
		if r == nil {
			return
		}
		if r.Capabilities&protocol.ClientCompress == 0 {
			c.Errorf("client did not ask for compression")
			return
		}
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, "")) // last plain packet
		script(c, c.NetConn())
	})
	nc, err := net.Dial("tcp", fake.Addr())
	require.NoError(t, err)
	pc, err := protocol.Connect(t.Context(), nc, protocol.Options{User: "u", AllowNativePasswords: true, Compress: true})
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	return pc, fake
}

// readCompressed reads the client's next compressed packet (the i-th command): its 7-byte header and payload.
// A failure is recorded on c and ok is false.
func readCompressed(c *protocoltest.Conn, nc net.Conn, i int) (hdr, body []byte, ok bool) {
	hdr = make([]byte, 7)
	if _, err := io.ReadFull(nc, hdr); err != nil {
		c.Errorf("command %d: read compressed header: %v", i, err)
		return nil, nil, false
	}
	body = make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
	if _, err := io.ReadFull(nc, body); err != nil {
		c.Errorf("command %d: read compressed payload: %v", i, err)
		return nil, nil, false
	}
	return hdr, body, true
}

func TestCompressionNotOfferedStaysPlain(t *testing.T) {
	fake := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{}) // no CLIENT_COMPRESS
		r := c.ExpectHandshakeResponse()
		if r == nil {
			return
		}
		if r.Capabilities&protocol.ClientCompress != 0 {
			c.Errorf("client asked for compression the server did not offer")
		}
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		if cmd, _ := c.ExpectCommand(); cmd == byte(protocol.ComPing) {
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		}
	})
	nc, err := net.Dial("tcp", fake.Addr())
	require.NoError(t, err)
	pc, err := protocol.Connect(t.Context(), nc, protocol.Options{User: "u", AllowNativePasswords: true, Compress: true})
	require.NoError(t, err)
	defer pc.Close()
	assert.False(t, pc.Compressed())
	require.NoError(t, pc.Ping(context.Background()))
}

// TestCompressedPipeline: under compression a pipeline still sends its commands before reading any reply,
// each in a compressed packet of its own numbered from 0 (the server restarts the compressed sequence with each
// command). The fake server reads all three commands before it answers the first: a client that waited for
// each reply would stall here.
func TestCompressedPipeline(t *testing.T) {
	const n = 3
	pc, fake := compressedFake(t, func(c *protocoltest.Conn, nc net.Conn) {
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		for i := 0; i < n; i++ {
			hdr, body, ok := readCompressed(c, nc, i)
			if !ok {
				return
			}
			want := protocol.PacketBytes(0, append([]byte{byte(protocol.ComQuery)}, fmt.Sprintf("DO %d", i)...))
			if hdr[3] != 0 || !bytes.Equal(hdr[4:7], []byte{0, 0, 0}) || !bytes.Equal(body, want) {
				c.Errorf("command %d: unexpected compressed packet % x % x", i, hdr, body)
				return
			}
		}
		for i := 0; i < n; i++ {
			okp := protocoltest.OK(uint64(i), 0, protocoltest.StatusAutocommit, 0, "")
			if _, err := nc.Write(protocol.BuildCompressed(t, 1, protocol.PacketBytes(1, okp), false)); err != nil {
				c.Errorf("write: %v", err)
				return
			}
		}
	})
	require.True(t, pc.Compressed())
	cmds := make([]protocol.PipeCmd, n)
	for i := range cmds {
		cmds[i] = protocol.PipeCmd{Kind: protocol.PipeQuery, Text: fmt.Sprintf("DO %d", i)}
	}
	res := make([]protocol.PipeResult, n)
	require.NoError(t, pc.Pipeline(context.Background(), cmds, res))
	for i := range res {
		require.NoError(t, res[i].Err, i)
		assert.Equal(t, uint64(i), res[i].OK.AffectedRows)
	}
	fake.Close()
	assert.Empty(t, fake.Errs())
}
