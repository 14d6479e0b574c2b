package protocol

import (
	"io"
)

// MaxColumns bounds the column count a result header may announce (MySQL and MariaDB allow at most 4096
// columns in a table; a select list can hold a few more). Larger counts are refused as hostile.
const MaxColumns = 1 << 16

// Result streams one or more result sets of a command. Rows are read one at a time; each row payload aliases
// the connection's read buffer and is valid until the next read. Close drains what is left so the connection
// can run its next command. The Result never changes the connection's state itself: when its exchange ends
// (last result read, a server error, a broken stream, the context) it hands the outcome to the connection's
// unlock, once.
type Result struct {
	c       *Conn
	Columns []Column // columns of the current result set; empty for an OK result
	Binary  bool     // rows use the binary protocol (COM_STMT_EXECUTE)
	OK      OKPacket // the OK of a result without rows, or the status/warnings of the EOF that ended the rows
	inRows  bool     // rows of the current result set remain to be read
	more    bool     // another result follows the current one
	pending bool     // a result header is to be read (nothing of it consumed yet)
	done    bool     // the exchange ended (unlock was called)
	err     error    // the error that ended it
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
	r.inRows, r.more, r.closed, r.pending, r.done, r.err = false, false, false, false, false, nil
	r.stmt = nil
}

// end ends the exchange once: the connection's unlock decides the state from err. After a cut by the
// context the position (rows, pending header, more results) is kept for the background drain.
func (r *Result) end(err error) error {
	if err == nil || !isInterrupt(err) {
		r.inRows, r.more, r.pending = false, false, false
	}
	if r.done {
		return err
	}
	// Set before unlock: from then on a background cancel recovery may own the connection (it drains a copy
	// of this Result), and the caller's Result must not change.
	r.done = true
	r.err = err
	return r.c.unlock(err)
}

// finish is called when the exchange is over (no rows, no more results).
func (r *Result) finish() { r.end(nil) }

// fail ends the exchange with a stream error.
func (r *Result) fail(err error) error { return r.end(err) }

// Abort ends the exchange because the caller found the data unusable (e.g. a row that does not decode): the
// connection is closed, nothing more is read. err is returned.
func (r *Result) Abort(err error) error {
	r.inRows, r.more, r.pending = false, false, false
	if !r.done {
		r.done = true
		r.err = err
		r.c.unlock(err)
		r.c.fail()
	}
	return err
}

// readHeader reads a result header: OK, ERR, a LOCAL INFILE request, or a column count followed by the column
// definitions (and an EOF unless CLIENT_DEPRECATE_EOF is on).
func (r *Result) readHeader() error {
	c := r.c
	r.Columns = nil
	r.pending = true
	ph := phaseResult
	for {
		p, err := c.readAt(ph)
		if err != nil {
			return r.fail(err)
		}
		r.pending = false
		ph = phaseNone
		if len(p) == 0 {
			return r.fail(protoErr("result header", "empty packet"))
		}
		switch p[0] {
		case 0x00:
			if err := r.OK.Decode(p); err != nil {
				return r.fail(err)
			}
			c.noteOK(&r.OK)
			r.more = r.OK.Status&StatusMoreResultsExists != 0
			if !r.more {
				r.finish()
			}
			return nil
		case 0xff:
			if !c.recovering {
				c.refused = c.f.pktIn == 1
			}
			return r.fail(DecodeError(p))
		case 0xfb:
			if c.recovering {
				return r.fail(protoErr("result header", "LOCAL INFILE request while draining a cancelled command"))
			}
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
	if cap(cols) < count {
		// One allocation of the announced size, not a series of doublings; beyond 256 columns append grows
		// it as definitions actually arrive (a lying count costs nothing).
		cols = make([]Column, 0, min(count, 256))
	}
	// Until every definition is read, the cache is invalid (cols overwrites r.cols in place).
	prevRaw, prevEnds := r.rawCols, r.rawEnds
	r.rawEnds = nil
	r.rawNext, r.endNext = r.rawNext[:0], r.endNext[:0]
	if cap(r.endNext) < count {
		r.endNext = make([]int, 0, min(count, 256))
	}
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
	if !r.inRows || r.done {
		if r.done && r.err != nil {
			return nil, r.err
		}
		return nil, io.EOF
	}
	c := r.c
	p, ok := c.f.nextBuffered()
	if ok {
		c.phase = phaseNone // as after readAt's successful read
	} else {
		var err error
		if p, err = c.readAt(phaseResult); err != nil {
			return nil, r.fail(err)
		}
	}
	if len(p) > 0 && p[0] < 0xfe && !r.Binary {
		return p, nil // a text row: its first byte is a length (or 0xfb, NULL)
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
			c.noteOK(&r.OK)
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
	for r.inRows && !r.done {
		if _, err := r.ReadRow(); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// HasNextResult reports whether another result follows the current one (SERVER_MORE_RESULTS_EXISTS).
func (r *Result) HasNextResult() bool { return r.more && !r.done }

// NextResult skips what is left of the current result set and reads the next result's header. It returns
// io.EOF when there is none.
func (r *Result) NextResult() error {
	if err := r.drainRows(); err != nil {
		return err
	}
	if !r.more || r.done {
		if r.done && r.err != nil {
			return r.err
		}
		return io.EOF
	}
	r.more = false
	return r.readHeader()
}

// Close drains the remaining rows and results, which ends the exchange. It returns the error met while
// draining (an error that ended the exchange earlier was already returned and is not repeated).
func (r *Result) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.done {
		return nil
	}
	return r.drain()
}

// drain reads every remaining row and result until the exchange ends.
func (r *Result) drain() error {
	for !r.done {
		switch {
		case r.inRows:
			if _, err := r.ReadRow(); err != nil && err != io.EOF {
				return err
			}
		case r.pending || r.more:
			r.more = false
			if err := r.readHeader(); err != nil {
				return err
			}
		default:
			return r.end(nil)
		}
	}
	return nil
}

// resumeCopy returns a copy of r, positioned where the command was cut, that drain can read to the end of the
// reply on another goroutine without touching r (the caller keeps r) or its column caches.
func (r *Result) resumeCopy() *Result {
	cp := *r
	cp.done, cp.err, cp.closed = false, nil, false
	cp.cols, cp.rawCols, cp.rawNext, cp.rawEnds, cp.endNext = nil, nil, nil, nil, nil
	return &cp
}

// InRows reports whether rows of the current result set remain to be read.
func (r *Result) InRows() bool { return r.inRows && !r.done }

// DrainAll reads every remaining row and result and closes the Result. It returns the last OK of a result
// without rows (what Exec reports), or the first error.
func (r *Result) DrainAll() (OKPacket, error) {
	last := r.OK
	r.closed = true
	for {
		if err := r.drainRows(); err != nil {
			return OKPacket{}, err
		}
		if r.done && r.err != nil {
			return OKPacket{}, r.err
		}
		if len(r.Columns) == 0 {
			last = r.OK
		}
		if r.done || !r.more {
			break
		}
		if err := r.NextResult(); err != nil {
			return OKPacket{}, err
		}
	}
	return last, nil
}
