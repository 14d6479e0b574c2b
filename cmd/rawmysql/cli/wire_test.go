package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWirePreparedAndInfile follows prepared statements (binary rows), several result sets and LOAD DATA LOCAL
// INFILE on MariaDB, and checks that the decoder names every packet and ends each exchange idle.
func TestWirePreparedAndInfile(t *testing.T) {
	srv := testserver.Get(t)
	var out bytes.Buffer
	w := &wire{out: &out, maxBytes: 32}
	cfg, err := rawmysql.ParseDSN(srv.DSN("multiStatements=true"))
	require.NoError(t, err)
	cfg.PacketTrace = w.Trace
	connector, err := rawmysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := fmt.Sprintf("wire_%d", time.Now().UnixNano())

	_, err = db.ExecContext(ctx, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, name VARCHAR(20))")
	require.NoError(t, err)
	defer db.ExecContext(context.Background(), "DROP TABLE "+tbl)
	rawmysql.RegisterReaderHandler("wire", func() io.Reader { return strings.NewReader("1\tone\n2\ttwo\n") })
	defer rawmysql.DeregisterReaderHandler("wire")
	_, err = db.ExecContext(ctx, "LOAD DATA LOCAL INFILE 'Reader::wire' INTO TABLE "+tbl)
	require.NoError(t, err)
	require.Equal(t, []phase{phIdle}, tracePhases(w), "after LOAD DATA")

	var name string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM "+tbl+" WHERE id = ?", 2).Scan(&name))
	require.Equal(t, "two", name)
	require.Equal(t, []phase{phIdle}, tracePhases(w), "after a prepared query")
	// The same statement again: MariaDB 10.6+ skips the unchanged column definitions (cached metadata).
	require.NoError(t, db.QueryRowContext(ctx, "SELECT name FROM "+tbl+" WHERE id = ?", 1).Scan(&name))
	require.Equal(t, "one", name)
	require.Equal(t, []phase{phIdle}, tracePhases(w), "after a prepared query with cached metadata")

	rows, err := db.QueryContext(ctx, "SELECT 1; SELECT 'a', 'b'")
	require.NoError(t, err)
	for rows.NextResultSet() {
		for rows.Next() {
		}
	}
	require.NoError(t, rows.Close())
	require.Equal(t, []phase{phIdle}, tracePhases(w), "after two result sets")

	trace := out.String()
	wants := []string{
		`LocalInfileRequest  file="Reader::wire"`, "LocalInfileData", "LocalInfileEnd",
		"COM_STMT_PREPARE  sql=", "COM_STMT_PREPARE_OK  stmt_id=", "params=1",
		"COM_STMT_EXECUTE  stmt_id=", "BinaryRow", "SERVER_MORE_RESULTS_EXISTS", `TextRow  values="a" "b"`,
		"... ", // payloads longer than -trace-bytes are cut
	}
	if srv.IsMariaDB() && srv.AtLeast(10, 6) { // MARIADB_CLIENT_CACHE_METADATA: MariaDB 10.6 and later only
		wants = append(wants, "metadata=skipped (cached)")
	}
	for _, want := range wants {
		assert.Contains(t, trace, want)
	}
	assert.NotContains(t, trace, "Packet?", "every packet is recognised")
}

// tracePhases returns the decoding phase of each connection the trace follows.
func tracePhases(w *wire) []phase {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []phase
	for _, c := range w.conns {
		out = append(out, c.phase)
	}
	return out
}

// TestWireRoutesInterleavedConnections replays, without a server, what the trace sees when a statement is
// cancelled: a second connection (the driver's KILL QUERY) authenticates and runs while the first one waits
// for its reply. Each packet must be decoded by its own connection, both authentication responses masked, and
// the first connection must go on decoding its next command.
func TestWireRoutesInterleavedConnections(t *testing.T) {
	caps := protocol.ClientProtocol41 | protocol.ClientSecureConnection | protocol.ClientPluginAuth |
		protocol.ClientPluginAuthLenencClientData | protocol.ClientDeprecateEOF | protocol.ClientLongFlag
	greeting := func(id uint32) []byte {
		hs := protocol.Handshake{ProtocolVersion: 10, ServerVersion: "10.11.0-MariaDB", ConnectionID: id,
			AuthData: []byte("abcdefghijklmnopqrst"), Capabilities: caps, Charset: 45, AuthPlugin: "mysql_native_password"}
		return hs.AppendTo(nil)
	}
	response := func(secret byte) []byte {
		hr := protocol.HandshakeResponse{Capabilities: caps, MaxPacketSize: 1 << 24, Charset: 45, User: "app",
			AuthResponse: bytes.Repeat([]byte{secret}, 20), AuthPlugin: "mysql_native_password"}
		return hr.AppendTo(nil)
	}
	ok := []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}
	query := func(q string) []byte { return append([]byte{byte(protocol.ComQuery)}, q...) }
	errInterrupted := append([]byte{0xff, 0x25, 0x05, '#'}, "70100Query execution was interrupted"...)

	var out bytes.Buffer
	w := &wire{out: &out}
	steps := []struct {
		dir     byte
		seq     uint8
		payload []byte
	}{
		{'<', 0, greeting(7)}, {'>', 1, response(0xA1)}, {'<', 2, ok},
		{'>', 0, query("SELECT SLEEP(60)")},
		// Ctrl-C: the side connection.
		{'<', 0, greeting(8)}, {'>', 1, response(0xB2)}, {'<', 2, ok},
		{'>', 0, query("KILL QUERY 7")}, {'<', 1, ok}, {'>', 0, []byte{byte(protocol.ComQuit)}},
		// The first connection's reply, then its next statement.
		{'<', 1, errInterrupted},
		{'>', 0, query("SELECT 1")}, {'<', 1, []byte{0x01}},
	}
	for _, s := range steps {
		w.Trace(s.dir, s.seq, s.payload)
	}
	trace := out.String()
	t.Log(trace)
	assert.Equal(t, 2, strings.Count(trace, "HandshakeResponse41  user=\"app\" auth=<20 bytes masked>"))
	assert.NotContains(t, trace, "a1 a1 a1", "first connection's auth response")
	assert.NotContains(t, trace, "b2 b2 b2", "second connection's auth response")
	assert.Contains(t, trace, "C->S conn=2 seq=0   len=13     COM_QUERY  sql=\"KILL QUERY 7\"")
	assert.Contains(t, trace, "C->S conn=2 seq=0   len=1      COM_QUIT")
	assert.Contains(t, trace, "S->C seq=1   len=40     ERR  code=1317")
	assert.Contains(t, trace, "S->C seq=1   len=1      ColumnCount  columns=1")
	assert.NotContains(t, trace, "Packet?")
	assert.Equal(t, []phase{phDefs}, tracePhases(w), "one connection left, reading its column definitions")

	// A client packet that continues no exchange is masked whole, whatever it holds.
	out.Reset()
	w2 := &wire{out: &out}
	w2.Trace('<', 0, greeting(9))
	w2.Trace('>', 1, response(0xC3))
	w2.Trace('<', 2, ok)
	w2.Trace('>', 3, response(0xD4)) // e.g. the handshake response of a connection whose greeting was not seen
	assert.Contains(t, out.String(), "Packet?  unexpected client packet, <")
	assert.NotContains(t, out.String(), "d4 d4 d4")
	assert.NotContains(t, out.String(), "c3 c3 c3")
}
