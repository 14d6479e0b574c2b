package cli

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"
)

// formatter prints result sets and status lines. Every format streams: rows are written as they are read,
// so the memory a result set needs does not grow with its number of rows (the table format holds a bounded
// window of rows to measure the column widths, see tableFormatter).
type formatter interface {
	// resultSet prints the rows of the current result set and returns how many there were. vertical asks for
	// the \G layout (one "column: value" line per column) in the table format.
	resultSet(rows *sql.Rows, cols []*sql.ColumnType, vertical bool) (int64, error)
	// status prints a status line ("3 rows in set (0.00 sec)").
	status(line string)
}

func newFormatter(name string, stdout, stderr io.Writer, timing bool) (formatter, error) {
	switch name {
	case "table":
		return &tableFormatter{out: stdout, timing: timing, window: tableWindowRows, windowBytes: tableWindowBytes}, nil
	case "csv":
		return &csvFormatter{out: stdout, stderr: stderr, timing: timing}, nil
	case "tsv":
		return &tsvFormatter{out: stdout, stderr: stderr, timing: timing}, nil
	case "json":
		return &jsonFormatter{out: stdout, stderr: stderr, timing: timing}, nil
	}
	return nil, fmt.Errorf("rawmysql: unknown -format %q (want table, csv, tsv or json)", name)
}

// statusLine is the line the mysql client prints after a statement. The time is the last part, after " (",
// so that formatters without timing can cut it.
func statusLine(s summary, d time.Duration, n int64, resultSet bool) string {
	var b strings.Builder
	if resultSet {
		switch n {
		case 0:
			b.WriteString("Empty set")
		case 1:
			b.WriteString("1 row in set")
		default:
			fmt.Fprintf(&b, "%d rows in set", n)
		}
	} else {
		b.WriteString("Query OK, ")
		b.WriteString(plural(int64(s.affected), "row") + " affected")
	}
	if s.warnings > 0 {
		b.WriteString(", " + plural(int64(s.warnings), "warning"))
	}
	fmt.Fprintf(&b, " (%.3f sec)", d.Seconds())
	if !resultSet && s.lastID > 0 {
		fmt.Fprintf(&b, "\nLast insert id: %d", s.lastID)
	}
	if !resultSet && s.info != "" {
		b.WriteString("\n" + s.info)
	}
	return b.String()
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

// withoutTiming removes " (0.001 sec)" from a status line.
func withoutTiming(line string) string {
	first, rest, _ := strings.Cut(line, "\n")
	if i := strings.LastIndex(first, " ("); i >= 0 && strings.HasSuffix(first, " sec)") {
		first = first[:i]
	}
	if rest != "" {
		return first + "\n" + rest
	}
	return first
}

// cell is one value as text; null marks SQL NULL.
type cell struct {
	s    string
	null bool
}

// readRow scans the current row into text cells.
func readRow(rows *sql.Rows, n int) ([]cell, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := make([]cell, n)
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			out[i].null = true
		case []byte:
			out[i].s = string(v)
		case string:
			out[i].s = v
		case time.Time:
			out[i].s = v.Format("2006-01-02 15:04:05.999999")
		default:
			out[i].s = fmt.Sprint(v)
		}
	}
	return out, nil
}

func columnNames(cols []*sql.ColumnType) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name()
	}
	return names
}

// numeric reports whether a column holds numbers (right-aligned in tables, unquoted in JSON).
func numeric(c *sql.ColumnType) bool {
	t := strings.TrimPrefix(c.DatabaseTypeName(), "UNSIGNED ")
	switch t {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "DECIMAL", "FLOAT", "DOUBLE", "YEAR":
		return true
	}
	return false
}

// The table format measures column widths over a window of rows before it prints the first line: up to
// tableWindowRows rows or tableWindowBytes bytes of values, whichever comes first. A result set that fits is
// printed exactly as the mysql client prints it; a longer one streams after the window with the widths the
// window measured, and when a later value is wider than its column, the column widens from that row on, after
// a border line (values are never cut, and every line stays aligned with the border above it).
const (
	tableWindowRows  = 1000
	tableWindowBytes = 4 << 20
)

// tableFormatter prints aligned tables like the mysql client, or vertical records for \G.
type tableFormatter struct {
	out         io.Writer
	timing      bool
	window      int // rows measured before printing
	windowBytes int
}

// displayWidth is the number of terminal columns s takes: wide (CJK) characters count two, combining marks
// and zero-width joiners none, an emoji sequence two (github.com/mattn/go-runewidth).
func displayWidth(s string) int { return runewidth.StringWidth(s) }

func cellText(c cell) string {
	if c.null {
		return "NULL"
	}
	return c.s
}

func (t *tableFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType, vertical bool) (int64, error) {
	w := bufio.NewWriterSize(t.out, 64<<10)
	if vertical {
		n, err := t.vertical(w, rows, cols)
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		return n, err
	}
	names := columnNames(cols)
	widths := make([]int, len(cols))
	for i, n := range names {
		widths[i] = displayWidth(n)
	}
	// The window: rows read before anything is printed, to measure the widths.
	var window [][]cell
	size := 0
	more := true
	for len(window) < t.window && size < t.windowBytes {
		if !rows.Next() {
			more = false
			break
		}
		r, err := readRow(rows, len(cols))
		if err != nil {
			return 0, err
		}
		for i, c := range r {
			widths[i] = max(widths[i], displayWidth(cellText(c)))
			size += len(c.s) + 16
		}
		window = append(window, r)
	}
	if !more {
		if err := rows.Err(); err != nil {
			return 0, err
		}
		if len(window) == 0 {
			return 0, nil // "Empty set", as the mysql client prints no header then
		}
	}
	right := make([]bool, len(cols))
	for i, c := range cols {
		right[i] = numeric(c)
	}
	sep := func() {
		w.WriteByte('+')
		for _, n := range widths {
			for range n + 2 {
				w.WriteByte('-')
			}
			w.WriteByte('+')
		}
		w.WriteByte('\n')
	}
	line := func(r []cell, alignRight []bool) {
		w.WriteByte('|')
		for i, c := range r {
			v := cellText(c)
			pad := max(widths[i]-displayWidth(v), 0)
			w.WriteByte(' ')
			if alignRight != nil && alignRight[i] {
				writeSpaces(w, pad)
				w.WriteString(v)
			} else {
				w.WriteString(v)
				writeSpaces(w, pad)
			}
			w.WriteString(" |")
		}
		w.WriteByte('\n')
	}
	header := make([]cell, len(names))
	for i, n := range names {
		header[i].s = n
	}
	sep()
	line(header, nil)
	sep()
	n := int64(len(window))
	for _, r := range window {
		line(r, right)
	}
	window = nil
	for more && rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			w.Flush()
			return n, err
		}
		wider := false
		for i, c := range r {
			if d := displayWidth(cellText(c)); d > widths[i] {
				widths[i], wider = d, true
			}
		}
		if wider {
			sep() // the columns widen from this row on: a border line marks where
		}
		line(r, right)
		n++
	}
	if err := rows.Err(); err != nil {
		w.Flush()
		return n, err
	}
	sep()
	return n, w.Flush()
}

// vertical prints each row as the mysql client does after \G:
//
//	*************************** 1. row ***************************
//	   id: 1
//	 name: Ada
func (t *tableFormatter) vertical(w *bufio.Writer, rows *sql.Rows, cols []*sql.ColumnType) (int64, error) {
	names := columnNames(cols)
	width := 0
	for _, n := range names {
		width = max(width, displayWidth(n))
	}
	var n int64
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			return n, err
		}
		n++
		fmt.Fprintf(w, "*************************** %d. row ***************************\n", n)
		for i, c := range r {
			writeSpaces(w, width-displayWidth(names[i]))
			w.WriteString(names[i])
			w.WriteString(": ")
			w.WriteString(cellText(c))
			w.WriteByte('\n')
		}
	}
	return n, rows.Err()
}

func writeSpaces(w *bufio.Writer, n int) {
	for range n {
		w.WriteByte(' ')
	}
}

func (t *tableFormatter) status(line string) {
	if !t.timing {
		line = withoutTiming(line)
	}
	fmt.Fprintln(t.out, line)
	fmt.Fprintln(t.out)
}

// csvFormatter prints RFC 4180 CSV with a header line; NULL is an empty field. Status lines go to stderr.
type csvFormatter struct {
	out, stderr io.Writer
	timing      bool
}

func (c *csvFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType, _ bool) (int64, error) {
	w := csv.NewWriter(c.out)
	if err := w.Write(columnNames(cols)); err != nil {
		return 0, err
	}
	rec := make([]string, len(cols))
	var n int64
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			return n, err
		}
		for i, v := range r {
			rec[i] = v.s
		}
		if err := w.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return n, err
	}
	return n, rows.Err()
}

func (c *csvFormatter) status(line string) { quietStatus(c.stderr, line, c.timing) }

func quietStatus(w io.Writer, line string, timing bool) {
	if !timing {
		line = withoutTiming(line)
	}
	fmt.Fprintln(w, line)
}

// tsvFormatter prints tab-separated values like `mysql --batch`: a header line, NULL as "NULL", and tab,
// newline, carriage return and backslash escaped as \t \n \r \\. Status lines go to stderr.
type tsvFormatter struct {
	out, stderr io.Writer
	timing      bool
}

var tsvEscaper = strings.NewReplacer("\\", `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func (t *tsvFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType, _ bool) (int64, error) {
	b := bufio.NewWriterSize(t.out, 64<<10)
	b.WriteString(strings.Join(columnNames(cols), "\t"))
	b.WriteByte('\n')
	var n int64
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			b.Flush()
			return n, err
		}
		for i, v := range r {
			if i > 0 {
				b.WriteByte('\t')
			}
			if v.null {
				b.WriteString("NULL")
			} else {
				tsvEscaper.WriteString(b, v.s)
			}
		}
		b.WriteByte('\n')
		n++
	}
	if err := b.Flush(); err != nil {
		return n, err
	}
	return n, rows.Err()
}

func (t *tsvFormatter) status(line string) { quietStatus(t.stderr, line, t.timing) }

// jsonFormatter prints each result set as a JSON array of objects, keys in column order; NULL is null and
// numeric columns are JSON numbers. Status lines go to stderr.
type jsonFormatter struct {
	out, stderr io.Writer
	timing      bool
}

func (j *jsonFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType, _ bool) (int64, error) {
	names := columnNames(cols)
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i], _ = json.Marshal(n)
	}
	num := make([]bool, len(cols))
	for i, c := range cols {
		num[i] = numeric(c)
	}
	// Rows are appended to b and written out every 64 KiB; on an error the array is still closed, so what was
	// printed stays valid JSON.
	b := make([]byte, 0, 64<<10)
	b = append(b, '[')
	var n int64
	var err error
	for rows.Next() {
		var r []cell
		if r, err = readRow(rows, len(cols)); err != nil {
			break
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n  {"...)
		for i, v := range r {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, keys[i]...)
			b = append(b, ": "...)
			switch {
			case v.null:
				b = append(b, "null"...)
			case num[i] && json.Valid([]byte(v.s)):
				b = append(b, v.s...)
			default:
				q, _ := json.Marshal(v.s)
				b = append(b, q...)
			}
		}
		b = append(b, '}')
		n++
		if len(b) >= 60<<10 {
			if _, werr := j.out.Write(b); werr != nil {
				return n, werr
			}
			b = b[:0]
		}
	}
	if n > 0 {
		b = append(b, '\n')
	}
	b = append(b, "]\n"...)
	if _, werr := j.out.Write(b); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return n, err
	}
	return n, rows.Err()
}

func (j *jsonFormatter) status(line string) { quietStatus(j.stderr, line, j.timing) }
