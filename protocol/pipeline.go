package protocol

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sync"
)

// Pipelining: the protocol lets a client send several commands before reading their replies; the server
// reads and runs them one after the other and answers each in order. Pipeline writes a list of commands
// without waiting for each reply and reads the replies as they come.
//
// To avoid a deadlock with large replies (the server blocks writing replies nobody reads while the client
// blocks writing commands the server does not read), the commands are written by a goroutine while the
// caller's goroutine reads the replies. With protocol compression or a packet tracer (whose state is not
// shared across goroutines) the commands go out in windows of at most pipeWindow bytes instead, each window's
// replies read before the next is written: a window fits in the server's socket buffer, so the server can
// always take it whole. Under compression each command is a compressed packet of its own.

// PipeKind is the command of a PipeCmd.
type PipeKind uint8

// Pipelined commands.
const (
	PipeQuery   PipeKind = iota // COM_QUERY with Text
	PipePrepare                 // COM_STMT_PREPARE of Text; the result's Stmt is the new statement
	PipeExecute                 // COM_STMT_EXECUTE with Params
	PipeBulk                    // COM_STMT_BULK_EXECUTE (MariaDB) with Rows
)

// LastPrepared is the statement id 0xFFFFFFFF: MariaDB (10.2+) executes the statement prepared by the
// command just before, so a PREPARE and its EXECUTE can be sent together.
const LastPrepared = 0xFFFFFFFF

// MariaDBClientStmtBulkOperations (MARIADB_CLIENT_STMT_BULK_OPERATIONS, 1<<34) allows COM_STMT_BULK_EXECUTE.
const MariaDBClientStmtBulkOperations uint32 = 1 << 2

// MariaDBClientBulkUnitResults (MARIADB_CLIENT_BULK_UNIT_RESULTS, 1<<37, MariaDB 11.5.1+) lets a
// COM_STMT_BULK_EXECUTE ask for one result per row of parameters (BulkUnitResults).
const MariaDBClientBulkUnitResults uint32 = 1 << 5

// Bulk flags of COM_STMT_BULK_EXECUTE.
const (
	bulkSendUnitResults   = 64  // a result set of each row's affected rows and generated id
	bulkSendTypesToServer = 128 // the parameter types follow the flags
)

// ComStmtBulkExecute is MariaDB's COM_STMT_BULK_EXECUTE.
const ComStmtBulkExecute Command = 0xfa

// PipeCmd is one command of a pipeline. The statement of PipeExecute and PipeBulk is Stmt; when Stmt is nil,
// the statement of the PipePrepare at index From is used (its reply is awaited before the command is
// written), or, with UseLast, the id LastPrepared.
type PipeCmd struct {
	Kind    PipeKind
	Text    string
	Stmt    *Stmt
	From    int
	UseLast bool
	Params  []Param
	Rows    [][]Param // PipeBulk: one argument row per execution, all with the kinds of the first row's non-NULLs
}

// PipeResult is the outcome of one PipeCmd: the last OK of its results without rows (what Exec reports), the
// statement of a PipePrepare, or the error (a server error, or the error that broke the pipeline before the
// command's reply was read).
type PipeResult struct {
	OK   OKPacket
	Stmt *Stmt
	Err  error
	// Units holds one result per row of a PipeBulk when the server sent them (MariaDB 11.5.1+,
	// MariaDBClientBulkUnitResults); OK then sums their affected rows and carries the first generated id.
	Units []BulkUnit
}

// BulkUnit is the outcome of one row of parameters of a bulk execution.
type BulkUnit struct {
	AffectedRows uint64
	LastInsertID uint64 // the id the row generated (0: none)
}

// pipeWindow is how many bytes of commands are sent before their replies are read in window mode, and the
// size of the writes of the concurrent writer.
const pipeWindow = 64 << 10

// errPipeStopped ends the writer when the reader gave up (its own error is the one reported).
var errPipeStopped = errors.New("rawmysql: pipeline stopped")

// pipe is the state shared by a pipeline's writer and reader.
type pipe struct {
	c    *Conn
	cmds []PipeCmd
	res  []PipeResult

	mu       sync.Mutex
	cond     *sync.Cond
	encoded  int     // commands encoded (and, once flushed, written) so far
	read     int     // replies read so far
	seqs     []uint8 // packets each command took (its reply's first sequence id)
	skipped  []error // commands refused before sending (too large): no reply is read
	stopped  bool    // the reader gave up
	werr     error   // the writer's error
	written  bool    // some byte reached the socket
	outBytes int64

	out     []byte // framed commands not yet written
	payload []byte // one command's payload
}

// Pipeline sends cmds without waiting for their replies and fills res (len(cmds)) in order. A server error
// answers one command only: it is that command's Err and the following commands run as sent. An I/O or
// protocol error breaks the connection; every command whose reply was not read gets that error, which is
// also returned. The context is watched for the whole pipeline; cut by it, the connection is closed.
func (c *Conn) Pipeline(ctx context.Context, cmds []PipeCmd, res []PipeResult) error {
	if err := c.lock(ctx); err != nil {
		for i := range res {
			res[i].Err = err
		}
		return err
	}
	p := &pipe{c: c, cmds: cmds, res: res, seqs: make([]uint8, len(cmds)), skipped: make([]error, len(cmds))}
	p.cond = sync.NewCond(&p.mu)
	// Commands queued (COM_STMT_CLOSE) go out first.
	p.out = append(p.out, c.f.queued...)
	c.f.queued = c.f.queued[:0]
	var err error
	if c.f.comp == nil && c.f.trace == nil && c.f.nc != nil {
		err = p.runConcurrent()
	} else {
		err = p.runWindows()
	}
	c.phase = phaseNone // a cut pipeline cannot be resumed: the replies of the commands after it are pending
	c.f.bytesOut += p.outBytes
	if p.written {
		c.f.cmdWritten = true
	}
	if err != nil {
		for i := range res {
			if i >= p.read && res[i].Err == nil {
				res[i].Err = err
			}
		}
	}
	return c.unlock(err)
}

// runConcurrent writes from a goroutine and reads here.
func (p *pipe) runConcurrent() error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := p.writeAll(nil)
		p.mu.Lock()
		if err != nil && p.werr == nil {
			p.werr = err
		}
		p.mu.Unlock()
		if err != nil && err != errPipeStopped {
			// The reader may wait for a reply to a command that never went out: wake it.
			_ = p.c.nc.SetReadDeadline(aLongTimeAgo)
			p.mu.Lock()
			p.cond.Broadcast()
			p.mu.Unlock()
		}
	}()
	rerr := p.readAll(len(p.cmds))
	if rerr != nil {
		p.mu.Lock()
		p.stopped = true
		p.cond.Broadcast()
		p.mu.Unlock()
		_ = p.c.nc.SetWriteDeadline(aLongTimeAgo) // a writer blocked by a server that stopped reading
	}
	<-done
	p.mu.Lock()
	werr := p.werr
	p.mu.Unlock()
	if werr != nil && werr != errPipeStopped {
		return werr // the reader's error (a forced read deadline) only follows from it
	}
	return rerr
}

// runWindows alternates: write up to pipeWindow bytes of commands, read their replies.
func (p *pipe) runWindows() error {
	next := 0
	for next < len(p.cmds) {
		err := p.writeAll(&next)
		if err != nil {
			return err
		}
		if err := p.readAll(next); err != nil {
			return err
		}
	}
	return nil
}

// writeAll encodes and writes the commands. With window set, it stops at a window's end (or before a command
// that needs a reply not read yet) and sets *window to the number of commands written.
func (p *pipe) writeAll(window *int) error {
	c := p.c
	start, windowBytes := 0, 0
	if window != nil {
		start = *window
	}
	for i := start; i < len(p.cmds); i++ {
		cmd := &p.cmds[i]
		if needs := p.dependency(cmd); needs >= 0 {
			if window != nil {
				p.mu.Lock()
				ready := p.read > needs
				p.mu.Unlock()
				if !ready {
					*window = i
					return p.flush()
				}
			} else {
				if err := p.flush(); err != nil {
					return err
				}
				p.mu.Lock()
				for p.read <= needs && !p.stopped {
					p.cond.Wait()
				}
				stopped := p.stopped
				p.mu.Unlock()
				if stopped {
					return errPipeStopped
				}
			}
		}
		p.mu.Lock()
		stopped := p.stopped
		p.mu.Unlock()
		if stopped {
			return errPipeStopped
		}
		var skip error
		p.payload, skip = p.encode(p.payload[:0], cmd)
		var seq uint8
		if skip == nil && len(p.payload) > c.f.maxWrite && c.f.maxWrite > 0 {
			skip = &packetTooLargeError{size: len(p.payload), max: c.f.maxWrite}
		}
		if skip == nil {
			p.out, seq = appendFramed(p.out, p.payload, c.f.trace)
		}
		p.mu.Lock()
		p.seqs[i], p.skipped[i] = seq, skip
		p.encoded = i + 1
		p.cond.Broadcast()
		p.mu.Unlock()
		if c.f.comp != nil {
			// Under compression each command goes out in compressed packets of its own numbered from 0: the
			// server restarts the compressed sequence when it starts a command, so commands cannot share a
			// compressed packet, but they can follow each other before any reply (the reader follows the
			// server's numbering).
			c.f.comp.seq = 0
			windowBytes += len(p.out)
			if err := p.flush(); err != nil {
				return err
			}
			if window != nil && windowBytes >= pipeWindow {
				*window = i + 1
				return nil
			}
			continue
		}
		if len(p.out) >= pipeWindow {
			if err := p.flush(); err != nil {
				return err
			}
			if window != nil {
				*window = i + 1
				return nil
			}
		}
	}
	if window != nil {
		*window = len(p.cmds)
	}
	return p.flush()
}

// dependency is the index of the PipePrepare whose reply cmd needs before it can be encoded (-1: none).
func (p *pipe) dependency(cmd *PipeCmd) int {
	if (cmd.Kind == PipeExecute || cmd.Kind == PipeBulk) && cmd.Stmt == nil && !cmd.UseLast {
		return cmd.From
	}
	return -1
}

// encode appends cmd's payload; a command that cannot be sent (its statement failed to prepare) returns an
// error and is skipped.
func (p *pipe) encode(dst []byte, cmd *PipeCmd) ([]byte, error) {
	switch cmd.Kind {
	case PipeQuery:
		dst = append(dst, byte(ComQuery))
		return append(dst, cmd.Text...), nil
	case PipePrepare:
		dst = append(dst, byte(ComStmtPrepare))
		return append(dst, cmd.Text...), nil
	}
	id := uint32(LastPrepared)
	if !cmd.UseLast {
		st := cmd.Stmt
		if st == nil {
			p.mu.Lock()
			st = p.res[cmd.From].Stmt
			err := p.res[cmd.From].Err
			p.mu.Unlock()
			if st == nil {
				if err == nil {
					err = errors.New("rawmysql: statement was not prepared")
				}
				return dst, err
			}
		}
		id = st.ID
	}
	if cmd.Kind == PipeBulk {
		return AppendBulkExecute(dst, id, cmd.Rows, p.c.mcaps&MariaDBClientBulkUnitResults != 0), nil
	}
	return AppendExecute(dst, id, cmd.Params), nil
}

// appendFramed appends payload framed as one command (sequence ids from 0, split at MaxPayloadLen) and
// returns the number of packets.
func appendFramed(dst, payload []byte, trace func(dir byte, seq uint8, payload []byte)) ([]byte, uint8) {
	var seq uint8
	for {
		n := min(len(payload), MaxPayloadLen)
		dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
		dst = append(dst, payload[:n]...)
		if trace != nil {
			trace('>', seq, payload[:n])
		}
		seq++
		payload = payload[n:]
		if n < MaxPayloadLen {
			return dst, seq
		}
	}
}

// flush writes the framed commands.
func (p *pipe) flush() error {
	if len(p.out) == 0 {
		return nil
	}
	f := &p.c.f
	f.setWriteDeadline()
	m, err := f.wr.Write(p.out)
	p.mu.Lock()
	p.outBytes += int64(m)
	if m > 0 {
		p.written = true
	}
	p.mu.Unlock()
	if err == nil && m < len(p.out) {
		err = errors.New("short write")
	}
	p.out = p.out[:0]
	if cap(p.out) > 4*pipeWindow {
		p.out = nil
	}
	if err != nil {
		if f.interrupted.Load() && isTimeout(err) && f.interruptFn != nil {
			if ie := f.interruptFn(); ie != nil {
				err = ie
			}
		}
		return &IOError{Op: "write", Written: true, Err: err}
	}
	return nil
}

// readAll reads the replies of the commands up to (not including) end.
func (p *pipe) readAll(end int) error {
	c := p.c
	for {
		p.mu.Lock()
		i := p.read
		for i < end && p.encoded <= i && p.werr == nil {
			p.cond.Wait()
		}
		if i >= end {
			p.mu.Unlock()
			return nil
		}
		if p.encoded <= i { // the writer failed before this command
			err := p.werr
			p.mu.Unlock()
			return err
		}
		seq, skip := p.seqs[i], p.skipped[i]
		p.mu.Unlock()
		var r PipeResult
		if skip != nil {
			r.Err = skip
		} else {
			c.f.seq = seq
			if c.f.comp != nil {
				c.f.comp.seq = 0
			}
			c.f.pktIn = 0
			var err error
			if p.cmds[i].Kind == PipePrepare {
				r.Stmt, err = c.readPrepareReply()
			} else if p.cmds[i].Kind == PipeBulk && c.mcaps&MariaDBClientBulkUnitResults != 0 {
				r.OK, r.Units, err = c.readBulkUnitReply(len(p.cmds[i].Rows))
			} else {
				r.OK, err = c.readPipeReply()
			}
			var se *ServerError
			if err != nil && !errors.As(err, &se) {
				return err
			}
			r.Err = err
		}
		p.mu.Lock()
		p.res[i] = r
		p.read = i + 1
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

// readPipeReply reads every result of a COM_QUERY or COM_STMT_EXECUTE reply, skipping rows; it returns the
// last OK of a result without rows, or the server's error. A LOCAL INFILE request cannot be answered in a
// pipeline (the commands after it are already on their way): it is a protocol error.
func (c *Conn) readPipeReply() (OKPacket, error) {
	var last OKPacket
	for {
		p, ok, set, err := c.readPipeHeader()
		if err != nil {
			return last, err
		}
		more := false
		if set {
			if more, err = c.skipResultSet(p, nil); err != nil {
				return last, err
			}
		} else {
			last = ok
			more = ok.Status&StatusMoreResultsExists != 0
		}
		if !more {
			return last, nil
		}
	}
}

// readPipeHeader reads the first packet of a result in a pipeline: an OK (decoded, its status noted), an ERR
// (the server's error), or a column count (returned as p, set true: a result set follows). A LOCAL INFILE
// request cannot be answered in a pipeline (the commands after it are already on their way): it is a
// protocol error.
func (c *Conn) readPipeHeader() (p []byte, ok OKPacket, set bool, err error) {
	p, err = c.f.readPacket()
	if err != nil {
		return nil, ok, false, err
	}
	if len(p) == 0 {
		return nil, ok, false, protoErr("result header", "empty packet")
	}
	switch p[0] {
	case 0x00:
		if err := ok.Decode(p); err != nil {
			return nil, OKPacket{}, false, err
		}
		c.status = ok.Status
		return p, ok, false, nil
	case 0xff:
		return nil, ok, false, DecodeError(p)
	case 0xfb:
		return nil, ok, false, protoErr("result header", "LOCAL INFILE request inside a pipeline (LOAD DATA LOCAL cannot be batched)")
	}
	return p, ok, true, nil
}

// readBulkUnitReply reads the reply to a COM_STMT_BULK_EXECUTE sent with SEND_UNIT_RESULTS: an ERR, an OK, or
// a result set of two unsigned BIGINT columns (Id, Affected_rows) with one binary row per row of parameters,
// in order (more than rows of them is a protocol error). The OK returned sums the affected rows and carries
// the first generated id, as a bulk execution without unit results reports them.
func (c *Conn) readBulkUnitReply(rows int) (OKPacket, []BulkUnit, error) {
	p, ok, set, err := c.readPipeHeader()
	if err != nil || !set {
		return ok, nil, err
	}
	units := make([]BulkUnit, 0, rows)
	var sum OKPacket
	more, err := c.skipResultSet(p, func(q []byte) error {
		// Header 0x00, a one-byte NULL bitmap (two columns, offset 2) and two 8-byte integers.
		if len(q) != 18 || q[0] != 0x00 || q[1]&^0x0c != 0 {
			return protoErr("bulk unit result", "unexpected row % x", head(q))
		}
		if len(units) == rows {
			return protoErr("bulk unit result", "more results than the %d rows of parameters sent", rows)
		}
		var u BulkUnit
		if q[1]&0x04 == 0 {
			u.LastInsertID = binary.LittleEndian.Uint64(q[2:])
		}
		if q[1]&0x08 == 0 {
			u.AffectedRows = binary.LittleEndian.Uint64(q[10:])
		}
		if sum.LastInsertID == 0 {
			sum.LastInsertID = u.LastInsertID
		}
		sum.AffectedRows += u.AffectedRows
		units = append(units, u)
		return nil
	})
	if err != nil {
		return OKPacket{}, nil, err
	}
	if more {
		return OKPacket{}, nil, protoErr("bulk unit result", "more results announced after the unit results")
	}
	sum.Status = c.status
	return sum, units, nil
}

// skipResultSet reads a result set after its column count packet p: definitions, rows and the ending EOF/OK.
// Each row payload is passed to onRow when it is not nil (valid until it returns; an error from it ends the
// read with the stream unfinished).
func (c *Conn) skipResultSet(p []byte, onRow func([]byte) error) (more bool, err error) {
	n, null, m := ReadLenEncInt(p)
	sendMeta := true
	if c.mcaps&MariaDBClientCacheMetadata != 0 && m > 0 && m+1 == len(p) && p[m] <= 1 {
		sendMeta = p[m] == 1
		p = p[:m]
	}
	if m == 0 || null || m != len(p) || n == 0 || n > MaxColumns {
		return false, protoErr("column count", "malformed packet % x", head(p))
	}
	if sendMeta {
		for i := uint64(0); i < n; i++ {
			if _, err := c.f.readPacket(); err != nil {
				return false, err
			}
		}
	}
	deprecate := c.caps.Has(ClientDeprecateEOF)
	if !deprecate {
		q, err := c.f.readPacket()
		if err != nil {
			return false, err
		}
		if !IsEOFPacket(q, false) {
			return false, protoErr("EOF", "expected EOF after column definitions, got header 0x%02x", headByte(q))
		}
	}
	for {
		q, err := c.f.readPacket()
		if err != nil {
			return false, err
		}
		if len(q) == 0 {
			return false, protoErr("row", "empty packet")
		}
		switch {
		case q[0] == 0xff:
			return false, DecodeError(q)
		case q[0] == 0xfe && IsEOFPacket(q, deprecate):
			var status StatusFlag
			if deprecate {
				var ok OKPacket
				if err := ok.Decode(q); err != nil {
					return false, err
				}
				status = ok.Status
			} else {
				var eof EOFPacket
				if err := eof.Decode(q); err != nil {
					return false, err
				}
				status = eof.Status
			}
			c.status = status
			return status&StatusMoreResultsExists != 0, nil
		case onRow != nil:
			if err := onRow(q); err != nil {
				return false, err
			}
		}
	}
}

// AppendBulkExecute appends a COM_STMT_BULK_EXECUTE payload (MariaDB): command, statement id, flags
// SEND_TYPES_TO_SERVER (128) and, with unitResults, SEND_UNIT_RESULTS (64), the parameter types (from each column's first non-NULL value), then per row one
// indicator byte per parameter (0: a value follows, 1: NULL) and the value in the binary protocol.
// See https://mariadb.com/kb/en/com_stmt_bulk_execute/.
func AppendBulkExecute(dst []byte, id uint32, rows [][]Param, unitResults bool) []byte {
	dst = append(dst, byte(ComStmtBulkExecute))
	dst = binary.LittleEndian.AppendUint32(dst, id)
	flags := uint16(bulkSendTypesToServer)
	if unitResults {
		flags |= bulkSendUnitResults
	}
	dst = binary.LittleEndian.AppendUint16(dst, flags)
	if len(rows) == 0 {
		return dst
	}
	n := len(rows[0])
	for col := 0; col < n; col++ {
		kind := ParamNull
		for _, r := range rows {
			if r[col].Kind != ParamNull {
				kind = r[col].Kind
				break
			}
		}
		dst = appendParamType(dst, kind)
	}
	for _, r := range rows {
		for col := range r {
			if r[col].Kind == ParamNull {
				dst = append(dst, 1)
				continue
			}
			dst = append(dst, 0)
			dst = appendParamValue(dst, &r[col])
		}
	}
	return dst
}

func appendParamType(dst []byte, k ParamKind) []byte {
	switch k {
	case ParamInt:
		return append(dst, byte(TypeLongLong), 0)
	case ParamUint:
		return append(dst, byte(TypeLongLong), 0x80)
	case ParamDouble:
		return append(dst, byte(TypeDouble), 0)
	case ParamString:
		return append(dst, byte(TypeVarString), 0)
	case ParamBytes, ParamLongData:
		return append(dst, byte(TypeBlob), 0)
	case ParamTime:
		return append(dst, byte(TypeDateTime), 0)
	}
	return append(dst, byte(TypeNull), 0)
}

func appendParamValue(dst []byte, p *Param) []byte {
	switch p.Kind {
	case ParamInt:
		return binary.LittleEndian.AppendUint64(dst, uint64(p.I))
	case ParamUint:
		return binary.LittleEndian.AppendUint64(dst, p.U)
	case ParamDouble:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.F))
	case ParamString:
		return AppendLenEncString(dst, p.S)
	case ParamBytes:
		return AppendLenEncBytes(dst, p.B)
	case ParamTime:
		return AppendBinaryDateTime(dst, p.T)
	}
	return dst
}
