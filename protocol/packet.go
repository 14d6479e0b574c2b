package protocol

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// Packet framing: every packet is a 3-byte little-endian payload length, a 1-byte sequence id and the
// payload. Payloads of MaxPayloadLen bytes or more are split into MaxPayloadLen-sized packets followed by a
// shorter (possibly empty) one. See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_packets.html.

const (
	initialReadBufSize = 1 << 10   // a new connection's read buffer: its handshake and small replies fit
	defaultReadBufSize = 16 << 10  // the read buffer once a read filled it (a stream of rows), and what it shrinks back to
	initialWriteBufCap = 512       // a new connection's write buffer (grown by append as commands need)
	defaultWriteBufCap = 4 << 10   // commands up to this size leave in one write with the queued ones
	maxIdleBufSize     = 256 << 10 // buffers larger than this are dropped when the connection goes idle
)

// DefaultMaxReadPacket bounds a joined (multi-packet) payload read from the server unless Options says
// otherwise: 1 GiB is the largest max_allowed_packet a server accepts.
const DefaultMaxReadPacket = 1 << 30

// framer reads and writes framed packets. The read buffer is reused: a payload returned by readPacket aliases
// it and is valid until the next read. The buffer grows only as bytes actually arrive, so a lying length header
// cannot make us allocate more than twice what the peer really sent.
type framer struct {
	rd io.Reader
	wr io.Writer

	buf  []byte // read buffer; unread bytes are buf[r:w]
	r, w int
	full bool // the last read filled buf: more data is probably waiting, grow buf to defaultReadBufSize

	large []byte // joins split payloads

	wbuf []byte // reusable write buffer; packets are built at wbuf[4:]

	// queued holds complete commands without a reply (COM_STMT_CLOSE) framed with sequence id 0; they go out
	// in the same write as the next command, so they cost no syscall of their own.
	queued []byte

	seq uint8

	maxRead  int // largest joined payload accepted
	maxWrite int // largest payload sent (client max_allowed_packet)

	nc           net.Conn // for deadlines; may be nil in tests
	readTimeout  time.Duration
	writeTimeout time.Duration

	// interrupted is set by a context watcher; every deadline change re-checks it so a cancel is never lost.
	interrupted atomic.Bool
	interruptAt atomic.Int64 // with interrupted: the deadline (UnixNano) no I/O may pass
	interruptFn func() error // returns the error reported for an interrupted read/write (the context's)

	cmdWritten bool // some byte of the current command reached the socket
	pktIn      int  // packets read for the current command
	joining    bool // a split payload is being joined into large (a cut read there cannot be resumed)

	// comp, when set, is the protocol compression layer under rd/wr (see compress.go): its own sequence
	// restarts with each command, and packet sequence ids inside compressed packets are not checked.
	comp *compressor

	// BytesIn/BytesOut count traffic for tracing and tests.
	bytesIn, bytesOut int64
	trace             func(dir byte, seq uint8, payload []byte) // optional packet tracer ('<' in, '>' out)
}

var aLongTimeAgo = time.Unix(1, 0)

// setReadDeadline applies readTimeout to the next read; the interrupt deadline, when set, is re-checked
// after the change so that a concurrent cancel is never overwritten.
func (f *framer) setReadDeadline() {
	if f.nc == nil {
		return
	}
	var d time.Time
	if f.readTimeout > 0 {
		d = time.Now().Add(f.readTimeout)
		_ = f.nc.SetReadDeadline(d)
	}
	if f.interrupted.Load() {
		_ = f.nc.SetReadDeadline(f.capDeadline(d))
	}
}

func (f *framer) setWriteDeadline() {
	if f.nc == nil {
		return
	}
	var d time.Time
	if f.writeTimeout > 0 {
		d = time.Now().Add(f.writeTimeout)
		_ = f.nc.SetWriteDeadline(d)
	}
	if f.interrupted.Load() {
		_ = f.nc.SetWriteDeadline(f.capDeadline(d))
	}
}

// capDeadline returns the earlier of d (zero: none) and the interrupt deadline.
func (f *framer) capDeadline(d time.Time) time.Time {
	at := f.interruptAt.Load()
	if at == 0 {
		return aLongTimeAgo
	}
	it := time.Unix(0, at)
	if d.IsZero() || it.Before(d) {
		return it
	}
	return d
}

func (f *framer) ioErr(op string, err error) error {
	if f.interrupted.Load() && f.interruptFn != nil && isTimeout(err) {
		if ie := f.interruptFn(); ie != nil {
			err = ie
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &IOError{Op: op, Written: f.cmdWritten || op == "read", Err: err}
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fill makes at least n unread bytes available in buf[r:w].
func (f *framer) fill(n int) error {
	if f.w-f.r >= n {
		return nil
	}
	if f.buf == nil {
		f.buf = make([]byte, initialReadBufSize)
	}
	if f.full && len(f.buf) < defaultReadBufSize {
		// A read filled the small buffer: a stream (rows) is coming, read it in larger pieces. The unread
		// bytes move to the front of the new buffer.
		nb := make([]byte, defaultReadBufSize)
		f.w = copy(nb, f.buf[f.r:f.w])
		f.r = 0
		f.buf = nb
	}
	f.full = false
	// Compact: move unread bytes to the front.
	if f.r > 0 {
		copy(f.buf, f.buf[f.r:f.w])
		f.w -= f.r
		f.r = 0
	}
	f.setReadDeadline()
	for f.w < n {
		if f.w == len(f.buf) {
			// Grow by doubling, never beyond what is needed: allocation follows the bytes that arrived.
			size := 2 * len(f.buf)
			if size > n {
				size = n
			}
			nb := make([]byte, size)
			copy(nb, f.buf[:f.w])
			f.buf = nb
		}
		m, err := f.rd.Read(f.buf[f.w:])
		f.w += m
		f.full = f.w == len(f.buf)
		f.bytesIn += int64(m)
		if err != nil {
			if f.w >= n {
				break
			}
			return f.ioErr("read", err)
		}
	}
	return nil
}

// readPacket returns the next payload, joining split packets. The slice is valid until the next read. A read
// cut by a deadline consumes nothing: called again, readPacket resumes where it stopped (also inside a split
// payload).
func (f *framer) readPacket() ([]byte, error) {
	if !f.joining {
		payload, err := f.readOne()
		if err != nil || len(payload) < MaxPayloadLen {
			return payload, err
		}
		// Split payload: join into f.large (grown as data arrives).
		f.large = append(f.large[:0], payload...)
		f.joining = true
	}
	for {
		p, err := f.readOne()
		if err != nil {
			return nil, err
		}
		if len(f.large)+len(p) > f.maxRead {
			f.joining = false
			return nil, protoErr("packet", "payload of more than %d bytes exceeds the limit of %d (maxAllowedPacket)", len(f.large)+len(p), f.maxRead)
		}
		f.large = append(f.large, p...)
		if len(p) < MaxPayloadLen {
			f.joining = false
			return f.large, nil
		}
	}
}

// nextBuffered returns the next payload when its packet is already complete in the read buffer and nothing
// asks for the general path (a split payload, compression, a packet tracer, a sequence id or length that
// readPacket refuses). Otherwise ok is false and nothing is consumed: readPacket reads the packet. What it
// returns and consumes is what readPacket would.
func (f *framer) nextBuffered() (p []byte, ok bool) {
	if f.joining || f.comp != nil || f.trace != nil {
		return nil, false
	}
	b := f.buf[f.r:f.w]
	if len(b) < 4 {
		return nil, false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	if n >= MaxPayloadLen || n+4 > len(b) || b[3] != f.seq || n > f.maxRead {
		return nil, false
	}
	f.seq++
	f.pktIn++
	f.r += 4 + n
	return b[4 : 4+n : 4+n], true
}

func (f *framer) readOne() ([]byte, error) {
	if err := f.fill(4); err != nil {
		return nil, err
	}
	h := f.buf[f.r : f.r+4]
	n := int(uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16)
	seq := h[3]
	if f.comp != nil {
		// Inside compressed packets the server numbers packets from its compressed sequence after each
		// flush, so the ids need not follow ours; the compressed layer frames (and zlib checksums) the
		// stream, so follow the server's numbering instead of checking it.
		f.seq = seq
	}
	if seq != f.seq {
		return nil, protoErr("packet header", "sequence id %d, expected %d (out of order packets)", seq, f.seq)
	}
	if n > f.maxRead && n > 0 {
		return nil, protoErr("packet header", "payload length %d exceeds the limit of %d (maxAllowedPacket)", n, f.maxRead)
	}
	if err := f.fill(4 + n); err != nil {
		return nil, err // nothing consumed: the same packet is read again on the next call
	}
	f.seq++
	f.pktIn++
	p := f.buf[f.r+4 : f.r+4+n : f.r+4+n]
	f.r += 4 + n
	if f.trace != nil {
		f.trace('<', seq, p)
	}
	return p, nil
}

// resetSeq starts a new command's sequence (and the compressed one).
func (f *framer) resetSeq() {
	f.seq = 0
	if f.comp != nil {
		f.comp.seq = 0
	}
}

// startPacket returns the write buffer with 4 bytes reserved for the header; append the payload to it and
// pass it to writePacket.
func (f *framer) startPacket() []byte {
	if f.wbuf == nil {
		f.wbuf = make([]byte, 4, initialWriteBufCap)
	}
	return f.wbuf[:4]
}

// writePacket frames buf[4:] (split as needed) and writes it. buf must come from startPacket (or have 4
// spare bytes at the front); its contents are overwritten by headers when the payload is split.
func (f *framer) writePacket(buf []byte) error {
	if cap(buf) > cap(f.wbuf) {
		f.wbuf = buf[:0] // keep the grown buffer for reuse
	}
	payload := len(buf) - 4
	if payload > f.maxWrite && f.maxWrite > 0 {
		return &packetTooLargeError{size: payload, max: f.maxWrite}
	}
	f.setWriteDeadline()
	off := 0 // start of the current chunk's header in buf
	for {
		n := len(buf) - off - 4
		if n > MaxPayloadLen {
			n = MaxPayloadLen
		}
		buf[off] = byte(n)
		buf[off+1] = byte(n >> 8)
		buf[off+2] = byte(n >> 16)
		buf[off+3] = f.seq
		if f.trace != nil {
			f.trace('>', f.seq, buf[off+4:off+4+n])
		}
		f.seq++
		if err := f.write(buf[off : off+4+n]); err != nil {
			return err
		}
		if n < MaxPayloadLen {
			return nil
		}
		off += n // the next header overwrites the last 4 bytes already sent
	}
}

// AppendPacket appends payload to dst framed as the protocol sends it: a 3-byte little-endian length and the
// sequence id seq before each piece, pieces of MaxPayloadLen bytes followed by a shorter (possibly empty) one.
// It returns the sequence id of the packet after these (seq plus the number of pieces, wrapping at 256). The
// connection's own writes frame in place (framer.writePacket); fake servers and tests frame with this.
func AppendPacket(dst []byte, seq uint8, payload []byte) ([]byte, uint8) {
	for {
		n := min(len(payload), MaxPayloadLen)
		dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
		dst = append(dst, payload[:n]...)
		seq++
		payload = payload[n:]
		if n < MaxPayloadLen {
			return dst, seq
		}
	}
}

// queueCommand frames payload as a whole command (sequence id 0) to be sent just before the next command.
func (f *framer) queueCommand(payload []byte) {
	f.queued, _ = AppendPacket(f.queued, 0, payload)
	if f.trace != nil {
		f.trace('>', 0, payload)
	}
}

func (f *framer) write(b []byte) error {
	if len(f.queued) > 0 && !f.cmdWritten && len(b) >= 4 && b[3] == 0 {
		// The first write of a command: queued commands go first, in the same write when it is small.
		if len(b) <= defaultWriteBufCap {
			f.queued = append(f.queued, b...)
			b = f.queued
		} else if err := f.writeRaw(f.queued); err != nil {
			f.queued = f.queued[:0]
			return err
		}
		f.queued = f.queued[:0]
	}
	return f.writeRaw(b)
}

func (f *framer) writeRaw(b []byte) error {
	m, err := f.wr.Write(b)
	f.bytesOut += int64(m)
	if m > 0 {
		f.cmdWritten = true
	}
	if err == nil && m < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return f.ioErr("write", err)
	}
	return nil
}

// shrink drops buffers that grew for a large packet, so an idle connection holds little memory.
func (f *framer) shrink() {
	if f.r == f.w && len(f.buf) > maxIdleBufSize {
		f.buf = nil
		f.r, f.w = 0, 0
	}
	if cap(f.wbuf) > maxIdleBufSize {
		f.wbuf = nil
	}
	if cap(f.large) > maxIdleBufSize {
		f.large = nil
	}
	if cap(f.queued) > maxIdleBufSize && len(f.queued) == 0 {
		f.queued = nil
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
