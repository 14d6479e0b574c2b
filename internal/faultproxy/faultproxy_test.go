package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wait bounds every blocking step of these tests, so a bug fails instead of
// hanging.
const wait = 10 * time.Second

// backend is an echo server that also keeps what each connection received.
type backend struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns []*backendConn
	ready chan *backendConn
}

type backendConn struct {
	nc     net.Conn
	mu     sync.Mutex
	got    []byte
	change chan struct{} // receives a token whenever got grows or the conn ends
	done   chan struct{} // closed when the conn ended (EOF or error)
	endErr error
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &backend{ln: ln, ready: make(chan *backendConn, 16)}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			bc := &backendConn{nc: nc, change: make(chan struct{}, 1), done: make(chan struct{})}
			b.mu.Lock()
			b.conns = append(b.conns, bc)
			b.mu.Unlock()
			b.ready <- bc
			b.wg.Add(1)
			go bc.serve(&b.wg)
		}
	}()
	t.Cleanup(b.close)
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) close() {
	_ = b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		_ = c.nc.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// next returns the next connection the backend accepted.
func (b *backend) next(t *testing.T) *backendConn {
	t.Helper()
	select {
	case c := <-b.ready:
		return c
	case <-time.After(wait):
		t.Fatal("backend accepted no connection")
		return nil
	}
}

func (c *backendConn) serve(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(c.done)
	defer func() { _ = c.nc.Close() }()
	buf := make([]byte, 4096)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.mu.Lock()
			c.got = append(c.got, buf[:n]...)
			c.mu.Unlock()
			select {
			case c.change <- struct{}{}:
			default:
			}
			if _, werr := c.nc.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			return
		}
	}
}

func (c *backendConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.got...)
}

// waitLen blocks until the backend connection received at least n bytes.
func (c *backendConn) waitLen(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(wait)
	for len(c.received()) < n {
		select {
		case <-c.change:
		case <-c.done:
			require.GreaterOrEqual(t, len(c.received()), n, "backend connection ended early")
			return
		case <-deadline:
			t.Fatalf("backend received %d bytes, want %d", len(c.received()), n)
		}
	}
}

// waitEnd blocks until the backend connection has ended and returns what it got.
func (c *backendConn) waitEnd(t *testing.T) []byte {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		t.Fatal("backend connection did not end")
	}
	return c.received()
}

// endedWithin reports whether the backend connection ends within d; used only
// to check that something does NOT happen (a false result cannot be wrong).
func (c *backendConn) endedWithin(d time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(d):
		return false
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + 1)
	}
	return b
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	require.NoError(t, nc.SetDeadline(time.Now().Add(wait)))
	return nc.(*net.TCPConn)
}

// readAll reads until EOF or a connection error and returns the bytes.
func readAll(t *testing.T, nc net.Conn) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := nc.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "read timed out instead of ending")
			return out
		}
	}
}

// quiet reports whether nc delivers no data and no EOF within d (it must time
// out): the connection is held open.
func quiet(t *testing.T, nc net.Conn, d time.Duration) {
	t.Helper()
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(d)))
	n, err := nc.Read(make([]byte, 1))
	assert.Equal(t, 0, n, "no data expected")
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "connection must stay open")
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(wait)))
}

func TestPassThroughAndRecord(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr())
	p.Record(true)
	nc := dial(t, p.Addr())
	data := pattern(200 << 10)
	go func() {
		_, _ = nc.Write(data)
		_ = nc.CloseWrite()
	}()
	echoed := readAll(t, nc)
	assert.True(t, bytes.Equal(data, echoed), "echo through the proxy")
	bc := be.next(t)
	assert.True(t, bytes.Equal(data, bc.waitEnd(t)))
	assert.Equal(t, int64(len(data)), p.Bytes(0, ToServer))
	assert.Equal(t, int64(len(data)), p.Bytes(0, ToClient))
	assert.True(t, bytes.Equal(data, p.Recorded(0, ToServer)))
	assert.True(t, bytes.Equal(data, p.Recorded(0, ToClient)))
	assert.Equal(t, 1, p.Conns())

	// Unknown connections and directions answer zero values.
	assert.Zero(t, p.Bytes(1, ToServer))
	assert.Zero(t, p.Bytes(-1, ToServer))
	assert.Zero(t, p.Bytes(0, Direction(7)))
	assert.Nil(t, p.Recorded(5, ToClient))
	assert.Nil(t, p.Recorded(0, Direction(-1)))

	// With recording off, a new connection records nothing but still counts.
	p.Record(false)
	nc2 := dial(t, p.Addr())
	_, err := nc2.Write([]byte("abc"))
	require.NoError(t, err)
	require.NoError(t, nc2.CloseWrite())
	assert.Equal(t, []byte("abc"), readAll(t, nc2))
	assert.Empty(t, p.Recorded(1, ToServer))
	assert.Equal(t, int64(3), p.Bytes(1, ToServer))
}

func TestCutToServerMidChunk(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToServer, Offset: 37, Kind: Cut, ConnIndex: 0})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data) // one write: the cut falls inside the proxy's read chunk
	require.NoError(t, err)
	bc := be.next(t)
	assert.Equal(t, data[:37], bc.waitEnd(t), "server got exactly the bytes before the offset, then the close")
	assert.Empty(t, readAll(t, nc), "nothing comes back after the cut")
	assert.Equal(t, int64(37), p.Bytes(0, ToServer))
	assert.Equal(t, int64(0), p.Bytes(0, ToClient))
}

func TestCutToClientMidChunk(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToClient, Offset: 37, Kind: Cut})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	assert.Equal(t, data[:37], readAll(t, nc))
	bc := be.next(t)
	bc.waitEnd(t)
	assert.Equal(t, data, bc.received(), "the request went through before the reply was cut")
	assert.Equal(t, int64(100), p.Bytes(0, ToServer))
	assert.Equal(t, int64(37), p.Bytes(0, ToClient))
}

func TestCutWaitsForTheByteAtOffset(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToServer, Offset: 100, Kind: Cut})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	got := make([]byte, 100)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err, "a cut at the end of the message lets its reply through")
	assert.Equal(t, data, got)
	_, err = nc.Write([]byte{0xAA, 0xBB})
	require.NoError(t, err)
	assert.Empty(t, readAll(t, nc))
	assert.Equal(t, data, be.next(t).waitEnd(t))
	assert.Equal(t, int64(100), p.Bytes(0, ToServer))
}

func TestCorruptBothDirections(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(),
		Fault{Dir: ToServer, Offset: 37, Kind: Corrupt},
		Fault{Dir: ToClient, Offset: 5, Kind: Corrupt},
		Fault{Dir: ToClient, Offset: 99, Kind: Corrupt},
	)
	p.Record(true)
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	require.NoError(t, nc.CloseWrite())

	toServer := append([]byte(nil), data...)
	toServer[37] ^= 0xFF
	toClient := append([]byte(nil), toServer...)
	toClient[5] ^= 0xFF
	toClient[99] ^= 0xFF

	assert.Equal(t, toClient, readAll(t, nc))
	assert.Equal(t, toServer, be.next(t).waitEnd(t))
	assert.Equal(t, int64(100), p.Bytes(0, ToServer))
	assert.Equal(t, int64(100), p.Bytes(0, ToClient))
	assert.Equal(t, toServer, p.Recorded(0, ToServer), "recording keeps the forwarded (corrupted) bytes")
	assert.Equal(t, toClient, p.Recorded(0, ToClient))
}

func TestDropToServer(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToServer, Offset: 37, Kind: Drop})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	got := make([]byte, 37)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	assert.Equal(t, data[:37], got, "the 37 bytes before the offset reached the server and echoed")
	bc := be.next(t)
	bc.waitLen(t, 37)

	// More data and even a half-close are swallowed; nobody is closed.
	_, err = nc.Write(pattern(50))
	require.NoError(t, err)
	require.NoError(t, nc.CloseWrite())
	quiet(t, nc, 200*time.Millisecond)
	assert.False(t, bc.endedWithin(200*time.Millisecond), "Drop must not close the server side")
	assert.Equal(t, data[:37], bc.received())
	assert.Equal(t, int64(37), p.Bytes(0, ToServer))
	assert.Equal(t, int64(37), p.Bytes(0, ToClient))

	require.NoError(t, p.Close())
	assert.Equal(t, data[:37], bc.waitEnd(t), "closing the proxy ends the connection")
	assert.Empty(t, readAll(t, nc))
}

func TestDropToClient(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToClient, Offset: 10, Kind: Drop})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	got := make([]byte, 10)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	assert.Equal(t, data[:10], got)
	bc := be.next(t)
	bc.waitLen(t, 100)
	quiet(t, nc, 200*time.Millisecond)
	assert.Equal(t, int64(10), p.Bytes(0, ToClient))
	assert.Equal(t, int64(100), p.Bytes(0, ToServer))
}

func TestStallToClientHolds(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToClient, Offset: 37, Kind: Stall})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	got := make([]byte, 37)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	assert.Equal(t, data[:37], got)
	bc := be.next(t)
	bc.waitLen(t, 100)
	quiet(t, nc, 200*time.Millisecond)

	// The other direction still works: the client's half-close reaches the
	// server, yet the client's side stays open while the proxy lives.
	require.NoError(t, nc.CloseWrite())
	assert.Equal(t, data, bc.waitEnd(t))
	quiet(t, nc, 200*time.Millisecond)
	assert.Equal(t, int64(37), p.Bytes(0, ToClient))
	assert.Equal(t, int64(100), p.Bytes(0, ToServer))

	require.NoError(t, p.Close())
	assert.Empty(t, readAll(t, nc), "the stalled connection ends when the proxy closes")
}

func TestStallToServer(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToServer, Offset: 37, Kind: Stall})
	nc := dial(t, p.Addr())
	data := pattern(100)
	_, err := nc.Write(data)
	require.NoError(t, err)
	got := make([]byte, 37)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	assert.Equal(t, data[:37], got)
	bc := be.next(t)
	quiet(t, nc, 200*time.Millisecond)
	assert.Equal(t, data[:37], bc.received())
	assert.False(t, bc.endedWithin(100*time.Millisecond))
	assert.Equal(t, int64(37), p.Bytes(0, ToServer))
}

func TestCutAfterForward(t *testing.T) {
	for _, off := range []int64{37, 100} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			be := newBackend(t)
			p := New(t, be.addr(), Fault{Dir: ToServer, Offset: off, Kind: CutAfterForward})
			nc := dial(t, p.Addr())
			data := pattern(100)
			_, err := nc.Write(data)
			require.NoError(t, err)
			// The server got exactly off bytes, then the close, and its echo of
			// them never reached the client.
			assert.Equal(t, data[:off], be.next(t).waitEnd(t))
			assert.Empty(t, readAll(t, nc))
			assert.Equal(t, off, p.Bytes(0, ToServer))
			assert.Equal(t, int64(0), p.Bytes(0, ToClient))
		})
	}
}

func TestCutAfterForwardAtZero(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToClient, Offset: 0, Kind: CutAfterForward})
	nc := dial(t, p.Addr())
	assert.Empty(t, readAll(t, nc), "closed at once, before any byte")
	assert.Empty(t, be.next(t).waitEnd(t))
	assert.Equal(t, 1, p.Conns())
}

func TestConnIndexAndSetFaults(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr(), Fault{Dir: ToClient, Offset: 3, Kind: Cut, ConnIndex: 1})
	roundTrip := func() []byte {
		nc := dial(t, p.Addr())
		_, err := nc.Write([]byte("hello"))
		require.NoError(t, err)
		require.NoError(t, nc.CloseWrite())
		return readAll(t, nc)
	}
	assert.Equal(t, []byte("hello"), roundTrip(), "conn 0 untouched")
	assert.Equal(t, []byte("hel"), roundTrip(), "conn 1 cut at 3")
	assert.Equal(t, []byte("hello"), roundTrip(), "conn 2 untouched")

	p.SetFaults(Fault{Dir: ToClient, Offset: 1, Kind: Cut, ConnIndex: -1})
	assert.Equal(t, []byte("h"), roundTrip(), "every later conn")
	assert.Equal(t, []byte("h"), roundTrip())
	p.SetFaults()
	assert.Equal(t, []byte("hello"), roundTrip())
	assert.Equal(t, 6, p.Conns())
	assert.Equal(t, int64(3), p.Bytes(1, ToClient))
	assert.Equal(t, int64(1), p.Bytes(3, ToClient))
}

func TestFaultsApplyToLaterConnsOnly(t *testing.T) {
	be := newBackend(t)
	p := New(t, be.addr())
	nc := dial(t, p.Addr())
	_, err := nc.Write([]byte("ab"))
	require.NoError(t, err)
	got := make([]byte, 2)
	_, err = io.ReadFull(nc, got)
	require.NoError(t, err)
	p.SetFaults(Fault{Dir: ToServer, Offset: 2, Kind: Cut, ConnIndex: -1})
	_, err = nc.Write([]byte("cd"))
	require.NoError(t, err)
	require.NoError(t, nc.CloseWrite())
	assert.Equal(t, []byte("cd"), readAll(t, nc), "the live connection keeps its (empty) fault list")
}

func TestDialFailureClosesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now
	p := New(t, target)
	nc := dial(t, p.Addr())
	assert.Empty(t, readAll(t, nc))
	assert.Equal(t, 1, p.Conns())
}

// fakeTB records Errorf calls instead of failing the test.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestInvalidFaultsReported(t *testing.T) {
	be := newBackend(t)
	ft := &fakeTB{TB: t}
	p := New(ft, be.addr(),
		Fault{Dir: Direction(5), Kind: Cut},
		Fault{Dir: ToServer, Kind: Kind(9)},
		Fault{Dir: ToServer, Offset: -1, Kind: Cut},
		Fault{Dir: ToServer, Kind: Cut, ConnIndex: -2},
		Fault{Dir: ToClient, Offset: 2, Kind: Cut, ConnIndex: -1}, // valid
	)
	require.Len(t, ft.errs, 4)
	for _, e := range ft.errs {
		assert.Contains(t, e, "rawmysql: faultproxy: invalid fault")
	}
	nc := dial(t, p.Addr())
	_, err := nc.Write([]byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, []byte("he"), readAll(t, nc), "the valid fault still applies")
}

func TestStrings(t *testing.T) {
	assert.Equal(t, "ToServer", ToServer.String())
	assert.Equal(t, "ToClient", ToClient.String())
	assert.Equal(t, "Direction(3)", Direction(3).String())
	names := map[Kind]string{Cut: "Cut", Stall: "Stall", Corrupt: "Corrupt", Drop: "Drop", CutAfterForward: "CutAfterForward"}
	for k, s := range names {
		assert.Equal(t, s, k.String())
	}
	assert.Equal(t, "Kind(42)", Kind(42).String())
	assert.Equal(t, "Corrupt ToClient at 7 on conn -1", Fault{Dir: ToClient, Offset: 7, Kind: Corrupt, ConnIndex: -1}.String())
}

// TestChunkSplitting drives one direction through net.Pipe, where a single
// Write is read as one chunk, so the faults provably fall inside a chunk.
func TestChunkSplitting(t *testing.T) {
	p := New(t, "127.0.0.1:1")
	srcW, srcR := net.Pipe()
	dstW, dstR := net.Pipe()
	c := newConn(p, srcR)
	c.server = dstW
	t.Cleanup(c.closeBoth)
	p.Record(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.pipe(ToServer, srcR, dstW, []Fault{
			{Dir: ToServer, Offset: 3, Kind: Corrupt},
			{Dir: ToServer, Offset: 8, Kind: Corrupt},
			{Dir: ToServer, Offset: 12, Kind: Cut},
		})
	}()
	data := pattern(20)
	go func() { _, _ = srcW.Write(data) }()
	got, err := io.ReadAll(dstR)
	require.NoError(t, err)
	want := append([]byte(nil), data[:12]...)
	want[3] ^= 0xFF
	want[8] ^= 0xFF
	assert.Equal(t, want, got)
	<-done
	assert.Equal(t, int64(12), c.streams[ToServer].n.Load())
	assert.Equal(t, want, c.streams[ToServer].rec)
	_ = srcW.Close()
}

func TestNoGoroutinesLeftAfterClose(t *testing.T) {
	// settle waits (boundedly) for the goroutine count to drop to limit.
	settle := func(limit int) int {
		n := runtime.NumGoroutine()
		for i := 0; i < 500 && n > limit; i++ {
			time.Sleep(10 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	before := runtime.NumGoroutine()
	be := newBackend(t)
	p := New(t, be.addr(),
		Fault{Dir: ToClient, Offset: 5, Kind: Stall, ConnIndex: 0},
		Fault{Dir: ToServer, Offset: 5, Kind: Drop, ConnIndex: 1},
		Fault{Dir: ToServer, Offset: 5, Kind: Cut, ConnIndex: 2},
	)
	for i := 0; i < 5; i++ {
		nc := dial(t, p.Addr())
		_, err := nc.Write(pattern(50))
		require.NoError(t, err)
		_, err = io.ReadFull(nc, make([]byte, 5))
		if i != 2 {
			require.NoError(t, err)
		}
	}
	for i := 0; i < 5; i++ {
		be.next(t)
	}
	assert.Greater(t, runtime.NumGoroutine(), before, "the proxy runs goroutines while open")
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close is idempotent")
	be.close()
	after := settle(before)
	assert.LessOrEqual(t, after, before, "goroutines left after Close")
}
