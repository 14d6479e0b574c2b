package protocol

import (
	"context"
	"encoding/binary"
	"math"
	"time"
)

// Stmt is a server-side prepared statement (COM_STMT_PREPARE_OK and its definitions).
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_prepare.html.
type Stmt struct {
	ID       uint32
	Params   []Column // parameter definitions (types are often just placeholders)
	Columns  []Column // result columns, if the statement returns rows
	Warnings uint16
}

// Prepare sends COM_STMT_PREPARE and reads the statement's definitions.
func (c *Conn) Prepare(ctx context.Context, query string) (*Stmt, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	if err := c.writeCommandString(ComStmtPrepare, query); err != nil {
		return nil, c.unlock(err)
	}
	st, err := c.readPrepareReply()
	if err = c.unlock(err); err != nil {
		return nil, err
	}
	return st, nil
}

// readPrepareReply reads COM_STMT_PREPARE_OK (or ERR) and the definitions that follow.
func (c *Conn) readPrepareReply() (*Stmt, error) {
	p, err := c.readAt(phasePrepare)
	if err != nil {
		return nil, err
	}
	if len(p) > 0 && p[0] == 0xff {
		c.refused = !c.recovering
		return nil, DecodeError(p)
	}
	var ok StmtPrepareOK
	if err := ok.Decode(p); err != nil {
		return nil, err
	}
	st := &Stmt{ID: ok.StatementID, Warnings: ok.Warnings}
	nCols, nParams := int(ok.NumColumns), int(ok.NumParams)
	if nParams > 0 {
		if st.Params, err = c.readDefs(nParams); err != nil {
			return nil, err
		}
	}
	if nCols > 0 {
		if st.Columns, err = c.readDefs(nCols); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// readDefs reads n column definitions and the EOF that follows them without CLIENT_DEPRECATE_EOF.
func (c *Conn) readDefs(n int) ([]Column, error) {
	cols := make([]Column, 0, min(n, 256))
	for i := 0; i < n; i++ {
		p, err := c.f.readPacket()
		if err != nil {
			return nil, err
		}
		var col Column
		if err := col.Decode(p); err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	if !c.caps.Has(ClientDeprecateEOF) {
		p, err := c.f.readPacket()
		if err != nil {
			return nil, err
		}
		if !IsEOFPacket(p, false) {
			return nil, protoErr("EOF", "expected EOF after definitions, got header 0x%02x", headByte(p))
		}
	}
	return cols, nil
}

// MariaDBCapabilities are the negotiated MariaDB extended capabilities (MariaDBClientCacheMetadata).
func (c *Conn) MariaDBCapabilities() uint32 { return c.mcaps }

// StmtPrepareOK is the first packet of a successful COM_STMT_PREPARE reply.
// Layout: status 0x00, statement id (4), num_columns (2), num_params (2), reserved (1), warning_count (2).
type StmtPrepareOK struct {
	StatementID uint32
	NumColumns  uint16
	NumParams   uint16
	Warnings    uint16
}

// Decode parses a COM_STMT_PREPARE_OK payload.
func (p *StmtPrepareOK) Decode(src []byte) error {
	r := newReader("COM_STMT_PREPARE_OK", src)
	if h := r.uint8("status"); r.err() == nil && h != 0x00 {
		return protoErr("COM_STMT_PREPARE_OK", "status 0x%02x, expected 0x00", h)
	}
	p.StatementID = r.uint32("statement id")
	p.NumColumns = r.uint16("num_columns")
	p.NumParams = r.uint16("num_params")
	r.skip(1, "reserved")
	p.Warnings = 0
	if r.remaining() >= 2 {
		p.Warnings = r.uint16("warning_count")
	}
	return r.err()
}

// AppendTo encodes the COM_STMT_PREPARE_OK packet (used by tests and fake servers).
func (p *StmtPrepareOK) AppendTo(dst []byte) []byte {
	dst = append(dst, 0x00)
	dst = AppendUint32(dst, p.StatementID)
	dst = AppendUint16(dst, p.NumColumns)
	dst = AppendUint16(dst, p.NumParams)
	dst = append(dst, 0x00) // reserved
	return AppendUint16(dst, p.Warnings)
}

// CloseStmt sends COM_STMT_CLOSE (the server sends no reply).
func (c *Conn) CloseStmt(ctx context.Context, id uint32) error {
	var arg [4]byte
	binary.LittleEndian.PutUint32(arg[:], id)
	if err := c.lock(ctx); err != nil {
		return err
	}
	return c.unlock(c.writeCommand(ComStmtClose, arg[:]))
}

// QueueCloseStmt queues COM_STMT_CLOSE for statement id: it has no reply, so it is sent in the same write as
// the next command (whatever that is) instead of costing a syscall of its own. Queued closes of a connection
// that is closed before its next command are dropped with it (the server frees its statements then anyway).
func (c *Conn) QueueCloseStmt(id uint32) {
	var arg [5]byte
	arg[0] = byte(ComStmtClose)
	binary.LittleEndian.PutUint32(arg[1:], id)
	c.f.queueCommand(arg[:])
}

// ResetStmt sends COM_STMT_RESET (discards long data sent for the statement).
func (c *Conn) ResetStmt(ctx context.Context, id uint32) error {
	var arg [4]byte
	binary.LittleEndian.PutUint32(arg[:], id)
	_, err := c.simpleCommand(ctx, ComStmtReset, arg[:])
	return err
}

// longDataChunk is the most sent per COM_STMT_SEND_LONG_DATA packet.
const longDataChunk = 4 << 20

// SendLongData streams data for parameter param of statement id with COM_STMT_SEND_LONG_DATA packets (the
// server sends no reply; it appends the chunks and uses them at the next execute).
func (c *Conn) SendLongData(ctx context.Context, id uint32, param uint16, data []byte) error {
	chunk := longDataChunk
	if c.f.maxWrite > 0 && c.f.maxWrite-64 < chunk {
		chunk = c.f.maxWrite - 64
	}
	for first := true; first || len(data) > 0; first = false {
		n := min(len(data), chunk)
		if err := c.lock(ctx); err != nil {
			return err
		}
		buf := append(c.f.startPacket(), byte(ComStmtSendLongData))
		buf = binary.LittleEndian.AppendUint32(buf, id)
		buf = binary.LittleEndian.AppendUint16(buf, param)
		buf = append(buf, data[:n]...)
		if err := c.unlock(c.f.writePacket(buf)); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// ParamKind tells which field of a Param holds its value.
type ParamKind uint8

// Parameter kinds.
const (
	ParamNull     ParamKind = iota
	ParamInt                // I, sent as LONGLONG
	ParamUint               // U, sent as UNSIGNED LONGLONG
	ParamDouble             // F, sent as DOUBLE
	ParamString             // S, sent as VAR_STRING
	ParamBytes              // B, sent as BLOB
	ParamTime               // T (already in the session's location), sent as DATETIME
	ParamLongData           // value already sent with SendLongData; sent as BLOB with no inline value
)

// Param is one argument of COM_STMT_EXECUTE.
type Param struct {
	Kind ParamKind
	I    int64
	U    uint64
	F    float64
	S    string
	B    []byte
	T    time.Time
}

// Execute sends COM_STMT_EXECUTE for st with params (types always bound) and reads the first result header.
// Rows come in the binary protocol. The Result is valid until Close.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_stmt_execute.html.
func (c *Conn) Execute(ctx context.Context, st *Stmt, params []Param) (*Result, error) {
	if err := c.lock(ctx); err != nil {
		return nil, err
	}
	c.res.reset(c, true)
	c.res.stmt = st
	buf := AppendExecute(c.f.startPacket(), st.ID, params)
	if err := c.f.writePacket(buf); err != nil {
		return nil, c.unlock(err)
	}
	if err := c.res.readHeader(); err != nil {
		return nil, err
	}
	return &c.res, nil
}

// AppendExecute appends a COM_STMT_EXECUTE payload: command, statement id, flags (no cursor), iteration count
// 1, the NULL bitmap, new-params-bound = 1, the parameter types and the non-NULL values.
func AppendExecute(dst []byte, id uint32, params []Param) []byte {
	dst = append(dst, byte(ComStmtExecute))
	dst = binary.LittleEndian.AppendUint32(dst, id)
	dst = append(dst, 0)                           // CURSOR_TYPE_NO_CURSOR
	dst = binary.LittleEndian.AppendUint32(dst, 1) // iteration count
	if len(params) == 0 {
		return dst
	}
	nb := len(dst)
	for i := 0; i < (len(params)+7)/8; i++ {
		dst = append(dst, 0)
	}
	for i := range params {
		if params[i].Kind == ParamNull {
			dst[nb+i/8] |= 1 << (i % 8)
		}
	}
	dst = append(dst, 1) // new-params-bound
	for i := range params {
		switch params[i].Kind {
		case ParamNull:
			dst = append(dst, byte(TypeNull), 0)
		case ParamInt:
			dst = append(dst, byte(TypeLongLong), 0)
		case ParamUint:
			dst = append(dst, byte(TypeLongLong), 0x80)
		case ParamDouble:
			dst = append(dst, byte(TypeDouble), 0)
		case ParamString:
			dst = append(dst, byte(TypeVarString), 0)
		case ParamBytes, ParamLongData:
			dst = append(dst, byte(TypeBlob), 0)
		case ParamTime:
			dst = append(dst, byte(TypeDateTime), 0)
		}
	}
	for i := range params {
		p := &params[i]
		switch p.Kind {
		case ParamInt:
			dst = AppendUint64(dst, uint64(p.I))
		case ParamUint:
			dst = AppendUint64(dst, p.U)
		case ParamDouble:
			dst = AppendUint64(dst, math.Float64bits(p.F))
		case ParamString:
			dst = AppendLenEncString(dst, p.S)
		case ParamBytes:
			dst = AppendLenEncBytes(dst, p.B)
		case ParamTime:
			dst = AppendBinaryDateTime(dst, p.T)
		}
	}
	return dst
}

// AppendBinaryDateTime encodes t's wall clock as a binary-protocol DATETIME (length 0, 4, 7 or 11). The zero
// time.Time becomes the zero date.
func AppendBinaryDateTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, 0)
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	switch {
	case us != 0:
		dst = append(dst, 11)
	case h != 0 || mi != 0 || s != 0:
		dst = append(dst, 7)
	default:
		dst = append(dst, 4)
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(y))
	dst = append(dst, byte(mo), byte(d))
	if h != 0 || mi != 0 || s != 0 || us != 0 {
		dst = append(dst, byte(h), byte(mi), byte(s))
	}
	if us != 0 {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(us))
	}
	return dst
}
