package rawmysql

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
)

// memConn is a server in memory for client-only benchmarks: it sends a handshake, accepts any login, answers
// the scan query with a prebuilt result set and every other command with OK. No socket, no goroutine: what
// a benchmark over it measures is the client (database/sql + rawmysql) alone.
type memConn struct {
	out    []byte // bytes for the client to read
	in     []byte // a partial client packet
	login  bool   // the handshake response was answered
	answer map[string][]byte
}

func (m *memConn) Read(p []byte) (int, error) {
	if len(m.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, m.out)
	m.out = m.out[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error) {
	m.in = append(m.in, p...)
	for len(m.in) >= 4 {
		n := int(m.in[0]) | int(m.in[1])<<8 | int(m.in[2])<<16
		if len(m.in) < 4+n {
			break
		}
		payload := m.in[4 : 4+n]
		m.in = m.in[4+n:]
		switch {
		case !m.login:
			m.login = true
			m.out = appendPacket(m.out, 2, protocoltest.OK(0, 0, 2, 0, ""))
		case len(payload) > 0 && payload[0] == 0x19: // COM_STMT_CLOSE: no reply
		case len(payload) > 0 && payload[0] == 0x03 && m.answer[string(payload[1:])] != nil:
			if ans := m.answer[string(payload[1:])]; len(m.out) == 0 {
				m.out = ans // served in place: Read only reads it
			} else {
				m.out = append(m.out, ans...)
			}
		case len(payload) > 0 && payload[0] == 0x03 && strings.HasPrefix(string(payload[1:]), "SELECT "):
			// Session queries ("SELECT CONNECTION_ID(), @@server_uuid, ..."): one row of "1"s.
			n := strings.Count(string(payload), ",") + 1
			m.out = appendPacket(m.out, 1, protocoltest.LenEncInt(uint64(n)))
			row := make([][]byte, n)
			for i := range row {
				m.out = appendPacket(m.out, byte(2+i), protocoltest.ColumnDef(protocoltest.Column{Name: "v", Type: 0xfd, Charset: 45}))
				row[i] = []byte("1")
			}
			m.out = appendPacket(m.out, byte(2+n), protocoltest.TextRow(row...))
			m.out = appendPacket(m.out, byte(3+n), protocoltest.OKDeprecateEOF(2, 0))
		default:
			m.out = appendPacket(m.out, 1, protocoltest.OK(0, 0, 2, 0, ""))
		}
	}
	if len(m.in) == 0 {
		m.in = m.in[:0:0]
	}
	return len(p), nil
}

func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

func appendPacket(dst []byte, seq byte, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
	return append(dst, payload...)
}

// benchScanRows is the row count of one scan in the in-memory benchmarks.
const benchScanRows = 10_000

// benchScanResult frames the answer to "SELECT id, n, f, s, b, t FROM bench_rows" as MariaDB sends it for the
// bench/ program's table (BIGINT, INT, DOUBLE, VARCHAR(64), VARBINARY(64), DATETIME; CLIENT_DEPRECATE_EOF).
func benchScanResult() []byte {
	cols := []protocoltest.Column{
		{Name: "id", Type: 0x08, Charset: 63, Flags: 0x1003, Length: 20},
		{Name: "n", Type: 0x03, Charset: 63, Flags: 0x1001, Length: 11},
		{Name: "f", Type: 0x05, Charset: 63, Flags: 0x1001, Length: 22, Decimals: 31},
		{Name: "s", Type: 0xfd, Charset: 45, Flags: 0x1001, Length: 256},
		{Name: "b", Type: 0xfd, Charset: 63, Flags: 0x1081, Length: 64},
		{Name: "t", Type: 0x0c, Charset: 63, Flags: 0x1081, Length: 19},
	}
	seq := byte(1)
	var out []byte
	pkt := func(p []byte) { out = appendPacket(out, seq, p); seq++ }
	pkt(protocoltest.LenEncInt(uint64(len(cols))))
	for _, c := range cols {
		pkt(protocoltest.ColumnDef(c))
	}
	for id := int64(1); id <= benchScanRows; id++ {
		n := (id * 7919) % 1_000_003
		f := float64(id) * 1.25
		s := fmt.Sprintf("name-%08d-%s", id, strings.Repeat("x", int(id%17)))
		b := fmt.Sprintf("blob%06d", id*3)
		t := fmt.Sprintf("2024-%02d-%02d %02d:%02d:%02d", 1+id%12, 1+id%28, id%24, id%60, (id*13)%60)
		pkt(protocoltest.TextRow([]byte(fmt.Sprint(id)), []byte(fmt.Sprint(n)), []byte(fmt.Sprint(f)),
			[]byte(s), []byte(b), []byte(t)))
	}
	pkt(protocoltest.OKDeprecateEOF(2, 0))
	return out
}

// BenchmarkMemScan scans 10,000 rows × 6 columns (the bench/ program's table) from a server in memory, into
// typed values and into sql.RawBytes: the client's CPU cost per row without I/O.
func BenchmarkMemScan(b *testing.B) {
	const query = "SELECT id, n, f, s, b, t FROM bench_rows"
	answer := map[string][]byte{query: benchScanResult()}
	cfg := NewConfig()
	cfg.Addr = "mem"
	cfg.TLSConfig = "false"
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return &memConn{out: appendPacket(nil, 0, protocoltest.HandshakePacket(protocoltest.HandshakeOpts{})), answer: answer}, nil
	}
	connector, err := NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	var (
		id, n int64
		f     float64
		s, t  string
		bs    []byte
		raw   [6]sql.RawBytes
	)
	for _, bc := range []struct {
		name string
		dest []any
	}{
		{"typed", []any{&id, &n, &f, &s, &bs, &t}},
		{"RawBytes", []any{&raw[0], &raw[1], &raw[2], &raw[3], &raw[4], &raw[5]}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				rows, err := db.Query(query)
				if err != nil {
					b.Fatal(err)
				}
				count := 0
				for rows.Next() {
					if err := rows.Scan(bc.dest...); err != nil {
						b.Fatal(err)
					}
					count++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				if count != benchScanRows {
					b.Fatalf("%d rows, want %d", count, benchScanRows)
				}
			}
			b.ReportMetric(float64(benchScanRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if cpu > 0 {
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/benchScanRows, "cpu-ns/row")
			}
		})
	}
}

// BenchmarkMemConnect opens connections to a server in memory (handshake, login, session setup): what a new
// connection allocates on the client.
func BenchmarkMemConnect(b *testing.B) {
	cfg := NewConfig()
	cfg.Addr = "mem"
	cfg.TLSConfig = "false"
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return &memConn{out: appendPacket(nil, 0, protocoltest.HandshakePacket(protocoltest.HandshakeOpts{}))}, nil
	}
	benchConnect(b, cfg)
}
