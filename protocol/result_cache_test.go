package protocol

import (
	"bytes"
	"io"
	"net"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resultStream frames the packets of one text result set (column count, definitions, one row, OK as EOF)
// starting at sequence id 1, as a server answers a command; a non-nil errAt replaces definition errAt with
// an ERR packet (and ends the stream there).
func resultStream(cols []Column, errAt int) []byte {
	var out []byte
	seq := byte(1)
	pkt := func(p []byte) { out, seq = AppendPacket(out, seq, p) }
	pkt(AppendLenEncInt(nil, uint64(len(cols))))
	for i := range cols {
		if i == errAt {
			pkt(append([]byte{0xff, 0x51, 0x04, '#', 'H', 'Y', '0', '0', '0'}, "boom"...))
			return out
		}
		pkt(cols[i].AppendTo(nil))
	}
	var row []byte
	for range cols {
		row = AppendLenEncString(row, "v")
	}
	pkt(row)
	pkt([]byte{0xfe, 0, 0, 0x02, 0, 0, 0})
	return out
}

// readResult runs readHeader on stream and drains the rows, as after a command.
func readResult(t *testing.T, c *Conn, stream []byte) ([]Column, error) {
	t.Helper()
	c.f.rd = bytes.NewReader(stream)
	c.f.r, c.f.w = 0, 0
	c.f.seq = 1
	c.state.Store(int32(StateBusy))
	c.res.reset(c, false)
	if err := c.res.readHeader(); err != nil {
		return nil, err
	}
	cols := append([]Column(nil), c.res.Columns...)
	for {
		if _, err := c.res.ReadRow(); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return cols, nil
}

// Column definitions identical to the previous result set's are not decoded again: the Column (and its
// strings) is reused. A changed definition is decoded; a result that failed half way leaves no stale cache.
func TestColumnDefinitionsDecodedOnce(t *testing.T) {
	c := &Conn{}
	c.caps = ClientDeprecateEOF | ClientProtocol41
	c.f.maxRead = DefaultMaxReadPacket
	a := []Column{
		{Catalog: "def", Schema: "test", Table: "t", OrgTable: "t", Name: "id", OrgName: "id", Charset: 63, Length: 20, Type: TypeLongLong},
		{Catalog: "def", Schema: "test", Table: "t", OrgTable: "t", Name: "name", OrgName: "name", Charset: 45, Length: 80, Type: TypeVarString},
	}
	first, err := readResult(t, c, resultStream(a, -1))
	require.NoError(t, err)
	require.Equal(t, a, first)

	second, err := readResult(t, c, resultStream(a, -1))
	require.NoError(t, err)
	require.Equal(t, a, second)
	assert.Equal(t, unsafe.StringData(first[1].Name), unsafe.StringData(second[1].Name), "same definition decoded again")

	stream := resultStream(a, -1)
	cached := testing.AllocsPerRun(20, func() {
		_, err = readResult(t, c, stream)
	})
	require.NoError(t, err)
	fresh := testing.AllocsPerRun(20, func() {
		c.res.rawEnds = nil // forget the previous definitions
		_, err = readResult(t, c, stream)
	})
	require.NoError(t, err)
	// Decoding the two definitions allocates six strings ("test", "id", "id", "test", "name", "name").
	assert.LessOrEqual(t, cached, fresh-6, "allocations with the cache %v, without %v", cached, fresh)

	b := append([]Column(nil), a...)
	b[1].Name, b[1].OrgName = "title", "title"
	third, err := readResult(t, c, resultStream(b, -1))
	require.NoError(t, err)
	require.Equal(t, b, third)

	// A failure after the first (changed) definition: the next identical-to-before result must not reuse
	// the half-overwritten columns.
	cc := append([]Column(nil), a...)
	cc[0].Name = "other"
	_, err = readResult(t, c, resultStream(cc, 1))
	require.Error(t, err)
	fourth, err := readResult(t, c, resultStream(b, -1))
	require.NoError(t, err)
	require.Equal(t, b, fourth)
}

// binaryStream frames a binary result set for an execution: column count with MariaDB's metadata byte, the
// definitions when meta is true, one row of two NULLs, and the closing OK.
func binaryStream(cols []Column, meta bool) []byte {
	var out []byte
	seq := byte(1)
	pkt := func(p []byte) { out, seq = AppendPacket(out, seq, p) }
	flag := byte(0)
	if meta {
		flag = 1
	}
	pkt(append(AppendLenEncInt(nil, uint64(len(cols))), flag))
	if meta {
		for i := range cols {
			pkt(cols[i].AppendTo(nil))
		}
	}
	pkt([]byte{0x00, 0x0c}) // header, NULL bitmap (offset 2): both columns NULL
	pkt([]byte{0xfe, 0, 0, 0x02, 0, 0, 0})
	return out
}

// With MARIADB_CLIENT_CACHE_METADATA, an execution whose definitions were skipped uses the statement's
// columns; one that sends definitions updates them for the following executions; skipped definitions
// without a statement are a protocol error.
func TestMariaDBSkippedMetadata(t *testing.T) {
	c := &Conn{}
	c.caps = ClientDeprecateEOF | ClientProtocol41
	c.mcaps = MariaDBClientCacheMetadata
	c.f.maxRead = DefaultMaxReadPacket
	c.nc, _ = net.Pipe() // closed when the protocol error breaks the connection
	a := []Column{{Catalog: "def", Name: "a", Type: TypeLong}, {Catalog: "def", Name: "b", Type: TypeVarString, Charset: 45}}
	st := &Stmt{ID: 1, Columns: append([]Column(nil), a...)}
	run := func(stream []byte, stmt *Stmt) ([]Column, error) {
		c.f.rd = bytes.NewReader(stream)
		c.f.r, c.f.w, c.f.seq = 0, 0, 1
		c.state.Store(int32(StateBusy))
		c.res.reset(c, true)
		c.res.stmt = stmt
		if err := c.res.readHeader(); err != nil {
			return nil, err
		}
		cols := append([]Column(nil), c.res.Columns...)
		vals := make([]BinaryValue, len(cols))
		for {
			p, err := c.res.ReadRow()
			if err == io.EOF {
				return cols, nil
			}
			if err != nil {
				return nil, err
			}
			if err := DecodeBinaryRow(p, c.res.Columns, vals); err != nil {
				return nil, err
			}
		}
	}
	cols, err := run(binaryStream(a, false), st)
	require.NoError(t, err)
	assert.Equal(t, a, cols)

	b := append([]Column(nil), a...)
	b[1].Type, b[1].Name = TypeBlob, "bb"
	cols, err = run(binaryStream(b, true), st)
	require.NoError(t, err)
	assert.Equal(t, b, cols)
	assert.Equal(t, b, st.Columns, "statement columns follow the new definitions")

	cols, err = run(binaryStream(b, false), st)
	require.NoError(t, err)
	assert.Equal(t, b, cols)

	_, err = run(binaryStream(b, false), nil)
	var pe *ProtocolError
	require.ErrorAs(t, err, &pe)
}
