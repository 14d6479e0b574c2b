package rawmysql

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
)

// Whole-session fuzzing: a fake server completes a valid handshake over net.Pipe (in process, no sockets),
// then answers the client's commands with the fuzzed bytes, whatever they are. The client runs a text query
// (reading every row and column type), an Exec, and a prepared query with binary rows. Nothing may panic or
// hang; every failure must be an error.

// fuzzFrames frames payloads with consecutive sequence ids starting at seq.
func fuzzFrames(seq byte, payloads ...[]byte) []byte {
	var out []byte
	for _, p := range payloads {
		out, seq = protocol.AppendPacket(out, seq, p)
	}
	return out
}

func fuzzSessionSeeds() [][]byte {
	intCol := protocoltest.ColumnDef(protocoltest.Column{Name: "n", Table: "t", Type: 8, Charset: 63, Length: 20})
	strCol := protocoltest.ColumnDef(protocoltest.Column{Name: "s", Type: 253, Charset: 45, Length: 400})
	dtCol := protocoltest.ColumnDef(protocoltest.Column{Name: "d", Type: 12, Charset: 63, Length: 26, Decimals: 6})
	decCol := protocoltest.ColumnDef(protocoltest.Column{Name: "x", Type: 246, Charset: 63, Length: 10, Decimals: 2})
	eof := protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0)
	text := fuzzFrames(1, protocoltest.LenEncInt(4), intCol, strCol, dtCol, decCol,
		protocoltest.TextRow([]byte("42"), []byte("héllo"), []byte("2024-02-29 12:34:56.123456"), []byte("-3.50")),
		protocoltest.TextRow(nil, []byte(""), nil, []byte("0.00")),
		eof)
	ok := fuzzFrames(1, protocoltest.OK(1, 7, protocoltest.StatusAutocommit, 0, ""))
	prepOK := (&protocol.StmtPrepareOK{StatementID: 1, NumColumns: 1, NumParams: 1}).AppendTo(nil)
	prepare := fuzzFrames(1, prepOK, intCol, intCol)
	binRow := append([]byte{0x00, 0x00}, binary.LittleEndian.AppendUint64(nil, 99)...)
	execute := fuzzFrames(1, protocoltest.LenEncInt(1), intCol, binRow, eof)
	multi := fuzzFrames(1, protocoltest.OK(0, 0, protocoltest.StatusAutocommit|protocoltest.StatusMoreResultsExists, 0, ""),
		protocoltest.LenEncInt(1), intCol, protocoltest.TextRow([]byte("1")), eof)
	errPkt := fuzzFrames(1, protocoltest.ERR(1064, "42000", "syntax"))
	infile := fuzzFrames(1, append([]byte{0xfb}, "x.csv"...))
	return [][]byte{
		append(append(append(append([]byte{}, text...), ok...), prepare...), execute...),
		append(append([]byte{}, multi...), errPkt...),
		errPkt, infile, ok, nil,
	}
}

// FuzzSession replays fuzzed server bytes after a valid handshake. mode picks client options (parseTime,
// columnsWithAlias) and whether the server offers CLIENT_DEPRECATE_EOF.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSessionSeeds() {
		for mode := uint8(0); mode < 8; mode += 3 {
			f.Add(s, mode)
		}
	}
	f.Fuzz(func(t *testing.T, reply []byte, mode uint8) {
		runFuzzSession(t, reply, mode)
	})
}

// TestSessionReplaySeeds runs the session fuzz seeds as a plain test (and checks the seeds are meaningful:
// the first one is a complete, valid session).
func TestSessionReplaySeeds(t *testing.T) {
	for i, s := range fuzzSessionSeeds() {
		for mode := uint8(0); mode < 8; mode++ {
			errs := runFuzzSession(t, s, mode)
			if i == 0 && mode&4 == 0 && len(errs) != 0 {
				t.Errorf("mode %d: the valid session failed: %v", mode, errs)
			}
		}
	}
}

// runFuzzSession runs one session against a server that replays reply; it returns the client's errors.
func runFuzzSession(t testing.TB, reply []byte, mode uint8) []error {
	cfg := NewConfig()
	cfg.ParseTime = mode&1 != 0
	cfg.ColumnsWithAlias = mode&2 != 0
	cfg.KillQueryOnCancel = false
	// The replay server hangs up once the client has read the reply, so a client waiting for more gets EOF;
	// readTimeout is only the safety net that turns a hang into an error.
	cfg.ReadTimeout = 5 * time.Second
	caps := protocoltest.DefaultCapabilities
	if mode&4 != 0 {
		caps &^= protocol.ClientDeprecateEOF
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := replaySession(ctx, t, cfg, protocoltest.HandshakeOpts{Capabilities: caps}, reply)
	var errs []error
	note := func(err error) {
		if err != nil && err != io.EOF {
			errs = append(errs, err)
		}
	}
	if dr, err := c.QueryContext(ctx, "SELECT 1", nil); err == nil {
		note(readAllDriverRows(dr.(*rows)))
	} else {
		note(err)
	}
	_, err := c.ExecContext(ctx, "DO 1", nil)
	note(err)
	if st, err := c.PrepareContext(ctx, "SELECT ?"); err == nil {
		if dr, err := st.(driver.StmtQueryContext).QueryContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: int64(5)}}); err == nil {
			note(readAllDriverRows(dr.(*rows)))
		} else {
			note(err)
		}
		note(st.Close())
	} else {
		note(err)
	}
	note(c.Close())
	if ctx.Err() != nil {
		t.Fatalf("the session hung until its deadline: %v", errs)
	}
	for _, err := range errs {
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a command hung until the deadline: %v", err)
		}
	}
	return errs
}

// replaySession connects cfg to a replayed server: a valid handshake with hs, the login's OK, then reply (the
// answers to whatever the client sends next, then EOF).
func replaySession(ctx context.Context, t testing.TB, cfg *Config, hs protocoltest.HandshakeOpts, reply []byte) *conn {
	stream := fuzzFrames(0, protocoltest.HandshakePacket(hs))
	stream = append(stream, fuzzFrames(2, protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, ""))...)
	stream = append(stream, reply...)
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return &replayConn{r: bytes.NewReader(stream)}, nil
	}
	connector, err := NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := connector.Connect(ctx)
	if err != nil {
		t.Fatalf("the valid handshake failed: %v", err)
	}
	return dc.(*conn)
}

// readAllDriverRows reads every row and result set, touching every column's metadata.
func readAllDriverRows(r *rows) error {
	defer r.Close()
	for {
		cols := r.Columns()
		for i := range cols {
			r.ColumnTypeDatabaseTypeName(i)
			r.ColumnTypeScanType(i)
			r.ColumnTypeNullable(i)
			r.ColumnTypeLength(i)
			r.ColumnTypePrecisionScale(i)
		}
		dest := make([]driver.Value, len(cols))
		for {
			err := r.Next(dest)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if !r.HasNextResultSet() {
			return r.Close()
		}
		if err := r.NextResultSet(); err != nil {
			return err
		}
	}
}

// replayConn is the client's end of a replayed session: reads return the server's bytes (a valid connection
// phase, then the fuzzed reply) and then EOF, so a client waiting for more fails at once instead of hanging;
// writes are accepted and dropped. No goroutine, no timing: every input runs the same way every time.
type replayConn struct {
	r      *bytes.Reader
	closed bool
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}

func (c *replayConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (c *replayConn) Close() error                       { c.closed = true; return nil }
func (c *replayConn) LocalAddr() net.Addr                { return replayAddr{} }
func (c *replayConn) RemoteAddr() net.Addr               { return replayAddr{} }
func (c *replayConn) SetDeadline(t time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(t time.Time) error { return nil }

type replayAddr struct{}

func (replayAddr) Network() string { return "replay" }
func (replayAddr) String() string  { return "replay" }
