// Package protocoltest is a scripted fake MySQL server for tests.
//
// A test starts a Server with a script, points a client at Server.Addr, and the
// script plays the server side of the conversation packet by packet: it sends a
// handshake, reads the handshake response, checks the auth data, answers with
// OK/ERR/result sets or with deliberately hostile bytes. This reaches the paths a
// real server will not show on demand (every auth branch, malformed replies,
// cuts mid-packet).
//
// Packets are framed and encoded with protocol's own encoders (AppendPacket,
// OKPacket.AppendTo, Column.AppendTo, ...), each checked against captured bytes
// in protocol's fixture tests. The package imports protocol but not the driver:
// the root package's tests and protocol's external tests (package protocol_test)
// use it.
//
// Every Conn method records the first failure instead of panicking or calling
// t.Fatal; after a failure the I/O methods do nothing (reads return nil), so a
// script runs to its end quickly. The test reads the failure with Conn.Err, or
// with Server.Errs once the scripts have returned.
package protocoltest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// DefaultTimeout is the deadline each Conn I/O operation gets unless
// Conn.SetTimeout chose another.
const DefaultTimeout = 10 * time.Second

// Server is a fake MySQL server listening on 127.0.0.1 on a free port. It runs
// its script for each accepted connection in its own goroutine.
type Server struct {
	t      testing.TB
	ln     net.Listener
	script func(c *Conn)

	accepted atomic.Int64
	wg       sync.WaitGroup

	// Vars answers server variables in queries made only of @@variables and CONNECTION_ID() (the driver's
	// connect-time and KILL-time server identity queries), which ExpectCommand answers by itself. A missing
	// name is answered with "fake-<name>-<listen address>"; @@max_allowed_packet with 67108864. Set before
	// clients connect.
	Vars map[string]string
	// NoAutoVars turns that automatic answer off (ExpectCommand returns such queries like any other).
	NoAutoVars bool

	mu     sync.Mutex
	closed bool
	live   map[*Conn]struct{}
	errs   []error
	once   sync.Once
}

// NewServer starts a Server running script for every connection. The server is
// closed by t.Cleanup: the listener and live connections are closed and
// NewServer's cleanup waits for every script to return. A listen failure fails
// the test.
func NewServer(t testing.TB, script func(c *Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("rawmysql: protocoltest: listen: %v", err)
		return nil
	}
	s := &Server{t: t, ln: ln, script: script, live: make(map[*Conn]struct{})}
	s.wg.Add(1)
	go s.acceptLoop()
	t.Cleanup(s.Close)
	return s
}

// Addr returns the server's "host:port" address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Conns returns the number of connections accepted so far.
func (s *Server) Conns() int { return int(s.accepted.Load()) }

// Errs returns the first error of every connection whose script has returned,
// in the order the scripts returned; connections without an error are left out.
// Call it after the client is done (or after Close) to check that the scripts
// saw what they expected.
func (s *Server) Errs() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// Close stops the listener, closes every live connection and waits for all
// scripts to return. It is safe to call more than once; t.Cleanup calls it.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*Conn, 0, len(s.live))
		for c := range s.live {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		_ = s.ln.Close()
		for _, c := range conns {
			c.closeRaw()
		}
	})
	s.wg.Wait()
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		id := s.accepted.Add(1)
		c := newConn(nc)
		c.srv, c.id = s, id
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			continue
		}
		s.live[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.run(c)
	}
}

func (s *Server) run(c *Conn) {
	defer s.wg.Done()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.live, c)
		if err := c.Err(); err != nil {
			s.errs = append(s.errs, err)
		}
		s.mu.Unlock()
	}()
	if s.script != nil {
		s.script(c)
	}
}

// Conn is one client connection on the fake server, as seen by a script. It
// tracks the packet sequence id and the handshake the script sent. A Conn is
// meant to be used by its script's goroutine only (Err, Close and NetConn may
// be called from anywhere).
type Conn struct {
	raw net.Conn // the accepted TCP connection, closed by Server.Close

	mu      sync.Mutex
	nc      net.Conn // current transport: raw, or a *tls.Conn over it
	err     error
	timeout time.Duration

	seq uint8
	hs  *HandshakeOpts // the options SendHandshake used, defaults filled in

	srv *Server // nil for a Conn made outside a Server
	id  int64   // 1 for the server's first connection, 2 for the next, ...
}

func newConn(nc net.Conn) *Conn {
	return &Conn{raw: nc, nc: nc, timeout: DefaultTimeout}
}

// Err returns the first error the Conn met, or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Errorf records a script-level failure (for example "unexpected command") as
// the Conn's error, unless an earlier error is already recorded. The message
// is prefixed with "rawmysql: protocoltest: ".
func (c *Conn) Errorf(format string, args ...any) {
	c.fail(fmt.Errorf("rawmysql: protocoltest: "+format, args...))
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// NetConn returns the connection's current transport: the TCP connection, or
// the TLS connection over it after a TLS upgrade.
func (c *Conn) NetConn() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nc
}

// SetTimeout sets the deadline given to each following I/O operation. A
// duration of zero or less restores DefaultTimeout, so a script never waits
// forever.
func (c *Conn) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	c.mu.Lock()
	c.timeout = d
	c.mu.Unlock()
}

// Seq returns the sequence id the next packet written or read will carry.
func (c *Conn) Seq() uint8 { return c.seq }

// SetSeq sets the sequence id of the next packet written or read.
func (c *Conn) SetSeq(n uint8) { c.seq = n }

// Close closes the connection (sending a TLS close_notify first after a TLS
// upgrade). It is safe to call more than once.
func (c *Conn) Close() {
	nc := c.NetConn()
	_ = nc.Close()
	if nc != c.raw {
		_ = c.raw.Close()
	}
}

// closeRaw closes the TCP connection under any TLS layer; used by Server.Close
// from another goroutine to unblock a script.
func (c *Conn) closeRaw() { _ = c.raw.Close() }

// conn returns the transport with a fresh deadline set, or nil after a failure.
func (c *Conn) conn() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		c.err = fmt.Errorf("rawmysql: protocoltest: set deadline: %w", err)
		return nil
	}
	return c.nc
}

// WritePacket frames payload as one packet and writes it: a 3-byte
// little-endian length and the current sequence id, which then increments. A
// payload of 0xFFFFFF bytes or more is split into frames of 0xFFFFFF bytes,
// each with the next sequence id, ended by a shorter (possibly empty) frame.
func (c *Conn) WritePacket(payload []byte) {
	nc := c.conn()
	if nc == nil {
		return
	}
	var out []byte
	out, c.seq = protocol.AppendPacket(nil, c.seq, payload)
	if _, err := nc.Write(out); err != nil {
		c.fail(fmt.Errorf("rawmysql: protocoltest: write packet: %w", err))
	}
}

// WriteRaw writes b exactly as given, with no framing and no change to the
// sequence id. Use it for malformed or truncated packets.
func (c *Conn) WriteRaw(b []byte) {
	nc := c.conn()
	if nc == nil {
		return
	}
	if _, err := nc.Write(b); err != nil {
		c.fail(fmt.Errorf("rawmysql: protocoltest: write: %w", err))
	}
}

// ReadPacket reads one packet from the client and returns its payload, joining
// frames of 0xFFFFFF bytes with the frames that continue them. Each frame's
// sequence id must equal the expected one (which then increments); a mismatch
// is recorded as an error. It returns nil on any error, including io.EOF when
// the client closed the connection (errors.Is(c.Err(), io.EOF) then holds).
func (c *Conn) ReadPacket() []byte {
	nc := c.conn()
	if nc == nil {
		return nil
	}
	var payload []byte
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = fmt.Errorf("truncated packet header: %w", err)
			}
			c.fail(fmt.Errorf("rawmysql: protocoltest: read packet: %w", err))
			return nil
		}
		n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
		if hdr[3] != c.seq {
			c.fail(fmt.Errorf("rawmysql: protocoltest: packet sequence id %d, want %d", hdr[3], c.seq))
			return nil
		}
		c.seq++
		start := len(payload)
		payload = append(payload, make([]byte, n)...)
		if _, err := io.ReadFull(nc, payload[start:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			c.fail(fmt.Errorf("rawmysql: protocoltest: read packet payload (%d bytes): %w", n, err))
			return nil
		}
		if n < protocol.MaxPayloadLen {
			if payload == nil {
				payload = []byte{}
			}
			return payload
		}
	}
}

// ExpectCommand resets the sequence id to 0, reads the client's next command
// packet and returns its command byte and argument (the rest of the payload).
// An empty command packet is recorded as an error. On error it returns 0, nil.
func (c *Conn) ExpectCommand() (cmd byte, arg []byte) {
	for {
		c.seq = 0
		p := c.ReadPacket()
		if p == nil {
			return 0, nil
		}
		if len(p) == 0 {
			c.Errorf("empty command packet")
			return 0, nil
		}
		if p[0] == 0x03 && c.answerVars(string(p[1:])) {
			continue
		}
		return p[0], p[1:]
	}
}

// answerVars answers "SELECT CONNECTION_ID(), @@a, @@b" style queries (see Server.Vars); false when query is
// something else.
func (c *Conn) answerVars(query string) bool {
	s := c.srv
	if s == nil || s.NoAutoVars || !strings.HasPrefix(query, "SELECT ") {
		return false
	}
	items := strings.Split(strings.TrimPrefix(query, "SELECT "), ",")
	cols := make([]Column, len(items))
	row := make([][]byte, len(items))
	for i, it := range items {
		it = strings.TrimSpace(it)
		var v string
		switch {
		case it == "CONNECTION_ID()":
			v = strconv.FormatInt(c.id, 10)
		case it == "@@max_allowed_packet":
			v = "67108864"
		case strings.HasPrefix(it, "@@"):
			name := it[2:]
			var ok bool
			if v, ok = s.Vars[name]; !ok {
				v = "fake-" + name + "-" + s.Addr()
			}
		default:
			return false
		}
		cols[i] = Column{Name: it, Type: 253, Charset: 45}
		row[i] = []byte(v)
	}
	c.SendResultSet(cols, [][][]byte{row}, c.hs == nil || c.hs.Capabilities&protocol.ClientDeprecateEOF != 0)
	return true
}
