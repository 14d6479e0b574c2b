package main

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// formatter prints result sets and status lines.
type formatter interface {
	// resultSet prints the rows of the current result set and returns how many there were.
	resultSet(rows *sql.Rows, cols []*sql.ColumnType) (int64, error)
	// status prints a status line ("3 rows in set (0.00 sec)").
	status(line string)
}

func newFormatter(name string, stdout, stderr io.Writer, timing bool) (formatter, error) {
	switch name {
	case "table":
		return &tableFormatter{out: stdout, timing: timing}, nil
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

// tableFormatter prints aligned tables like the mysql client.
type tableFormatter struct {
	out    io.Writer
	timing bool
}

func (t *tableFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType) (int64, error) {
	names := columnNames(cols)
	widths := make([]int, len(cols))
	for i, n := range names {
		widths[i] = utf8.RuneCountInString(n)
	}
	var data [][]cell
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			return 0, err
		}
		for i, c := range r {
			s := c.s
			if c.null {
				s = "NULL"
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(s))
		}
		data = append(data, r)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, nil // "Empty set", as the mysql client prints no header then
	}
	right := make([]bool, len(cols))
	for i, c := range cols {
		right[i] = numeric(c)
	}
	var b strings.Builder
	sep := func() {
		b.WriteByte('+')
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w+2))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(vals []string, alignRight []bool) {
		b.WriteByte('|')
		for i, v := range vals {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v))
			if alignRight != nil && alignRight[i] {
				b.WriteString(" " + pad + v + " |")
			} else {
				b.WriteString(" " + v + pad + " |")
			}
		}
		b.WriteByte('\n')
	}
	sep()
	line(names, nil)
	sep()
	vals := make([]string, len(cols))
	for _, r := range data {
		for i, c := range r {
			vals[i] = c.s
			if c.null {
				vals[i] = "NULL"
			}
		}
		line(vals, right)
	}
	sep()
	_, err := io.WriteString(t.out, b.String())
	return int64(len(data)), err
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

func (c *csvFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType) (int64, error) {
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

func (t *tsvFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType) (int64, error) {
	var b strings.Builder
	b.WriteString(strings.Join(columnNames(cols), "\t"))
	b.WriteByte('\n')
	var n int64
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			return n, err
		}
		for i, v := range r {
			if i > 0 {
				b.WriteByte('\t')
			}
			if v.null {
				b.WriteString("NULL")
			} else {
				b.WriteString(tsvEscaper.Replace(v.s))
			}
		}
		b.WriteByte('\n')
		n++
	}
	if _, err := io.WriteString(t.out, b.String()); err != nil {
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

func (j *jsonFormatter) resultSet(rows *sql.Rows, cols []*sql.ColumnType) (int64, error) {
	names := columnNames(cols)
	keys := make([][]byte, len(names))
	for i, n := range names {
		keys[i], _ = json.Marshal(n)
	}
	num := make([]bool, len(cols))
	for i, c := range cols {
		num[i] = numeric(c)
	}
	var b []byte
	b = append(b, '[')
	var n int64
	for rows.Next() {
		r, err := readRow(rows, len(cols))
		if err != nil {
			return n, err
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
	}
	if n > 0 {
		b = append(b, '\n')
	}
	b = append(b, "]\n"...)
	if _, err := j.out.Write(b); err != nil {
		return n, err
	}
	return n, rows.Err()
}

func (j *jsonFormatter) status(line string) { quietStatus(j.stderr, line, j.timing) }
