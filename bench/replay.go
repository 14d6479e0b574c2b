package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/rawmysql/rawmysql/protocol"
)

// Replay: a recording proxy sits between a driver and the real server and keeps, for every command the client
// sent, the exact bytes the server answered. A replay server then answers the same commands with those bytes,
// so what a benchmark measures against it is the client's own cost (plus loopback TCP), not the server's.

const maxPayload = 1<<24 - 1

// Command bytes that carry a statement id in payload[1:5]; the id is ignored when matching (each prepare gets a
// new id from the real server, the replay always hands out the first one it recorded).
func hasStmtID(cmd byte) bool { return cmd >= 0x17 && cmd <= 0x1c && cmd != 0x1b }

// exchange is one command and the server's complete answer to it.
type exchange struct {
	cmd  []byte // raw client packets (headers included)
	resp []byte // raw server packets until the next command
}

// recording is what a recording proxy captured for one driver.
type recording struct {
	mu        sync.Mutex
	handshake [][]byte          // server bytes before the 1st client packet, then after each client handshake packet
	answers   map[string][]byte // matchKey(command) → response
	capture   bool              // collect the commands of one operation into op (for the floor client)
	op        []*exchange
}

func newRecording() *recording { return &recording{answers: make(map[string][]byte)} }

// matchKey appends the lookup key of a raw command to dst: the bytes with any statement id zeroed, and for
// commands over 8 KiB only their length, head and tail (so matching a 16 MiB command stays cheap).
func matchKey(dst, raw []byte) []byte {
	const part = 4096
	if len(raw) <= 2*part {
		dst = append(dst, raw...)
	} else {
		dst = append(dst, raw[:part]...)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(len(raw)))
		dst = append(dst, raw[len(raw)-part:]...)
	}
	if len(raw) >= 9 && hasStmtID(raw[4]) {
		clear(dst[5:9])
	}
	return dst
}

func (r *recording) store(e *exchange) {
	if e == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The first answer is kept: later ones can depend on state the replay does not have (MariaDB skips the
	// column definitions of an execution once the connection has them; the replay's connections start fresh).
	key := string(matchKey(nil, e.cmd))
	if _, ok := r.answers[key]; !ok {
		r.answers[key] = e.resp
	}
}

// begin notes a new command; while capturing, it becomes part of the captured operation.
func (r *recording) begin(e *exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.capture {
		r.op = append(r.op, e)
	}
}

// setCapture starts (true) or ends the capture of one operation's commands; ending it returns them.
func (r *recording) setCapture(on bool) []*exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.capture = on
	op := r.op
	r.op = nil
	return op
}

// readPacket reads one raw packet (header included) appended to dst.
func readPacket(rd io.Reader, dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	if _, err := io.ReadFull(rd, dst[start:]); err != nil {
		return dst[:start], err
	}
	n := int(dst[start]) | int(dst[start+1])<<8 | int(dst[start+2])<<16
	dst = grow(dst, n)
	_, err := io.ReadFull(rd, dst[len(dst)-n:])
	return dst, err
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// recorder is a TCP proxy to the real server that fills a recording.
type recorder struct {
	ln       net.Listener
	upstream string
	rec      *recording
	wg       sync.WaitGroup
}

func startRecorder(upstream string, rec *recording) (*recorder, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &recorder{ln: ln, upstream: upstream, rec: rec}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *recorder) addr() string { return p.ln.Addr().String() }

func (p *recorder) close() { p.ln.Close(); p.wg.Wait() }

func (p *recorder) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.proxy(c, s) }()
	}
}

// proxy forwards one connection, recording the handshake of the first connection and every command.
func (p *recorder) proxy(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	var (
		mu        sync.Mutex
		inHS      = true
		hs        = [][]byte{nil}
		cur       *exchange
		clientPkt = 0
	)
	done := make(chan struct{})
	go func() { // server → client
		defer close(done)
		defer c.Close()
		var buf []byte
		for {
			var err error
			buf, err = readPacket(s, buf[:0])
			if err != nil {
				return
			}
			mu.Lock()
			if inHS {
				hs[len(hs)-1] = append(hs[len(hs)-1], buf...)
				if clientPkt > 0 && (buf[4] == 0x00 || buf[4] == 0xff) {
					inHS = false
					p.rec.mu.Lock()
					if p.rec.handshake == nil {
						p.rec.handshake = hs
					}
					p.rec.mu.Unlock()
				}
			} else if cur != nil {
				cur.resp = append(cur.resp, buf...)
			}
			mu.Unlock()
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	var buf []byte
	for {
		var err error
		buf, err = readPacket(c, buf[:0])
		if err != nil {
			break
		}
		mu.Lock()
		if inHS {
			clientPkt++
			hs = append(hs, nil)
		} else if buf[3] == 0 || cur == nil {
			p.rec.store(cur)
			cur = &exchange{cmd: append([]byte(nil), buf...)}
			p.rec.begin(cur)
		} else {
			cur.cmd = append(cur.cmd, buf...)
		}
		mu.Unlock()
		if _, err := s.Write(buf); err != nil {
			break
		}
	}
	s.Close()
	<-done
	mu.Lock()
	p.rec.store(cur)
	mu.Unlock()
}

// replayServer answers commands with recorded bytes. It allocates nothing per command once a connection's
// buffers have grown, so allocation counts measured in the same process belong to the client.
type replayServer struct {
	ln     net.Listener
	rec    *recording
	wg     sync.WaitGroup
	mu     sync.Mutex
	misses int
	last   string
	bufs   sync.Pool
}

func startReplay(rec *recording) (*replayServer, error) {
	if rec.handshake == nil {
		return nil, errors.New("replay: no handshake was recorded")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &replayServer{ln: ln, rec: rec}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func (r *replayServer) addr() string { return r.ln.Addr().String() }

func (r *replayServer) close() { r.ln.Close(); r.wg.Wait() }

// err reports commands the recording had no answer for.
func (r *replayServer) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.misses > 0 {
		return fmt.Errorf("replay: %d commands without a recorded answer (last % x)", r.misses, r.last)
	}
	return nil
}

type replayBufs struct{ in, key []byte }

func (r *replayServer) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.serve(c) }()
	}
}

func (r *replayServer) serve(c net.Conn) {
	defer c.Close()
	b, _ := r.bufs.Get().(*replayBufs)
	if b == nil {
		b = &replayBufs{in: make([]byte, 0, 64<<10), key: make([]byte, 0, 16<<10)}
	}
	defer r.bufs.Put(b)
	hs := r.rec.handshake
	if _, err := c.Write(hs[0]); err != nil {
		return
	}
	var err error
	for _, answer := range hs[1:] {
		if b.in, err = readPacket(c, b.in[:0]); err != nil {
			return
		}
		if _, err := c.Write(answer); err != nil {
			return
		}
	}
	for {
		if b.in, err = readPacket(c, b.in[:0]); err != nil {
			return
		}
		for pktLen := len(b.in) - 4; pktLen == maxPayload; { // a command split over several packets
			start := len(b.in)
			if b.in, err = readPacket(c, b.in); err != nil {
				return
			}
			pktLen = len(b.in) - start - 4
		}
		if b.in[4] == 0x01 { // COM_QUIT
			return
		}
		b.key = matchKey(b.key[:0], b.in)
		resp, ok := r.rec.answers[string(b.key)]
		if !ok {
			r.mu.Lock()
			r.misses++
			r.last = string(b.in[:min(len(b.in), 64)])
			r.mu.Unlock()
			// ERR 1105 "no recorded answer", so the client fails instead of waiting.
			e := &protocol.ServerError{Number: 1105, SQLState: "HY000", Message: "replay: no recorded answer"}
			pkt, _ := protocol.AppendPacket(nil, b.in[3]+1, protocol.AppendError(nil, e))
			if _, err := c.Write(pkt); err != nil {
				return
			}
			continue
		}
		if len(resp) > 0 {
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	}
}
