// Package faultproxy is a fault-injecting TCP proxy for tests.
//
// A Proxy listens on 127.0.0.1, forwards each accepted connection to a target
// address, and injects faults at exact byte offsets of either direction's
// stream: cut the connection, stall or drop one direction, or flip a byte. A
// test runs a client through the proxy once with Record(true) to find the
// offsets of the phases it cares about (handshake, command, reply), then again
// with faults at those offsets.
//
// Offsets count the bytes of one direction from the start of the connection. A
// fault hits exactly at its offset even when that offset falls in the middle of
// a read chunk: the bytes before it are forwarded first.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Direction names one direction of a proxied connection.
type Direction int

const (
	// ToServer is the stream from the client to the target.
	ToServer Direction = iota
	// ToClient is the stream from the target to the client.
	ToClient
)

// String returns "ToServer" or "ToClient".
func (d Direction) String() string {
	switch d {
	case ToServer:
		return "ToServer"
	case ToClient:
		return "ToClient"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

func (d Direction) valid() bool { return d == ToServer || d == ToClient }

// Kind is what a fault does when its direction's stream reaches its offset.
type Kind int

const (
	// Cut closes both sides when the byte at Offset arrives: the Offset bytes
	// before it are forwarded, it and everything later are not, and from that
	// moment nothing more is forwarded in the other direction either.
	Cut Kind = iota
	// Stall forwards the first Offset bytes and then stops reading that
	// direction (the sender feels backpressure). The other direction keeps
	// working; the connection stays open until the proxy closes (or the other
	// direction fails).
	Stall
	// Corrupt flips all bits of the byte at Offset (XOR 0xFF) and keeps
	// forwarding.
	Corrupt
	// Drop forwards the first Offset bytes, then keeps reading that direction
	// and discards what it reads, without closing anything (not even when the
	// sender half-closes).
	Drop
	// CutAfterForward forwards the first Offset bytes and closes both sides as
	// soon as they are written, without waiting for more data; nothing that
	// arrives in the other direction after the last of those bytes is
	// forwarded. With Dir ToServer and Offset at the end of a command: the
	// command reaches the server, its reply never reaches the client.
	CutAfterForward
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Cut:
		return "Cut"
	case Stall:
		return "Stall"
	case Corrupt:
		return "Corrupt"
	case Drop:
		return "Drop"
	case CutAfterForward:
		return "CutAfterForward"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

func (k Kind) valid() bool { return k >= Cut && k <= CutAfterForward }

// Fault is one fault to inject.
type Fault struct {
	Dir       Direction // direction whose stream the fault is in
	Offset    int64     // byte offset in that stream, counted from the start of the connection
	Kind      Kind      // what happens at Offset
	ConnIndex int       // accepted connection (0-based) it applies to; -1 = every connection
}

// String describes the fault.
func (f Fault) String() string {
	return fmt.Sprintf("%v %v at %d on conn %d", f.Kind, f.Dir, f.Offset, f.ConnIndex)
}

// dialTimeout bounds each dial to the target.
const dialTimeout = 10 * time.Second

// Proxy is a fault-injecting TCP proxy listening on 127.0.0.1 on a free port.
type Proxy struct {
	t      testing.TB
	target string
	ln     net.Listener
	ctx    context.Context // cancelled by Close; aborts dials
	cancel context.CancelFunc
	record atomic.Bool
	wg     sync.WaitGroup

	mu     sync.Mutex
	faults []Fault
	conns  []*conn
	closed bool

	closeOnce sync.Once
	closeErr  error
}

// New starts a proxy forwarding to target with the given faults (applied to the
// connections their ConnIndex names). It is closed by t.Cleanup. A listen
// failure fails the test; an invalid fault (unknown Dir or Kind, negative
// Offset) is reported with t.Errorf and ignored.
func New(t testing.TB, target string, faults ...Fault) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("rawmysql: faultproxy: listen: %v", err)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{t: t, target: target, ln: ln, ctx: ctx, cancel: cancel}
	p.faults = p.checkFaults(faults)
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (p *Proxy) checkFaults(faults []Fault) []Fault {
	out := make([]Fault, 0, len(faults))
	for _, f := range faults {
		if !f.Dir.valid() || !f.Kind.valid() || f.Offset < 0 || f.ConnIndex < -1 {
			p.t.Errorf("rawmysql: faultproxy: invalid fault %v", f)
			continue
		}
		out = append(out, f)
	}
	return out
}

// Addr returns the proxy's "host:port" address, to dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetFaults replaces the fault list for connections accepted after the call;
// connections already accepted keep theirs. ConnIndex still counts from the
// proxy's first connection.
func (p *Proxy) SetFaults(faults ...Fault) {
	p.t.Helper()
	checked := p.checkFaults(faults)
	p.mu.Lock()
	p.faults = checked
	p.mu.Unlock()
}

// Conns returns the number of connections accepted so far.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func (p *Proxy) conn(i int) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 || i >= len(p.conns) {
		return nil
	}
	return p.conns[i]
}

// Bytes returns how many bytes of direction d the proxy has forwarded so far on
// connection conn (0-based accept order); 0 for an unknown connection or
// direction. Bytes are counted as their write to the destination starts (a
// failed write takes back what it did not write), so once the peer has seen
// some bytes, Bytes counts them.
func (p *Proxy) Bytes(conn int, d Direction) int64 {
	c := p.conn(conn)
	if c == nil || !d.valid() {
		return 0
	}
	return c.streams[d].n.Load()
}

// Record turns recording on or off. While it is on, every byte forwarded (after
// any Corrupt fault applied) is also kept, per connection and direction, for
// Recorded. Turning it off keeps what was recorded.
func (p *Proxy) Record(enable bool) { p.record.Store(enable) }

// Recorded returns a copy of the bytes recorded for connection conn in
// direction d; nil for an unknown connection or direction. With recording on
// from before the connection, it is exactly the forwarded stream, so offsets
// in it are the offsets Fault uses.
func (p *Proxy) Recorded(conn int, d Direction) []byte {
	c := p.conn(conn)
	if c == nil || !d.valid() {
		return nil
	}
	s := c.streams[d]
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec)
}

// Close stops the listener, closes every connection on both sides and waits
// until all of the proxy's goroutines have returned. It is safe to call more
// than once; later calls return nil.
func (p *Proxy) Close() error {
	first := false
	p.closeOnce.Do(func() {
		first = true
		p.mu.Lock()
		p.closed = true
		conns := slices.Clone(p.conns)
		p.mu.Unlock()
		p.cancel()
		if err := p.ln.Close(); err != nil {
			p.closeErr = fmt.Errorf("rawmysql: faultproxy: close listener: %w", err)
		}
		for _, c := range conns {
			c.closeBoth()
		}
	})
	p.wg.Wait()
	if first {
		return p.closeErr
	}
	return nil
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = client.Close()
			continue
		}
		idx := len(p.conns)
		var faults [2][]Fault
		for _, f := range p.faults {
			if f.ConnIndex == -1 || f.ConnIndex == idx {
				faults[f.Dir] = append(faults[f.Dir], f)
			}
		}
		c := newConn(p, client)
		p.conns = append(p.conns, c)
		p.wg.Add(1)
		p.mu.Unlock()
		for d := range faults {
			slices.SortStableFunc(faults[d], func(a, b Fault) int {
				switch {
				case a.Offset < b.Offset:
					return -1
				case a.Offset > b.Offset:
					return 1
				}
				return 0
			})
		}
		go c.run(faults)
	}
}

// stream is one direction's counters.
type stream struct {
	n   atomic.Int64 // bytes forwarded
	mu  sync.Mutex
	rec []byte // bytes forwarded while recording was on
}

// conn is one proxied connection.
type conn struct {
	p       *Proxy
	streams [2]*stream

	// halt, when non-zero, is 1 + the only direction still allowed to forward
	// (set by Cut and CutAfterForward just before they close everything).
	halt atomic.Int32
	// finished counts directions that ended cleanly.
	finished atomic.Int32

	mu     sync.Mutex
	client net.Conn
	server net.Conn // nil until dialed
	dead   bool
	deadCh chan struct{}
}

func newConn(p *Proxy, client net.Conn) *conn {
	return &conn{p: p, client: client, streams: [2]*stream{{}, {}}, deadCh: make(chan struct{})}
}

// closeBoth closes both sides once; pending and later reads and writes fail.
func (c *conn) closeBoth() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	c.dead = true
	close(c.deadCh)
	_ = c.client.Close()
	if c.server != nil {
		_ = c.server.Close()
	}
}

func (c *conn) run(faults [2][]Fault) {
	defer c.p.wg.Done()
	d := net.Dialer{Timeout: dialTimeout}
	server, err := d.DialContext(c.p.ctx, "tcp", c.p.target)
	if err != nil {
		c.closeBoth()
		return
	}
	c.mu.Lock()
	c.server = server
	dead := c.dead
	c.mu.Unlock()
	if dead {
		_ = server.Close()
		return
	}
	c.p.wg.Add(1)
	go func() {
		defer c.p.wg.Done()
		c.pipe(ToServer, c.client, server, faults[ToServer])
	}()
	c.pipe(ToClient, server, c.client, faults[ToClient])
}

// forward writes b to dst unless the connection is halted for direction d,
// then counts and records it. It reports whether forwarding may go on.
func (c *conn) forward(d Direction, dst net.Conn, b []byte) bool {
	if h := c.halt.Load(); h != 0 && h != int32(d)+1 {
		return false
	}
	if len(b) == 0 {
		return true
	}
	// Count (and record) before writing, so that whoever sees the bytes
	// arrive also sees them counted; a failed write takes back the unwritten
	// tail. Only this direction's goroutine appends to s.rec.
	s := c.streams[d]
	rec := c.p.record.Load()
	if rec {
		s.mu.Lock()
		s.rec = append(s.rec, b...)
		s.mu.Unlock()
	}
	s.n.Add(int64(len(b)))
	n, err := dst.Write(b)
	if err != nil {
		unwritten := len(b) - n
		s.n.Add(-int64(unwritten))
		if rec {
			s.mu.Lock()
			s.rec = s.rec[:len(s.rec)-unwritten]
			s.mu.Unlock()
		}
		return false
	}
	return true
}

// cut stops the other direction, forwards the last bytes of d and closes both
// sides.
func (c *conn) cut(d Direction, dst net.Conn, last []byte) {
	c.halt.CompareAndSwap(0, int32(d)+1)
	c.forward(d, dst, last)
	c.closeBoth()
}

// hold waits until the connection dies or the proxy closes.
func (c *conn) hold() {
	select {
	case <-c.deadCh:
	case <-c.p.ctx.Done():
	}
}

// finish marks direction d as ended cleanly; when both are, the connection is
// closed.
func (c *conn) finish() {
	if c.finished.Add(1) == 2 {
		c.closeBoth()
	}
}

// pipe copies src to dst for direction d, applying faults (sorted by offset).
func (c *conn) pipe(d Direction, src, dst net.Conn, faults []Fault) {
	buf := make([]byte, 32<<10)
	var pos int64 // bytes of this direction read and handled so far
	for {
		// Faults that hit at a position, without waiting for a byte.
		for len(faults) > 0 && faults[0].Offset < pos {
			faults = faults[1:]
		}
		for _, f := range faults {
			if f.Offset != pos {
				break
			}
			switch f.Kind {
			case Stall:
				c.hold()
				return
			case CutAfterForward:
				c.cut(d, dst, nil)
				return
			}
		}
		// Never read past the offset of a Stall or CutAfterForward, so the
		// bytes after it stay with the sender.
		limit := int64(len(buf))
		for _, f := range faults {
			if f.Kind == Stall || f.Kind == CutAfterForward {
				limit = min(limit, f.Offset-pos)
				break
			}
		}
		n, err := src.Read(buf[:limit])
		if n > 0 {
			chunk := buf[:n]
			end := pos + int64(n)
			for len(faults) > 0 && faults[0].Offset < end {
				f := faults[0]
				rel := f.Offset - pos
				switch f.Kind {
				case Corrupt:
					chunk[rel] ^= 0xFF
					faults = faults[1:]
					continue
				case Cut:
					c.cut(d, dst, chunk[:rel])
					return
				case Drop:
					if c.forward(d, dst, chunk[:rel]) {
						c.drain(src)
					} else {
						c.closeBoth()
					}
					return
				}
				// Stall and CutAfterForward offsets are never inside a chunk
				// (see limit); skip defensively.
				faults = faults[1:]
			}
			for _, f := range faults {
				if f.Offset != end {
					break
				}
				if f.Kind == CutAfterForward {
					// The last bytes before the cut: stop the other
					// direction before they can cause a reply.
					c.halt.CompareAndSwap(0, int32(d)+1)
				}
			}
			if !c.forward(d, dst, chunk) {
				c.closeBoth()
				return
			}
			pos = end
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
				c.finish()
				return
			}
			c.closeBoth()
			return
		}
	}
}

// drain reads and discards src until it ends. A clean end leaves the
// destination open (Drop never closes); an error closes the connection.
func (c *conn) drain(src net.Conn) {
	_, err := io.Copy(io.Discard, src)
	if err == nil {
		c.finish()
		return
	}
	c.closeBoth()
}
