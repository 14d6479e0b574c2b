package protocol

import (
	"io"
)

// MaxColumns bounds the column count a result header may announce (MySQL and MariaDB allow at most 4096
// columns in a table; a select list can hold a few more). Larger counts are refused as hostile.
const MaxColumns = 1 << 16

// Result streams one or more result sets of a command. Rows are read one at a time; each row payload aliases
// the connection's read buffer and is valid until the next read. Close drains what is left so the connection
// can run its next command.
type Result struct {
	c       *Conn
	Columns []Column // columns of the current result set; empty for an OK result
	Binary  bool     // rows use the binary protocol (COM_STMT_EXECUTE)
	OK      OKPacket // the OK of a result without rows, or the status/warnings of the EOF that ended the rows
	inRows  bool     // rows of the current result set remain to be read
	more    bool     // another result follows the current one
	closed  bool
	cols    []Column // backing store reused across result sets
	stmt    *Stmt    // the executed statement (COM_STMT_EXECUTE), whose columns may be skipped by MariaDB

	// Column definitions are decoded once: the raw packets of the last result set's columns are kept, and a
	// column whose packet is byte-identical to the one at the same position keeps its decoded Column (and
	// its strings) instead of being decoded and allocated again.
	rawCols, rawNext []byte
	rawEnds, endNext []int
}

func (r *Result) reset(c *Conn, binary bool) {
	r.c = c
	r.Columns = nil
	r.Binary = binary
	r.OK = OKPacket{}
	r.inRows, r.more, r.closed = false, false, false
	r.stmt = nil
}

// finish is called when the exchange is over (no rows, no more results): the connection goes idle.
func (r *Result) finish() {
	r.inRows, r.more = false, false
	if r.c.State() == StateBusy {
		r.c.state.Store(int32(StateIdle))
	}
}

// fail records a stream error: a server error ends the exchange cleanly; anything else breaks the connection.
func (r *Result) fail(err error) error {
	r.inRows, r.more = false, false
	err = r.c.check(err)
	if r.c.State() == StateBusy {
		r.c.state.Store(int32(StateIdle))
	}
	return err
}

// readHeader reads a result header: OK, ERR, a LOCAL INFILE request, or a column count followed by the column
// definitions (and an EOF unless CLIENT_DEPRECATE_EOF is on).
func (r *Result) readHeader() error {
	c := r.c
	r.Columns = nil
	for {
		p, err := c.f.readPacket()
		if err != nil {
			return r.fail(err)
		}
		if len(p) == 0 {
			return r.fail(protoErr("result header", "empty packet"))
		}
		switch p[0] {
		case 0x00:
			if err := r.OK.Decode(p); err != nil {
				return r.fail(err)
			}
			c.status = r.OK.Status
			r.more = r.OK.Status&StatusMoreResultsExists != 0
			if !r.more {
				r.finish()
			}
			return nil
		case 0xff:
			return r.fail(DecodeError(p))
		case 0xfb:
			if err := c.sendLocalInfile(string(p[1:])); err != nil {
				return r.fail(err)
			}
			continue // the server answers the file with OK or ERR
		}
		return r.readColumns(p)
	}
}

func (r *Result) readColumns(p []byte) error {
	c := r.c
	n, null, m := ReadLenEncInt(p)
	// With MARIADB_CLIENT_CACHE_METADATA, a byte follows the count: 1 if the definitions follow, 0 if they
	// were skipped because the executed statement's columns did not change.
	sendMeta := true
	if c.mcaps&MariaDBClientCacheMetadata != 0 && m > 0 && m+1 == len(p) && p[m] <= 1 {
		sendMeta = p[m] == 1
		p = p[:m]
	}
	if m == 0 || null || m != len(p) {
		return r.fail(protoErr("column count", "malformed packet % x", head(p)))
	}
	if n == 0 || n > MaxColumns {
		return r.fail(protoErr("column count", "%d columns announced (limit %d)", n, MaxColumns))
	}
	count := int(n)
	st := r.stmt
	r.stmt = nil // only the first result set of an execution can refer to the statement's columns
	if !sendMeta {
		if st == nil || len(st.Columns) != count {
			return r.fail(protoErr("column count", "column definitions of %d columns skipped, but no prepared statement has them", count))
		}
		r.Columns = st.Columns
		return r.endColumns()
	}
	cols := r.cols[:0]
	// Until every definition is read, the cache is invalid (cols overwrites r.cols in place).
	prevRaw, prevEnds := r.rawCols, r.rawEnds
	r.rawEnds = nil
	r.rawNext, r.endNext = r.rawNext[:0], r.endNext[:0]
	for i := 0; i < count; i++ {
		p, err := c.f.readPacket()
		if err != nil {
			return r.fail(err)
		}
		if len(p) > 0 && p[0] == 0xff {
			return r.fail(DecodeError(p))
		}
		r.rawNext = append(r.rawNext, p...)
		r.endNext = append(r.endNext, len(r.rawNext))
		if i < len(prevEnds) && i < len(r.cols) {
			start := 0
			if i > 0 {
				start = prevEnds[i-1]
			}
			if string(prevRaw[start:prevEnds[i]]) == string(p) {
				cols = append(cols, r.cols[i]) // same definition as last time: already decoded
				continue
			}
		}
		var col Column
		if err := col.Decode(p); err != nil {
			return r.fail(err)
		}
		cols = append(cols, col)
	}
	r.rawCols, r.rawNext = r.rawNext, prevRaw
	r.rawEnds, r.endNext = r.endNext, prevEnds
	if len(r.rawCols) > maxIdleBufSize/4 { // very wide results: not worth keeping
		r.rawCols, r.rawEnds, r.rawNext, r.endNext = nil, nil, nil, nil
	}
	r.cols = cols
	r.Columns = cols
	if st != nil && c.mcaps&MariaDBClientCacheMetadata != 0 && !sameColumns(st.Columns, cols) {
		// The server sent new definitions (the statement's tables changed): later executions skip these.
		st.Columns = append([]Column(nil), cols...)
	}
	return r.endColumns()
}

func sameColumns(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// endColumns reads the EOF that ends the column definitions without CLIENT_DEPRECATE_EOF; rows follow.
func (r *Result) endColumns() error {
	c := r.c
	if !c.caps.Has(ClientDeprecateEOF) {
		p, err := c.f.readPacket()
		if err != nil {
			return r.fail(err)
		}
		if !IsEOFPacket(p, false) {
			return r.fail(protoErr("EOF", "expected EOF after column definitions, got header 0x%02x", headByte(p)))
		}
	}
	r.inRows = true
	return nil
}

func head(p []byte) []byte {
	if len(p) > 16 {
		return p[:16]
	}
	return p
}

func headByte(p []byte) byte {
	if len(p) == 0 {
		return 0
	}
	return p[0]
}

// ReadRow returns the next row payload of the current result set, or io.EOF after its last row (then OK
// holds the final status and warnings). The payload is valid until the next read on the connection.
func (r *Result) ReadRow() ([]byte, error) {
	if !r.inRows {
		return nil, io.EOF
	}
	c := r.c
	p, err := c.f.readPacket()
	if err != nil {
		return nil, r.fail(err)
	}
	if len(p) == 0 {
		return nil, r.fail(protoErr("row", "empty packet"))
	}
	switch p[0] {
	case 0xff:
		return nil, r.fail(DecodeError(p))
	case 0xfe:
		deprecate := c.caps.Has(ClientDeprecateEOF)
		if IsEOFPacket(p, deprecate) {
			if deprecate {
				if err := r.OK.Decode(p); err != nil {
					return nil, r.fail(err)
				}
			} else {
				var eof EOFPacket
				if err := eof.Decode(p); err != nil {
					return nil, r.fail(err)
				}
				r.OK = OKPacket{Status: eof.Status, Warnings: eof.Warnings}
			}
			c.status = r.OK.Status
			r.inRows = false
			r.more = r.OK.Status&StatusMoreResultsExists != 0
			if !r.more {
				r.finish()
			}
			return nil, io.EOF
		}
	case 0x00:
		if r.Binary {
			return p, nil
		}
	}
	if r.Binary && p[0] != 0x00 {
		return nil, r.fail(protoErr("BinaryResultsetRow", "header 0x%02x, expected 0x00", p[0]))
	}
	return p, nil
}

// drainRows skips the rest of the current result set.
func (r *Result) drainRows() error {
	for r.inRows {
		if _, err := r.ReadRow(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// HasNextResult reports whether another result follows the current one (SERVER_MORE_RESULTS_EXISTS).
func (r *Result) HasNextResult() bool { return r.more }

// NextResult skips what is left of the current result set and reads the next result's header. It returns
// io.EOF when there is none.
func (r *Result) NextResult() error {
	if err := r.drainRows(); err != nil {
		return err
	}
	if !r.more {
		return io.EOF
	}
	r.more = false
	return r.readHeader()
}

// Close drains the remaining rows and results; the connection is idle afterwards (or broken if the stream
// failed). It returns the first error met while draining.
func (r *Result) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var first error
	for {
		if err := r.drainRows(); err != nil {
			if first == nil {
				first = err
			}
			break
		}
		if !r.more {
			break
		}
		r.more = false
		if err := r.readHeader(); err != nil && first == nil {
			first = err
		}
		if r.c.State() != StateBusy {
			break
		}
	}
	if r.c.State() == StateBusy {
		r.c.state.Store(int32(StateIdle))
	}
	return first
}

// InRows reports whether rows of the current result set remain to be read.
func (r *Result) InRows() bool { return r.inRows }

// DrainAll reads every remaining row and result and closes the Result. It returns the last OK of a result
// without rows (what Exec reports), or the first error.
func (r *Result) DrainAll() (OKPacket, error) {
	last := r.OK
	for {
		if err := r.drainRows(); err != nil {
			r.Close()
			return OKPacket{}, err
		}
		if len(r.Columns) == 0 {
			last = r.OK
		}
		if !r.more {
			break
		}
		if err := r.NextResult(); err != nil {
			r.Close()
			return OKPacket{}, err
		}
	}
	return last, r.Close()
}
