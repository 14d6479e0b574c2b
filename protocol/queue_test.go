package protocol

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingWriter records each Write call.
type countingWriter struct{ writes [][]byte }

func (w *countingWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, append([]byte(nil), b...))
	return len(b), nil
}

func qframe(seq byte, payload ...byte) []byte { return frame(seq, payload) }

// Queued COM_STMT_CLOSEs leave in the same write as the next command, never inside a command already
// under way, and before a large command in a write of their own.
func TestQueuedCommandsCoalesceWithNextCommand(t *testing.T) {
	w := &countingWriter{}
	c := &Conn{}
	c.f.wr = w
	c.f.maxWrite = 64 << 20
	c.state.Store(int32(StateIdle))

	c.QueueCloseStmt(1)
	c.QueueCloseStmt(0x0201)
	assert.Empty(t, w.writes, "queued commands are not written on their own")
	require.NoError(t, c.writeCommand(ComPing, nil))
	require.Len(t, w.writes, 1, "one write for the closes and the command")
	want := append(append(qframe(0, 0x19, 1, 0, 0, 0), qframe(0, 0x19, 1, 2, 0, 0)...), qframe(0, 0x0e)...)
	assert.Equal(t, want, w.writes[0])

	// Inside a command (e.g. LOCAL INFILE data, sequence ids wrapping to 0), queued closes wait.
	w.writes = nil
	c.QueueCloseStmt(3)
	c.f.seq = 0
	require.NoError(t, c.f.writePacket(append(c.f.startPacket(), 'x')))
	require.Len(t, w.writes, 1)
	assert.Equal(t, qframe(0, 'x'), w.writes[0])

	// A large command: the closes first, then the command.
	w.writes = nil
	c.f.cmdWritten, c.f.seq = false, 0 // as lock does at the start of the next command
	big := bytes.Repeat([]byte{'q'}, 3*defaultWriteBufCap)
	require.NoError(t, c.writeCommand(ComQuery, big))
	require.Len(t, w.writes, 2)
	assert.Equal(t, qframe(0, 0x19, 3, 0, 0, 0), w.writes[0])
	assert.Equal(t, qframe(0, append([]byte{0x03}, big...)...), w.writes[1])
	assert.Empty(t, c.f.queued)
}
