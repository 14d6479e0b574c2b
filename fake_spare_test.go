package rawmysql

import (
	"context"
	"fmt"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The spare list is bounded: at most maxSpare connections are parked (one more is closed), Connect's take
// returns the newest live one, a spare parked for spareMaxIdle is closed, Close closes every spare and later
// ones, and at most maxRecycling connections are recycled at once.
func TestSparePoolBounds(t *testing.T) {
	// A fake server that logs every connection in and answers every command with OK until COM_QUIT.
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		c.SendHandshake(protocoltest.HandshakeOpts{})
		if c.ExpectHandshakeResponse() == nil {
			return
		}
		c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		for c.Err() == nil {
			if cmd, _ := c.ExpectCommand(); c.Err() != nil || protocol.Command(cmd) == protocol.ComQuit {
				return
			}
			c.WritePacket(protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))
		}
	})
	cfg, err := ParseDSN(fmt.Sprintf("root@tcp(%s)/?killQueryOnCancel=false&timeout=5s&tls=false", srv.Addr()))
	require.NoError(t, err)
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	var p sparePool
	var conns []*conn
	for i := 0; i < maxSpare+1; i++ {
		dc, err := connector.Connect(context.Background())
		require.NoError(t, err)
		c := dc.(*conn)
		conns = append(conns, c)
		require.True(t, p.adopt())
		p.settle(c)
	}
	assert.Len(t, p.idle, maxSpare)
	assert.Equal(t, protocol.StateClosed, conns[maxSpare].pc.State(), "a spare beyond the bound is closed")
	assert.Same(t, conns[maxSpare-1], p.take(), "take returns the newest spare")
	require.NoError(t, conns[maxSpare-1].Close())

	p.mu.Lock()
	p.idle[0].parked = p.idle[0].parked.Add(-spareMaxIdle)
	oldest := p.idle[0].c
	p.mu.Unlock()
	p.expire()
	assert.Equal(t, protocol.StateClosed, oldest.pc.State(), "a spare parked for spareMaxIdle is closed")
	assert.Len(t, p.idle, maxSpare-2)

	p.close()
	for i, c := range conns[:maxSpare-1] {
		assert.Equal(t, protocol.StateClosed, c.pc.State(), "spare %d left open by close", i)
	}
	assert.Nil(t, p.take())
	assert.False(t, p.adopt(), "a closed pool adopts nothing")

	var q sparePool
	for i := 0; i < maxRecycling; i++ {
		require.True(t, q.adopt())
	}
	assert.False(t, q.adopt(), "more than maxRecycling connections recycled at once")
	q.settle(nil)
	assert.True(t, q.adopt(), "a settled recycle frees its place")
}
