package rawmysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rawmysql/rawmysql/internal/sanitize"
)

// RowSource is the iterator CopyFrom reads rows from: Next advances to the next row (false at the end or on
// an error), Values returns the current row's values (one per column, of any type the driver binds), and Err
// reports the error that ended the iteration, if any.
type RowSource interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// CopyFromRows returns a RowSource over rows held in memory.
func CopyFromRows(rows [][]any) RowSource { return &sliceSource{rows: rows, i: -1} }

type sliceSource struct {
	rows [][]any
	i    int
}

func (s *sliceSource) Next() bool             { s.i++; return s.i < len(s.rows) }
func (s *sliceSource) Values() ([]any, error) { return s.rows[s.i], nil }
func (s *sliceSource) Err() error             { return nil }

// CopyFromFunc returns a RowSource that calls next for each row: a nil row (or io.EOF) ends the rows, another
// error ends them and is reported by CopyFrom. next may reuse the slice it returns between calls.
func CopyFromFunc(next func() ([]any, error)) RowSource { return &funcSource{next: next} }

type funcSource struct {
	next func() ([]any, error)
	row  []any
	err  error
}

func (s *funcSource) Next() bool {
	if s.err != nil || s.next == nil {
		return false
	}
	s.row, s.err = s.next()
	if s.err == io.EOF {
		s.err = nil
	}
	if s.err != nil || s.row == nil {
		s.next = nil
		return false
	}
	return true
}
func (s *funcSource) Values() ([]any, error) { return s.row, nil }
func (s *funcSource) Err() error             { return s.err }

// CopyFromChan returns a RowSource that receives rows from ch until it is closed.
func CopyFromChan(ch <-chan []any) RowSource {
	return CopyFromFunc(func() ([]any, error) {
		row, ok := <-ch
		if !ok {
			return nil, nil
		}
		if row == nil {
			row = []any{}
		}
		return row, nil
	})
}

// CopyTarget is what CopyFrom needs from a *sql.DB, *sql.Conn or *sql.Tx (each of them satisfies it). The
// database must be opened with the rawmysql driver.
type CopyTarget interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CopyFromError reports a row CopyFrom could not send: its number in the source (the first row is 1) and the
// cause (a value of a type the driver cannot bind, a wrong number of values, or the RowSource's own error).
type CopyFromError struct {
	Row int64
	Err error
}

// Error names the row and the cause.
func (e *CopyFromError) Error() string {
	return "rawmysql: CopyFrom: row " + strconv.FormatInt(e.Row, 10) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CopyFromError) Unwrap() error { return e.Err }

// CopyFrom inserts the rows of src into columns of table and returns the number of rows stored.
//
// The rows are streamed to the server as LOAD DATA LOCAL INFILE from memory: every value is converted as Exec
// converts its arguments (NULL, integers, floats, bools, strings, []byte, json.RawMessage, time.Time in the
// connection's loc, driver.Valuer, pointers) and escaped for the LOAD DATA format, a row at a time, so memory
// does not grow with the number of rows and no file is written. Files named in LOAD DATA statements and the
// allowAllFiles setting play no part: the data goes through a handler private to this call.
//
// The file is binary, so every character set works, also those whose multibyte characters can contain a
// backslash byte (big5, gbk, sjis, cp932, gb18030): every 0x5C byte is escaped and comes back as itself. When
// the server refuses LOAD DATA LOCAL (its local_infile is OFF), CopyFrom falls back to multi-row INSERT
// statements sized to the server's max_allowed_packet.
//
// table is quoted as an identifier ("db.table" names a table of another database); columns must not be
// empty. Errors found on the client side name the row (*CopyFromError); the statement is then aborted, which
// leaves a transactional table unchanged. The server handles rows of LOAD DATA LOCAL as with IGNORE: a row
// with a duplicate key is skipped with a warning instead of failing the statement, so when fewer rows were
// stored than sent CopyFrom returns the count stored and an error saying so. In the INSERT fallback each
// statement commits on its own outside a transaction: pass a *sql.Tx for all or nothing.
//
// Values reach the server as text, as in an interpolated statement, so the server converts them by the
// column's type exactly as Exec's do, with one exception: an integer 0 for a YEAR column is read as the text
// "0", which YEAR takes as 2000 (Exec stores 0000); pass "0000" for that.
func CopyFrom(ctx context.Context, db CopyTarget, table string, columns []string, src RowSource) (int64, error) {
	if len(columns) == 0 {
		return 0, errors.New("rawmysql: CopyFrom: no columns given")
	}
	if table == "" {
		return 0, errors.New("rawmysql: CopyFrom: no table given")
	}
	if src == nil {
		return 0, errors.New("rawmysql: CopyFrom: no RowSource given")
	}
	var charset string
	var maxPacket int64
	if err := db.QueryRowContext(ctx, "SELECT @@character_set_client, @@max_allowed_packet").Scan(&charset, &maxPacket); err != nil {
		return 0, fmt.Errorf("rawmysql: CopyFrom: reading the session's character set: %w", err)
	}
	target := quoteTable(table) + " (" + quoteIdents(columns) + ")"
	cs := &copySource{src: src, ncols: len(columns)}
	if !validCharsetName(charset) {
		return copyInsert(ctx, db, target, cs, int(maxPacket))
	}
	name := "rawmysql-copyfrom-" + strconv.FormatUint(copySeq.Add(1), 10)
	copySources.Store(name, cs)
	defer copySources.Delete(name)
	// The file is binary; text columns in another character set than the connection's get their values
	// through CONVERT (convertTextColumns). A file in a multibyte character set breaks binary values: MySQL
	// refuses bytes not valid in it (error 1300), also for BLOB columns, and MariaDB 10.5 takes a lead byte
	// such as 0xF0 with the bytes after it as one character, so an escape (\r, \0) or a field's tab among
	// them is stored as it is and the fields after it shift (MariaDB 10.11 reads them right).
	fields, set, err := convertTextColumns(ctx, db, table, columns, charset)
	if err != nil {
		return 0, err
	}
	q := "LOAD DATA LOCAL INFILE 'Reader::" + name + "' INTO TABLE " + quoteTable(table) + " CHARACTER SET binary" +
		" FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' STARTING BY '' (" +
		fields + ")" + set
	res, err := db.ExecContext(ctx, q)
	cs.mu.Lock()
	started, rowErr, sent := cs.started, cs.err, cs.rows
	cs.mu.Unlock()
	if rowErr != nil {
		return 0, rowErr
	}
	if err != nil {
		var disabled *LocalInfileDisabledError
		if errors.As(err, &disabled) && !started {
			return copyInsert(ctx, db, target, cs, int(maxPacket))
		}
		if !started {
			return 0, fmt.Errorf("rawmysql: CopyFrom: %w", err)
		}
		return 0, fmt.Errorf("rawmysql: CopyFrom: LOAD DATA failed after %d rows were sent (the statement is rolled back on a transactional table): %w", sent, err)
	}
	n, _ := res.RowsAffected()
	if n != sent {
		return n, fmt.Errorf("rawmysql: CopyFrom: the server stored %d of the %d rows sent (LOAD DATA LOCAL skips rows with a duplicate key, see SHOW WARNINGS)", n, sent)
	}
	return n, nil
}

// convertTextColumns returns the column list and SET clause of a LOAD DATA with a binary file. A text column
// (CHAR, VARCHAR, TEXT, ENUM, SET) in the connection's character set takes the bytes as they are, as a
// statement's strings would be stored; one in another character set, and MySQL's JSON (which refuses binary
// text), is read into a user variable and stored through CONVERT to the connection's character set, as the
// server converts a statement's strings. SHOW FULL COLUMNS names each column's collation (and also describes a
// TEMPORARY table, which information_schema does not).
func convertTextColumns(ctx context.Context, db CopyTarget, table string, columns []string, charset string) (string, string, error) {
	rows, err := db.QueryContext(ctx, "SHOW FULL COLUMNS FROM "+quoteTable(table))
	if err != nil {
		return "", "", fmt.Errorf("rawmysql: CopyFrom: %w", err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return "", "", fmt.Errorf("rawmysql: CopyFrom: %w", err)
	}
	field, typ, coll := -1, -1, -1
	for i, n := range names {
		switch strings.ToLower(n) {
		case "field":
			field = i
		case "type":
			typ = i
		case "collation":
			coll = i
		}
	}
	if field < 0 || typ < 0 || coll < 0 {
		return "", "", fmt.Errorf("rawmysql: CopyFrom: SHOW FULL COLUMNS returned the columns %q", names)
	}
	convert := map[string]bool{} // lower-cased column name -> stored through CONVERT
	vals := make([]sql.RawBytes, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return "", "", fmt.Errorf("rawmysql: CopyFrom: %w", err)
		}
		cs, _, _ := strings.Cut(string(vals[coll]), "_") // NULL (numbers, BLOB, MySQL's JSON): ""
		t := strings.ToLower(string(vals[typ]))
		if t == "json" || cs != "" && cs != "binary" && !strings.EqualFold(cs, charset) {
			convert[strings.ToLower(string(vals[field]))] = true
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", fmt.Errorf("rawmysql: CopyFrom: %w", err)
	}
	var fields, set strings.Builder
	for i, c := range columns {
		if i > 0 {
			fields.WriteByte(',')
		}
		if !convert[strings.ToLower(c)] {
			fields.WriteString(quoteIdent(c))
			continue
		}
		v := "@rawmysql_c" + strconv.Itoa(i)
		fields.WriteString(v)
		if set.Len() == 0 {
			set.WriteString(" SET ")
		} else {
			set.WriteByte(',')
		}
		set.WriteString(quoteIdent(c) + " = CONVERT(" + v + " USING " + charset + ")")
	}
	return fields.String(), set.String(), nil
}

// validCharsetName reports a name made only of letters, digits and '_' (safe to put in the statement).
func validCharsetName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quoteIdent quotes an identifier with backticks (doubling embedded backticks).
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// quoteTable quotes "table" or "db.table" (split at the first dot).
func quoteTable(s string) string {
	if db, tbl, ok := strings.Cut(s, "."); ok && db != "" && tbl != "" {
		return quoteIdent(db) + "." + quoteIdent(tbl)
	}
	return quoteIdent(s)
}

func quoteIdents(cols []string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteIdent(c))
	}
	return b.String()
}

var (
	copySeq     atomic.Uint64
	copySources sync.Map // handler name -> *copySource, while its CopyFrom runs
)

// copySource is one CopyFrom's rows: the reader the connection's LOAD DATA LOCAL handler streams from.
type copySource struct {
	src   RowSource
	ncols int

	mu      sync.Mutex
	started bool  // the server asked for the data (rows are consumed from now on)
	rows    int64 // rows taken from src
	err     error // the *CopyFromError that stopped the stream
}

// copyReaderFor returns the reader of a running CopyFrom registered as name (for conn.localInfile).
func (c *conn) copyReaderFor(name string) (io.ReadCloser, bool) {
	v, ok := copySources.Load(name)
	if !ok {
		return nil, false
	}
	cs := v.(*copySource)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.started {
		return nil, false // one statement, one stream
	}
	cs.started = true
	return &copyReader{cs: cs, c: c}, true
}

// copyReader encodes rows into the LOAD DATA format as the connection reads it: one row at a time.
type copyReader struct {
	cs   *copySource
	c    *conn
	buf  []byte
	off  int
	done bool
}

func (r *copyReader) Close() error { return nil }

func (r *copyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.off < len(r.buf) {
			m := copy(p[n:], r.buf[r.off:])
			r.off += m
			n += m
			continue
		}
		if r.done {
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		r.buf, r.off = r.buf[:0], 0
		// Encode rows until there are some bytes to hand out (at least 32 KiB when rows are small).
		for len(r.buf) < 32<<10 {
			if err := r.nextRow(); err != nil {
				r.done = true
				if err == io.EOF {
					break
				}
				r.cs.mu.Lock()
				r.cs.err = err
				r.cs.mu.Unlock()
				return n, err
			}
		}
	}
	return n, nil
}

// nextRow appends the next row's line to r.buf; io.EOF at the end of the rows.
func (r *copyReader) nextRow() error {
	cs := r.cs
	if !cs.src.Next() {
		if err := cs.src.Err(); err != nil {
			return &CopyFromError{Row: cs.rows + 1, Err: err}
		}
		return io.EOF
	}
	row := cs.rows + 1
	vals, err := cs.src.Values()
	if err != nil {
		return &CopyFromError{Row: row, Err: err}
	}
	if len(vals) != cs.ncols {
		return &CopyFromError{Row: row, Err: fmt.Errorf("%d values for %d columns", len(vals), cs.ncols)}
	}
	start := len(r.buf)
	for i, v := range vals {
		if i > 0 {
			r.buf = append(r.buf, '\t')
		}
		r.buf, err = r.c.appendLoadDataField(r.buf, v)
		if err != nil {
			r.buf = r.buf[:start]
			return &CopyFromError{Row: row, Err: fmt.Errorf("column %d: %w", i+1, err)}
		}
	}
	r.buf = append(r.buf, '\n')
	cs.mu.Lock()
	cs.rows = row
	cs.mu.Unlock()
	return nil
}

// appendLoadDataField appends v (any argument type the driver binds) as one field of the LOAD DATA format
// CopyFrom uses: fields end with a tab, lines with a newline, nothing encloses a field, backslash escapes.
// NULL is \N; numbers and times are written as the text an interpolated statement would hold (so the server
// converts them the same way); strings and bytes are escaped by appendLoadDataEscaped.
func (c *conn) appendLoadDataField(buf []byte, v any) ([]byte, error) {
	v, err := convertArg(v, 0)
	if err != nil {
		return buf, err
	}
	switch x := v.(type) {
	case nil:
		return append(buf, '\\', 'N'), nil
	case string:
		return appendLoadDataEscaped(buf, x), nil
	case []byte:
		if x == nil {
			return append(buf, '\\', 'N'), nil
		}
		return appendLoadDataEscaped(buf, x), nil
	case json.RawMessage:
		if x == nil {
			return append(buf, '\\', 'N'), nil
		}
		return appendLoadDataEscaped(buf, x), nil
	case time.Time:
		switch b := c.timeBind(x).(type) {
		case string: // a time truncated to year 1: that date, not the zero date
			return appendLoadDataEscaped(buf, b), nil
		case time.Time:
			return appendDateTimeText(buf, b), nil
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return buf, fmt.Errorf("%v cannot be stored in MySQL", x)
		}
	}
	// Integers, floats and bools: the digits of an interpolated literal (no quoting involved).
	return sanitize.AppendValue(buf, v, false)
}

// appendLoadDataEscaped appends s escaped for LOAD DATA with ESCAPED BY '\', FIELDS TERMINATED BY '\t' and
// LINES TERMINATED BY '\n' and no enclosing character. This is not the SQL string-literal escaping of
// sanitize.AppendQuoted: in a data file a tab or a newline ends the field or the line, quotes mean nothing, and the
// server reads "\N" as NULL. The server turns \0 \b \n \r \t \Z back into NUL, backspace, newline, carriage
// return, tab and ^Z, and a backslash followed by any other byte into that byte.
func appendLoadDataEscaped[T ~string | ~[]byte](buf []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case 0:
			buf = append(buf, '\\', '0')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// copyInsert is CopyFrom's fallback: multi-row INSERT statements with placeholders, each holding as many rows
// as fit in the server's max_allowed_packet (at most 65535 placeholders).
func copyInsert(ctx context.Context, db CopyTarget, target string, cs *copySource, maxPacket int) (int64, error) {
	if maxPacket <= 0 {
		maxPacket = 1 << 20
	}
	budget := maxPacket - maxPacket/8 - 1024 // room for the protocol's overhead per value
	maxRows := min(65535/cs.ncols, 1000)
	prefix := "INSERT INTO " + target + " VALUES "
	rowSQL := "(" + strings.Repeat("?,", cs.ncols-1) + "?)"
	var (
		args    []any
		size    = len(prefix)
		nrows   int
		total   int64
		first   int64 = 1 // source number of the statement's first row
		sqlByN        = map[int]string{}
		flushed int64
	)
	flush := func() error {
		if nrows == 0 {
			return nil
		}
		q, ok := sqlByN[nrows]
		if !ok {
			var b strings.Builder
			b.Grow(len(prefix) + nrows*(len(rowSQL)+1))
			b.WriteString(prefix)
			for i := 0; i < nrows; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(rowSQL)
			}
			q = b.String()
			if len(sqlByN) < 4 {
				sqlByN[nrows] = q
			}
		}
		res, err := db.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("rawmysql: CopyFrom: INSERT of rows %d to %d failed (%d rows stored before): %w", first, first+int64(nrows)-1, total, err)
		}
		n, _ := res.RowsAffected()
		total += n
		flushed += int64(nrows)
		first += int64(nrows)
		clear(args)
		args, nrows, size = args[:0], 0, len(prefix)
		return nil
	}
	for cs.src.Next() {
		row := flushed + int64(nrows) + 1
		vals, err := cs.src.Values()
		if err != nil {
			return total, &CopyFromError{Row: row, Err: err}
		}
		if len(vals) != cs.ncols {
			return total, &CopyFromError{Row: row, Err: fmt.Errorf("%d values for %d columns", len(vals), cs.ncols)}
		}
		rowSize := len(rowSQL) + 1
		start := len(args)
		for i, v := range vals {
			cv, err := convertArg(v, 0)
			if err != nil {
				return total, &CopyFromError{Row: row, Err: fmt.Errorf("column %d: %w", i+1, err)}
			}
			if f, ok := cv.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return total, &CopyFromError{Row: row, Err: fmt.Errorf("column %d: %v cannot be stored in MySQL", i+1, f)}
			}
			rowSize += valueSize(cv)
			args = append(args, cv)
		}
		if nrows > 0 && (size+rowSize > budget || nrows >= maxRows) {
			pending := append([]any(nil), args[start:]...)
			args = args[:start]
			if err := flush(); err != nil {
				return total, err
			}
			args = append(args, pending...)
		}
		nrows++
		size += rowSize
	}
	if err := cs.src.Err(); err != nil {
		return total, &CopyFromError{Row: flushed + int64(nrows) + 1, Err: err}
	}
	return total, flush()
}

// valueSize estimates the bytes a converted argument takes in a statement (text or binary protocol).
func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return 2*len(x) + 12
	case []byte:
		return 2*len(x) + 20
	case json.RawMessage:
		return 2*len(x) + 12
	}
	return 32
}
