package rawmysql

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/rawmysql/rawmysql/protocol/protocoltest"
)

// FuzzBatchReply replays fuzzed server bytes as the replies to a pipelined batch on a MariaDB that offers bulk
// execution: a run of INSERTs (a prepare, then one COM_STMT_BULK_EXECUTE) and a text statement. mode bit 0
// offers MARIADB_CLIENT_BULK_UNIT_RESULTS (a result set per bulk execution), bit 1 takes CLIENT_DEPRECATE_EOF
// away, bit 2 runs the batch in a transaction (a savepoint guards the run). Nothing may panic or hang; every
// statement gets a result or an error.
func FuzzBatchReply(f *testing.F) {
	param := protocoltest.ColumnDef(protocoltest.Column{Name: "?", Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID})
	unitCol := func(name string) []byte {
		return protocoltest.ColumnDef(protocoltest.Column{Name: name, Type: byte(protocol.TypeLongLong), Charset: protocol.BinaryCollationID,
			Flags: uint16(protocol.FlagNotNull | protocol.FlagUnsigned), Length: 21})
	}
	unitRow := func(id, affected uint64) []byte {
		return binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64([]byte{0, 0}, id), affected)
	}
	ok := protocoltest.OK(0, 0, protocoltest.StatusAutocommit, 0, "")
	prepare := fuzzFrames(1, (&protocol.StmtPrepareOK{StatementID: 1, NumParams: 1}).AppendTo(nil), param)
	units := fuzzFrames(1, protocoltest.LenEncInt(2), unitCol("Id"), unitCol("Affected_rows"),
		unitRow(1, 1), unitRow(2, 1), unitRow(0, 0), unitRow(3, 1), unitRow(4, 1), unitRow(5, 1), unitRow(6, 1), unitRow(7, 1),
		protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
	total := fuzzFrames(1, protocoltest.OK(8, 1, protocoltest.StatusAutocommit, 0, ""))
	errPkt := fuzzFrames(1, protocoltest.ERR(1062, "23000", "Duplicate entry"))
	okFrame := fuzzFrames(1, ok)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, seed := range [][]byte{
		cat(prepare, units, okFrame),
		cat(prepare, total, okFrame),
		cat(prepare, okFrame, units, okFrame), // in a transaction: the SAVEPOINT's OK first
		cat(prepare, okFrame, errPkt, okFrame, okFrame),
		cat(prepare, errPkt, okFrame),
		nil,
	} {
		for mode := uint8(0); mode < 8; mode++ {
			f.Add(seed, mode)
		}
	}
	f.Fuzz(func(t *testing.T, reply []byte, mode uint8) {
		runFuzzBatch(t, reply, mode)
	})
}

func runFuzzBatch(t testing.TB, reply []byte, mode uint8) {
	cfg := NewConfig()
	cfg.KillQueryOnCancel = false
	cfg.ReadTimeout = 5 * time.Second
	caps := protocoltest.DefaultCapabilities &^ protocol.ClientLongPassword // a MariaDB: extended capabilities
	if mode&2 != 0 {
		caps &^= protocol.ClientDeprecateEOF
	}
	mcaps := protocol.MariaDBClientStmtBulkOperations
	if mode&1 != 0 {
		mcaps |= protocol.MariaDBClientBulkUnitResults
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := replaySession(ctx, t, cfg, protocoltest.HandshakeOpts{ServerVersion: "5.5.5-11.8.0-MariaDB-fuzz",
		Capabilities: caps, MariaDBCapabilities: mcaps}, reply)
	defer c.Close()
	c.inTx = mode&4 != 0
	b := &Batch{}
	for i := 0; i < 8; i++ {
		b.Queue("INSERT INTO t (v) VALUES (?)", i)
	}
	b.Queue("DO 1")
	br := &batchRun{b: b, res: make(BatchResults, b.Len())}
	if _, err := c.ExecContext(ctx, batchQuery, []driver.NamedValue{{Ordinal: 1, Value: br}}); err != nil {
		t.Fatalf("the batch was refused: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the batch hung until its deadline")
	}
	for i, r := range br.res {
		if errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("statement %d hung until the deadline: %v", i, r.Err)
		}
	}
}
