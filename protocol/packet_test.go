package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// frame builds one frame exactly as given: the header and payload, never split, so that tests can write
// a 16 MiB piece and its continuation by hand (AppendPacket frames whole payloads).
func frame(seq uint8, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

// AppendPacket against hand-written headers, and against the connection's own framing of the same payloads.
func TestAppendPacket(t *testing.T) {
	out, next := AppendPacket([]byte{0xaa}, 0, []byte{0x0e})          // COM_PING after one byte already in dst
	require.Equal(t, []byte{0xaa, 0x01, 0x00, 0x00, 0x00, 0x0e}, out) // length 1, sequence id 0, payload
	require.Equal(t, uint8(1), next)

	out, next = AppendPacket(nil, 255, nil) // an empty payload is one empty packet; the id wraps
	require.Equal(t, []byte{0x00, 0x00, 0x00, 0xff}, out)
	require.Equal(t, uint8(0), next)

	for _, size := range []int{0, 300, MaxPayloadLen - 1, MaxPayloadLen, MaxPayloadLen + 5, 2 * MaxPayloadLen} {
		payload := bytes.Repeat([]byte{'x'}, size)
		got, next := AppendPacket(nil, 3, payload)
		f, wire := newTestFramer(nil)
		f.seq = 3
		require.NoError(t, f.writePacket(append(f.startPacket(), payload...)))
		require.True(t, bytes.Equal(wire.Bytes(), got), "size %d: same bytes as the connection writes", size)
		require.Equal(t, f.seq, next, "size %d", size)
		if size == MaxPayloadLen {
			// A full piece, then the empty one that ends the payload: ff ff ff 03 ... 00 00 00 04.
			require.Equal(t, []byte{0xff, 0xff, 0xff, 0x03}, got[:4])
			require.Equal(t, []byte{0x00, 0x00, 0x00, 0x04}, got[len(got)-4:])
		}
	}
}

func newTestFramer(in []byte) (*framer, *bytes.Buffer) {
	out := &bytes.Buffer{}
	return &framer{rd: bytes.NewReader(in), wr: out, maxRead: DefaultMaxReadPacket, maxWrite: 1 << 30}, out
}

func TestReadPacketSmall(t *testing.T) {
	in := append(frame(0, []byte("abc")), frame(1, nil)...)
	f, _ := newTestFramer(in)
	p, err := f.readPacket()
	require.NoError(t, err)
	require.Equal(t, "abc", string(p))
	p, err = f.readPacket()
	require.NoError(t, err)
	require.Len(t, p, 0)
	_, err = f.readPacket()
	var ioe *IOError
	require.ErrorAs(t, err, &ioe)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestSequenceMismatch(t *testing.T) {
	f, _ := newTestFramer(frame(3, []byte("x")))
	_, err := f.readPacket()
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
	require.ErrorContains(t, err, "sequence id 3, expected 0")
}

// splitPayload frames a payload the way a server does: MaxPayloadLen chunks, then the rest (maybe empty).
func splitPayload(payload []byte) []byte {
	var out []byte
	seq := uint8(0)
	for {
		n := len(payload)
		if n > MaxPayloadLen {
			n = MaxPayloadLen
		}
		out = append(out, frame(seq, payload[:n])...)
		seq++
		payload = payload[n:]
		if n < MaxPayloadLen {
			return out
		}
	}
}

func TestLargePayloadRoundTrip(t *testing.T) {
	for _, size := range []int{MaxPayloadLen - 1, MaxPayloadLen, MaxPayloadLen + 1, 2 * MaxPayloadLen, 20 << 20} {
		payload := make([]byte, size)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		// Write side: header per chunk, an empty trailer for exact multiples.
		w, out := newTestFramer(nil)
		buf := append(w.startPacket(), payload...)
		require.NoError(t, w.writePacket(buf))
		want := splitPayload(payload)
		require.Equal(t, len(want), out.Len(), "size %d", size)
		require.True(t, bytes.Equal(want, out.Bytes()), "size %d", size)
		if size%MaxPayloadLen == 0 {
			require.Equal(t, []byte{0, 0, 0, byte(size / MaxPayloadLen)}, out.Bytes()[out.Len()-4:], "empty trailer")
		}
		// Read side joins them again.
		r, _ := newTestFramer(want)
		p, err := r.readPacket()
		require.NoError(t, err)
		require.True(t, bytes.Equal(payload, p), "size %d", size)
		require.Equal(t, uint8(size/MaxPayloadLen+1), r.seq, "one sequence id per frame")
	}
}

func TestMaxReadLimit(t *testing.T) {
	payload := make([]byte, MaxPayloadLen+10)
	f, _ := newTestFramer(splitPayload(payload))
	f.maxRead = MaxPayloadLen
	_, err := f.readPacket()
	require.ErrorContains(t, err, "exceeds the limit")

	f, _ = newTestFramer(frame(0, make([]byte, 100)))
	f.maxRead = 50
	_, err = f.readPacket()
	require.ErrorContains(t, err, "exceeds the limit")
}

func TestWriteLimit(t *testing.T) {
	f, out := newTestFramer(nil)
	f.maxWrite = 10
	err := f.writePacket(append(f.startPacket(), make([]byte, 11)...))
	require.ErrorIs(t, err, ErrPacketTooLarge)
	require.Zero(t, out.Len(), "nothing written")
	require.False(t, f.cmdWritten)
}

// A header that claims 16 MiB followed by a few bytes must not make the reader allocate 16 MiB.
func TestLyingLengthBoundedAllocation(t *testing.T) {
	in := append([]byte{0xff, 0xff, 0xff, 0}, []byte("only a few bytes")...)
	f, _ := newTestFramer(in)
	_, err := f.readPacket()
	require.Error(t, err)
	require.LessOrEqual(t, len(f.buf), 2*defaultReadBufSize, "buffer grew only with the data that arrived")
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n >= len(b) {
		w.n -= len(b)
		return len(b), nil
	}
	n := w.n
	w.n = 0
	return n, errors.New("connection reset")
}

func TestWriteErrorMarksWritten(t *testing.T) {
	f := &framer{wr: &failWriter{n: 0}, maxWrite: 1 << 20}
	err := f.writePacket(append(f.startPacket(), "SELECT 1"...))
	require.True(t, SafeToRetry(err), "nothing written: safe to retry")

	f = &framer{wr: &failWriter{n: 3}, maxWrite: 1 << 20}
	err = f.writePacket(append(f.startPacket(), "SELECT 1"...))
	require.Error(t, err)
	require.False(t, SafeToRetry(err), "part of the command was written")
}

func TestShrink(t *testing.T) {
	payload := make([]byte, 2<<20)
	f, _ := newTestFramer(frame(0, payload))
	_, err := f.readPacket()
	require.NoError(t, err)
	require.Greater(t, len(f.buf), maxIdleBufSize)
	f.shrink()
	require.Nil(t, f.buf)
}

// nextBuffered takes a packet complete in the read buffer exactly as readPacket would (payload, sequence id,
// counters, position) and leaves everything else to readPacket without consuming a byte: an incomplete
// packet, a wrong sequence id, a payload over the limit, a split payload.
func TestNextBufferedMatchesReadPacket(t *testing.T) {
	in := append(frame(0, []byte("row one")), frame(1, nil)...)
	in = append(in, frame(2, []byte("row three"))...)
	in = append(in, frame(9, []byte("out of order"))...)
	f, _ := newTestFramer(in)
	_, ok := f.nextBuffered()
	require.False(t, ok, "nothing read yet")
	p, err := f.readPacket()
	require.NoError(t, err)
	require.Equal(t, "row one", string(p))
	for _, want := range []string{"", "row three"} {
		p, ok := f.nextBuffered()
		require.True(t, ok, "%q is buffered", want)
		require.Equal(t, want, string(p))
		require.Equal(t, len(p), cap(p), "capped: appending cannot touch the next packet")
	}
	require.Equal(t, uint8(3), f.seq)
	require.Equal(t, 3, f.pktIn)
	r := f.r
	_, ok = f.nextBuffered()
	require.False(t, ok, "wrong sequence id")
	require.Equal(t, r, f.r, "nothing consumed")
	require.Equal(t, uint8(3), f.seq)
	_, err = f.readPacket()
	require.ErrorContains(t, err, "sequence id 9, expected 3")

	// Incomplete packet: left for readPacket, which waits for the rest.
	whole := frame(0, []byte("abcdef"))
	f, _ = newTestFramer(nil)
	f.buf = append([]byte(nil), whole[:7]...)
	f.w = len(f.buf)
	_, ok = f.nextBuffered()
	require.False(t, ok)
	require.Zero(t, f.r)

	// Over the limit, and the first piece of a split payload: readPacket's business.
	f, _ = newTestFramer(nil)
	f.maxRead = 3
	f.buf = frame(0, []byte("abcd"))
	f.w = len(f.buf)
	_, ok = f.nextBuffered()
	require.False(t, ok)
	f, _ = newTestFramer(nil)
	f.buf = []byte{0xff, 0xff, 0xff, 0}
	f.w = len(f.buf)
	_, ok = f.nextBuffered()
	require.False(t, ok)
}
