// Package sanitize is client-side interpolation (interpolateParams=true): it finds the ? placeholders of a
// MySQL statement outside string literals, quoted identifiers and comments, and writes arguments in their place
// as escaped SQL literals, as go-sql-driver/mysql does. The caller (the root package) converts the arguments,
// refuses the character sets where escaping is unsafe, and prepares the statement on the server instead when
// interpolation is not possible.
package sanitize

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ScanPlaceholders calls fn with the offset of every ? placeholder of query that is outside string literals,
// quoted identifiers and comments. Backslash escapes inside literals count unless noBackslash.
func ScanPlaceholders(query string, noBackslash bool, fn func(pos int)) {
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '?':
			fn(i)
		case '\'', '"', '`':
			i++
			for i < len(query) {
				if query[i] == '\\' && c != '`' && !noBackslash {
					i += 2
					continue
				}
				if query[i] == c {
					if i+1 < len(query) && query[i+1] == c { // doubled quote
						i += 2
						continue
					}
					break
				}
				i++
			}
		case '#':
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case '-':
			if i+2 < len(query) && query[i+1] == '-' && (query[i+2] == ' ' || query[i+2] == '\t' || query[i+2] == '\n' || query[i+2] == '\r') ||
				i+2 == len(query) && query[i+1] == '-' {
				for i < len(query) && query[i] != '\n' {
					i++
				}
			}
		case '/':
			if i+1 < len(query) && query[i+1] == '*' {
				end := -1
				for j := i + 2; j+1 < len(query); j++ {
					if query[j] == '*' && query[j+1] == '/' {
						end = j + 1
						break
					}
				}
				if end < 0 {
					return
				}
				i = end
			}
		}
	}
}

// CountPlaceholders returns the number of ? placeholders ScanPlaceholders finds.
func CountPlaceholders(query string, noBackslash bool) int {
	n := 0
	ScanPlaceholders(query, noBackslash, func(int) { n++ })
	return n
}

// AppendQuoted appends s as a single-quoted SQL string literal: with backslash escapes (NUL, \n, \r, ^Z,
// quotes and the backslash itself), or, when noBackslash (the server's NO_BACKSLASH_ESCAPES mode), with only
// the single quote doubled.
func AppendQuoted[T ~string | ~[]byte](buf []byte, s T, noBackslash bool) []byte {
	buf = append(buf, '\'')
	if noBackslash {
		for i := 0; i < len(s); i++ {
			if s[i] == '\'' {
				buf = append(buf, '\'', '\'')
			} else {
				buf = append(buf, s[i])
			}
		}
		return append(buf, '\'')
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			buf = append(buf, '\\', '0')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case 0x1a:
			buf = append(buf, '\\', 'Z')
		case '\'':
			buf = append(buf, '\\', '\'')
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '\'')
}

// ArgCountError reports a query whose placeholder count differs from its argument count.
type ArgCountError struct{ Want, Got int }

func (e *ArgCountError) Error() string {
	return "sanitize: statement has " + strconv.Itoa(e.Want) + " placeholders, got " + strconv.Itoa(e.Got) + " arguments"
}

// ArgError reports an argument that cannot be written as a literal; Index counts from 0.
type ArgError struct {
	Index int
	Err   error
}

func (e *ArgError) Error() string {
	return "sanitize: argument " + strconv.Itoa(e.Index+1) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ArgError) Unwrap() error { return e.Err }

// Interpolate appends to dst query with its n placeholders replaced by the literals of the arguments, which
// arg returns by index, in order (it is called once per placeholder, after the count was checked). A count
// other than n is an *ArgCountError, reported before arg is called; an error of arg or of AppendValue is an
// *ArgError.
func Interpolate(dst []byte, query string, noBackslash bool, n int, arg func(i int) (any, error)) ([]byte, error) {
	var small [16]int
	pos := small[:0]
	ScanPlaceholders(query, noBackslash, func(p int) { pos = append(pos, p) })
	if len(pos) != n {
		return dst, &ArgCountError{Want: len(pos), Got: n}
	}
	last := 0
	for i, p := range pos {
		dst = append(dst, query[last:p]...)
		last = p + 1
		v, err := arg(i)
		if err != nil {
			return dst, &ArgError{Index: i, Err: err}
		}
		if dst, err = AppendValue(dst, v, noBackslash); err != nil {
			return dst, &ArgError{Index: i, Err: err}
		}
	}
	return append(dst, query[last:]...), nil
}

// AppendValue appends v as a SQL literal. v is one of the values the driver's argument conversion produces:
// nil (NULL), int64, uint64, float64 (not NaN or infinite), bool (1 or 0), string, []byte (a _binary string,
// NULL when nil), json.RawMessage (a string, NULL when nil) or time.Time (DATETIME text, written as it is: the
// caller puts it in the connection's location first; the zero time is the zero date).
func AppendValue(buf []byte, v any, noBackslash bool) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, "NULL"...), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case uint64:
		return strconv.AppendUint(buf, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v cannot be stored in MySQL", x)
		}
		return strconv.AppendFloat(buf, x, 'g', -1, 64), nil
	case bool:
		if x {
			return append(buf, '1'), nil
		}
		return append(buf, '0'), nil
	case time.Time:
		if x.IsZero() {
			return append(buf, "'0000-00-00'"...), nil
		}
		buf = append(buf, '\'')
		if x.Nanosecond()/1000 != 0 {
			buf = x.AppendFormat(buf, "2006-01-02 15:04:05.000000") // microseconds, truncated
		} else {
			buf = x.AppendFormat(buf, "2006-01-02 15:04:05")
		}
		return append(buf, '\''), nil
	case json.RawMessage:
		if x == nil {
			return append(buf, "NULL"...), nil
		}
		return AppendQuoted(buf, x, noBackslash), nil
	case []byte:
		if x == nil {
			return append(buf, "NULL"...), nil
		}
		buf = append(buf, "_binary"...)
		return AppendQuoted(buf, x, noBackslash), nil
	case string:
		return AppendQuoted(buf, x, noBackslash), nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}
