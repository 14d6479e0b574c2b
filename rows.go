package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"

	"github.com/rawmysql/rawmysql/protocol"
)

// rows streams a result set to database/sql. Values of string and binary columns are sub-slices of the
// connection's read buffer, valid until the next call to Next (database/sql copies them when scanning, except
// into sql.RawBytes, whose contract is the same).
type rows struct {
	c     *conn
	ctx   context.Context
	res   *protocol.Result
	names []string
	vals  [][]byte // a text row split by DecodeTextRow, to name what is wrong with a row nextText refused
	kinds []uint8  // text conversion of each column (textKindOf), decided once per result set
	bvals []protocol.BinaryValue
	bbuf  []byte // formatted binary dates/times of the current row
	done  bool
	// closeStmt is a statement prepared outside the cache for this result; closed with the rows.
	closeStmt *cachedStmt
	// trace ends a query traced by a QueryTracer when the rows are closed (nil when not traced).
	trace *queryTrace
	// skipped holds the OK packets of the results without columns skipped so far (see skipEmpty).
	skipped oks
}

func (c *conn) newRows(ctx context.Context, res *protocol.Result) *rows {
	r := &c.rows
	*r = rows{c: c, ctx: ctx, res: res, vals: r.vals[:0], kinds: r.kinds[:0], bvals: r.bvals[:0], bbuf: r.bbuf[:0]}
	r.setup()
	return r
}

// start skips the results without columns at the head of a query's results, as go-sql-driver/mysql does, so
// "SET @a := 1; SELECT @a" yields the SELECT's rows. When no result has columns, the exchange is over: the
// rows are returned closed (no columns, no rows) and the connection is free. An error met while skipping
// closes the rows and is returned.
func (r *rows) start() error {
	if len(r.res.Columns) > 0 {
		return nil
	}
	switch err := r.skipEmpty(); err {
	case nil:
		return nil
	case io.EOF:
		return r.Close()
	default:
		return r.closeWith(err)
	}
}

// skipEmpty advances past results without columns (recording their OK packets) to the next result set. It
// returns io.EOF when none follows.
func (r *rows) skipEmpty() error {
	for len(r.res.Columns) == 0 {
		r.skipped.add(r.res.OK)
		if err := r.res.NextResult(); err != nil {
			return err
		}
	}
	r.setup()
	return nil
}

// AllRowsAffected returns the affected rows of the statements without a result set that ran before the
// current result set (e.g. the INSERTs of "INSERT ...; INSERT ..." run with Query).
func (r *rows) AllRowsAffected() []int64 {
	if r.skipped.n == 0 {
		return []int64{}
	}
	return r.skipped.r.AllRowsAffected()
}

// AllLastInsertIds returns the last insert ids of the statements AllRowsAffected reports.
func (r *rows) AllLastInsertIds() []int64 {
	if r.skipped.n == 0 {
		return []int64{}
	}
	return r.skipped.r.AllLastInsertIds()
}

// RowsAffected returns the last value of AllRowsAffected (0 when there is none).
func (r *rows) RowsAffected() (int64, error) { return r.skipped.r.affected, nil }

// LastInsertId returns the last value of AllLastInsertIds (0 when there is none).
func (r *rows) LastInsertId() (int64, error) { return r.skipped.r.lastID, nil }

func (r *rows) setup() {
	r.names = nil
	n := len(r.res.Columns)
	if cap(r.vals) < n {
		r.vals = make([][]byte, n)
	}
	r.vals = r.vals[:n]
	if !r.res.Binary {
		r.kinds = r.kinds[:0]
		for i := range r.res.Columns {
			r.kinds = append(r.kinds, r.c.textKindOf(&r.res.Columns[i]))
		}
	} else {
		if cap(r.bvals) < n {
			r.bvals = make([]protocol.BinaryValue, n)
		}
		r.bvals = r.bvals[:n]
	}
}

// Columns returns the column names ("table.column" with columnsWithAlias).
func (r *rows) Columns() []string {
	if r.names == nil {
		cols := r.res.Columns
		r.names = make([]string, len(cols))
		for i := range cols {
			if r.c.cfg.ColumnsWithAlias && cols[i].Table != "" {
				r.names[i] = cols[i].Table + "." + cols[i].Name
			} else {
				r.names[i] = cols[i].Name
			}
		}
	}
	return r.names
}

// Next decodes the next row into dest.
func (r *rows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	p, err := r.res.ReadRow()
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.fail(err)
	}
	if r.trace != nil {
		r.trace.rows++
	}
	cols := r.res.Columns
	if r.res.Binary {
		if err := protocol.DecodeBinaryRow(p, cols, r.bvals); err != nil {
			return r.abort(err)
		}
		r.bbuf = r.bbuf[:0]
		for i := range r.bvals {
			v, err := r.c.binaryValue(&cols[i], i, &r.bvals[i], &r.bbuf, &r.c.box)
			if err != nil {
				return r.abort(err)
			}
			dest[i] = v
		}
		return nil
	}
	if err := r.nextText(p, dest); err != nil {
		return r.abort(err)
	}
	return nil
}

// nextText splits a text-protocol row and converts each value as it is split, in one pass: the values go
// straight from the row payload to dest, with the conversion chosen once per result set (r.kinds). Values of
// up to 250 bytes (one length byte) are split inline; longer ones and NULL go through protocol.TextValue.
func (r *rows) nextText(p []byte, dest []driver.Value) error {
	kinds := r.kinds
	dest = dest[:len(kinds)]
	bx := &r.c.box
	pos := 0
	for i, k := range kinds {
		var v []byte
		if pos < len(p) && p[pos] < 0xfb {
			end := pos + 1 + int(p[pos])
			if end > len(p) {
				return r.textRowError(p)
			}
			v = p[pos+1 : end : end]
			pos = end
		} else {
			var ok bool
			if v, pos, ok = protocol.TextValue(p, pos); !ok {
				return r.textRowError(p)
			}
			if v == nil {
				dest[i] = nil
				continue
			}
		}
		switch k {
		case textBytes:
			dest[i] = bx.bytesAt(i, v)
			continue
		case textInt:
			n, ok := parseDigits(v) // parseInt's fast path, inlined here
			if !ok {
				n, ok = parseIntSlow(v)
			}
			if ok {
				dest[i] = bx.int64(n)
				continue
			}
			return badValue(&r.res.Columns[i], v)
		case textFloat64:
			if f, ok := parseFloatExact(v); ok {
				dest[i] = bx.float64(f)
				continue
			}
		}
		dv, err := r.c.textValue(&r.res.Columns[i], i, k, v, bx)
		if err != nil {
			return err
		}
		dest[i] = dv
	}
	if pos != len(p) {
		return r.textRowError(p)
	}
	return nil
}

// textRowError returns the error naming what is wrong with a text row that nextText could not split.
func (r *rows) textRowError(p []byte) error {
	if err := protocol.DecodeTextRow(p, r.vals); err != nil {
		return err
	}
	return errors.New("rawmysql: malformed text row")
}

// abort reports a row the driver cannot decode: the data does not match its own column definitions, so the
// stream cannot be trusted. The connection is closed (nothing more is read from it) and discarded.
func (r *rows) abort(err error) error {
	r.res.Abort(err)
	r.c.bad = true
	return r.fail(err)
}

// fail reports a stream error with the context's error preferred.
func (r *rows) fail(err error) error {
	err = r.c.end(r.ctx, err)
	if r.trace != nil && r.trace.err == nil {
		r.trace.err = err
	}
	return err
}

// Close drains what is left and releases the connection for its next command.
func (r *rows) Close() error { return r.closeWith(nil) }

// closeWith closes the rows after cause (nil for an ordinary Close), which is reported in preference to a
// draining error.
func (r *rows) closeWith(cause error) error {
	if r.done {
		return nil
	}
	r.done = true
	r.c.box.release()
	err := r.res.Close()
	if cause != nil {
		err = cause
	}
	if r.closeStmt != nil {
		r.c.closeOwnedLater(r.closeStmt)
		r.closeStmt = nil
	}
	ferr := r.c.end(r.ctx, err)
	r.ctx = nil
	if r.trace != nil {
		r.trace.end(ferr)
		r.trace = nil
	}
	return ferr
}

// HasNextResultSet reports whether another result set follows.
func (r *rows) HasNextResultSet() bool { return !r.done && r.res.HasNextResult() }

// NextResultSet advances to the next result set.
func (r *rows) NextResultSet() error {
	if r.done {
		return io.EOF
	}
	if err := r.res.NextResult(); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.fail(err)
	}
	// Results without columns between result sets (a CALL's final status) are skipped, as go-sql-driver/mysql
	// does: NextResultSet reports io.EOF when only such results remain.
	if err := r.skipEmpty(); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.fail(err)
	}
	return nil
}
