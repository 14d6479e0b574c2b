package rawmysql

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// errInterpolateUnsafe makes the caller fall back to a server-side prepared statement.
var errInterpolateUnsafe = errors.New("rawmysql: client-side interpolation is not safe here")

// scanPlaceholders calls fn with the offset of every ? placeholder of query that is outside string literals,
// quoted identifiers and comments. Backslash escapes inside literals count unless noBackslash.
func scanPlaceholders(query string, noBackslash bool, fn func(pos int)) {
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

func countPlaceholders(query string, noBackslash bool) int {
	n := 0
	scanPlaceholders(query, noBackslash, func(int) { n++ })
	return n
}

// interpolate replaces the placeholders of query with escaped literals of args, as go-sql-driver/mysql does
// with interpolateParams=true. It returns errInterpolateUnsafe for character sets where escaping is unsafe and
// for statements larger than maxAllowedPacket; the caller then prepares the statement instead.
func (c *conn) interpolate(query string, args []driver.NamedValue) (string, error) {
	if c.unsafeCharset() {
		return "", errInterpolateUnsafe
	}
	noBackslash := c.noBackslashEscapes()
	var pos []int
	scanPlaceholders(query, noBackslash, func(p int) { pos = append(pos, p) })
	if len(pos) != len(args) {
		return "", &argCountError{want: len(pos), got: len(args)}
	}
	buf := c.ibuf[:0]
	last := 0
	for i, p := range pos {
		buf = append(buf, query[last:p]...)
		last = p + 1
		v, err := convertArg(args[i].Value, 0)
		if err != nil {
			return "", fmt.Errorf("rawmysql: argument $%d: %w", i+1, err)
		}
		buf, err = c.appendLiteral(buf, v, noBackslash)
		if err != nil {
			return "", fmt.Errorf("rawmysql: argument $%d: %w", i+1, err)
		}
	}
	buf = append(buf, query[last:]...)
	if len(buf) > c.cfg.MaxAllowedPacket && c.cfg.MaxAllowedPacket > 0 {
		return "", errInterpolateUnsafe
	}
	if cap(buf) <= 1<<16 {
		c.ibuf = buf
	}
	return string(buf), nil
}

// unsafeCharset reports a connection character set whose multibyte characters can end in a backslash byte.
func (c *conn) unsafeCharset() bool {
	if c.cfg.Charset != "" && protocol.IsMultibyteUnsafeCharset(c.cfg.Charset) {
		return true
	}
	id, ok := protocol.CollationID(c.cfg.Collation)
	return ok && protocol.IsMultibyteUnsafeCharset(protocol.CollationCharset(id))
}

func (c *conn) appendLiteral(buf []byte, v any, noBackslash bool) ([]byte, error) {
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
		t := c.timeArg(x)
		buf = append(buf, '\'')
		buf = t.AppendFormat(buf, "2006-01-02 15:04:05")
		if us := t.Nanosecond() / 1000; us != 0 {
			buf = append(buf, '.')
			buf = appendDigits(buf, us, 6)
		}
		return append(buf, '\''), nil
	case json.RawMessage:
		if x == nil {
			return append(buf, "NULL"...), nil
		}
		return appendQuoted(buf, x, noBackslash), nil
	case []byte:
		if x == nil {
			return append(buf, "NULL"...), nil
		}
		buf = append(buf, "_binary"...)
		return appendQuoted(buf, x, noBackslash), nil
	case string:
		return appendQuoted(buf, x, noBackslash), nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}

// appendQuoted appends s as a single-quoted SQL string literal.
func appendQuoted[T ~string | ~[]byte](buf []byte, s T, noBackslash bool) []byte {
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
