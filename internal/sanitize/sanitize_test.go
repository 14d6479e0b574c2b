package sanitize

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mark returns query with the placeholders ScanPlaceholders finds replaced by '!'.
func mark(query string, noBackslash bool) string {
	b := []byte(query)
	ScanPlaceholders(query, noBackslash, func(p int) { b[p] = '!' })
	return string(b)
}

func TestScanPlaceholders(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		noBackslash bool
		want        string // query with the placeholders found as '!'
	}{
		{"plain", "SELECT ?, ?", false, "SELECT !, !"},
		{"adjacent", "??", false, "!!"},
		{"empty", "", false, ""},
		{"none", "SELECT 1", false, "SELECT 1"},
		{"quoted strings and identifiers", "'?' \"?\" `?` ?", false, "'?' \"?\" `?` !"},
		{"doubled quote stays inside", "'it''s ?' ?", false, "'it''s ?' !"},
		{"doubled double quote", `"a""?" ?`, false, `"a""?" !`},
		{"doubled backtick", "`a``?` ?", false, "`a``?` !"},
		{"backslash escapes a quote", `'a\' ?' ?`, false, `'a\' ?' !`},
		{"backslash escapes a double quote", `"\"?" ?`, false, `"\"?" !`},
		{"no backslash escapes: the quote closes", `'a\' ?' ?`, true, `'a\' !' ?`},
		{"backticks ignore backslashes", "`a\\` ?", false, "`a\\` !"},
		{"escaped backslash then quote closes", `'\\' ?`, false, `'\\' !`},
		{"unterminated literal hides the rest", "? '?", false, "! '?"},
		{"hash comment to end of line", "SELECT ? # ?\n?", false, "SELECT ! # ?\n!"},
		{"dash comment needs a blank", "SELECT ? -- ?\n?", false, "SELECT ! -- ?\n!"},
		{"dash comment with a tab", "? --\t?\n?", false, "! --\t?\n!"},
		{"double dash without a blank is not a comment", "SELECT 1--?", false, "SELECT 1--!"},
		{"double dash at the very end", "SELECT ?--", false, "SELECT !--"},
		{"single dash", "SELECT 1-?", false, "SELECT 1-!"},
		{"block comment", "/* ? */ ?", false, "/* ? */ !"},
		{"block comment with stars", "/** ? **/ ?", false, "/** ? **/ !"},
		{"unterminated block comment ends the scan", "? /* ?", false, "! /* ?"},
		{"slash star slash is not closed", "/*/ ?", false, "/*/ ?"},
		{"division is not a comment", "SELECT ?/?", false, "SELECT !/!"},
		{"quote inside a comment", "/* ' */ ?", false, "/* ' */ !"},
		{"comment marker inside a literal", "'-- ' ?", false, "'-- ' !"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, mark(tt.query, tt.noBackslash))
			assert.Equal(t, strings.Count(tt.want, "!")-strings.Count(tt.query, "!"), CountPlaceholders(tt.query, tt.noBackslash))
		})
	}
}

func TestAppendQuoted(t *testing.T) {
	tests := []struct {
		in          string
		noBackslash bool
		want        string
	}{
		{"", false, `''`},
		{"abc", false, `'abc'`},
		{"it's", false, `'it\'s'`},
		{"it's", true, `'it''s'`},
		{"\x00\n\r\x1a'\"\\", false, `'\0\n\r\Z\'\"\\'`},
		{"\x00\n\r\x1a'\"\\", true, "'\x00\n\r\x1a''\"\\'"},
		{"?", false, `'?'`},
		{"\xff\xfe", false, "'\xff\xfe'"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(AppendQuoted([]byte("x="), tt.in, tt.noBackslash))[2:], "%q noBackslash=%v", tt.in, tt.noBackslash)
		assert.Equal(t, tt.want, string(AppendQuoted(nil, []byte(tt.in), tt.noBackslash)), "[]byte %q", tt.in)
	}
}

func TestAppendValue(t *testing.T) {
	ts := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
		err  string
	}{
		{"nil", nil, "NULL", ""},
		{"int64", int64(-5), "-5", ""},
		{"int64 min", int64(math.MinInt64), "-9223372036854775808", ""},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615", ""},
		{"float64", 1.5, "1.5", ""},
		{"float64 large", 1e21, "1e+21", ""},
		{"float64 small", 1e-7, "1e-07", ""},
		{"NaN", math.NaN(), "", "NaN cannot be stored in MySQL"},
		{"+Inf", math.Inf(1), "", "+Inf cannot be stored in MySQL"},
		{"-Inf", math.Inf(-1), "", "-Inf cannot be stored in MySQL"},
		{"true", true, "1", ""},
		{"false", false, "0", ""},
		{"string", "a'b", `'a\'b'`, ""},
		{"nil bytes", []byte(nil), "NULL", ""},
		{"empty bytes", []byte{}, "_binary''", ""},
		{"bytes", []byte("x'"), `_binary'x\''`, ""},
		{"nil JSON", json.RawMessage(nil), "NULL", ""},
		{"JSON", json.RawMessage(`{"a":1}`), `'{\"a\":1}'`, ""},
		{"zero time", time.Time{}, "'0000-00-00'", ""},
		{"time", ts, "'2024-02-03 04:05:06'", ""},
		{"time with microseconds", ts.Add(45 * time.Millisecond), "'2024-02-03 04:05:06.045000'", ""},
		{"nanoseconds below a microsecond are dropped", ts.Add(999 * time.Nanosecond), "'2024-02-03 04:05:06'", ""},
		{"microseconds truncated", ts.Add(999999999 * time.Nanosecond), "'2024-02-03 04:05:06.999999'", ""},
		{"time written in its own location", ts.In(time.FixedZone("x", 3600)), "'2024-02-03 05:05:06'", ""},
		{"not a converted value", 5, "", "unsupported type int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendValue([]byte("v="), tt.v, false)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "v="+tt.want, string(got))
		})
	}
}

func TestInterpolate(t *testing.T) {
	args := func(vs ...any) func(int) (any, error) {
		return func(i int) (any, error) { return vs[i], nil }
	}
	t.Run("replaces in order and appends to dst", func(t *testing.T) {
		got, err := Interpolate([]byte("-- "), "SELECT ?, '?', ? /* ? */", false, 2, args(int64(1), "a'b"))
		require.NoError(t, err)
		assert.Equal(t, `-- SELECT 1, '?', 'a\'b' /* ? */`, string(got))
	})
	t.Run("no placeholders", func(t *testing.T) {
		got, err := Interpolate(nil, "SELECT '?'", false, 0, nil)
		require.NoError(t, err)
		assert.Equal(t, "SELECT '?'", string(got))
	})
	t.Run("NO_BACKSLASH_ESCAPES", func(t *testing.T) {
		got, err := Interpolate(nil, `SELECT '\' ?`, true, 1, args("it's"))
		require.NoError(t, err)
		assert.Equal(t, `SELECT '\' 'it''s'`, string(got))
	})
	for _, n := range []int{0, 1, 3} {
		called := false
		_, err := Interpolate(nil, "SELECT ?, ?", false, n, func(int) (any, error) { called = true; return nil, nil })
		var ce *ArgCountError
		require.ErrorAs(t, err, &ce, "n=%d", n)
		assert.Equal(t, ArgCountError{Want: 2, Got: n}, *ce)
		assert.False(t, called, "no argument is converted when the count is wrong")
	}
	cause := errors.New("bad valuer")
	var calls []int
	_, err := Interpolate(nil, "SELECT ?, ?, ?", false, 3, func(i int) (any, error) {
		calls = append(calls, i)
		if i == 1 {
			return nil, cause
		}
		return int64(i), nil
	})
	var ae *ArgError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 1, ae.Index)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, []int{0, 1}, calls, "stops at the failing argument")

	_, err = Interpolate(nil, "SELECT ?, ?", false, 2, args(int64(1), math.Inf(1)))
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 1, ae.Index)
	assert.EqualError(t, err, "sanitize: argument 2: +Inf cannot be stored in MySQL")
}

// unquote decodes a single-quoted literal as the server reads it (the test's own reading of the MySQL
// manual's "String Literals" section), returning the string and the bytes after the literal.
func unquote(t *testing.T, lit []byte, noBackslash bool) (string, []byte) {
	t.Helper()
	require.NotEmpty(t, lit)
	require.Equal(t, byte('\''), lit[0])
	var out []byte
	for i := 1; i < len(lit); i++ {
		switch c := lit[i]; {
		case c == '\\' && !noBackslash:
			require.Less(t, i+1, len(lit), "literal ends inside an escape")
			i++
			switch e := lit[i]; e {
			case '0':
				out = append(out, 0)
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 'Z':
				out = append(out, 0x1a)
			case 'b':
				out = append(out, '\b')
			case 't':
				out = append(out, '\t')
			case '%', '_':
				out = append(out, '\\', e)
			default:
				out = append(out, e)
			}
		case c == '\'' && i+1 < len(lit) && lit[i+1] == '\'':
			out = append(out, '\'')
			i++
		case c == '\'':
			return string(out), lit[i+1:]
		default:
			out = append(out, c)
		}
	}
	t.Fatalf("literal %q not terminated", lit)
	return "", nil
}

// FuzzAppendQuoted: the server reads back exactly the string that was quoted, the literal ends where
// AppendQuoted stopped, and no ? inside it is seen as a placeholder.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "a", "'", "''", `\`, `\'`, "\x00\n\r\x1a\"", "?", "'?'", "\\%_", "\xbf\x27", "--", "/*"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, noBackslash bool) {
		lit := AppendQuoted(nil, s, noBackslash)
		got, rest := unquote(t, lit, noBackslash)
		require.Equal(t, s, got)
		require.Empty(t, rest)
		var pos []int
		ScanPlaceholders(string(lit)+"?", noBackslash, func(p int) { pos = append(pos, p) })
		require.Equal(t, []int{len(lit)}, pos)
	})
}

// FuzzScanPlaceholders: every position reported holds a '?', in increasing order; CountPlaceholders agrees;
// interpolating string arguments leaves no placeholder in the result and each argument's literal in place.
func FuzzScanPlaceholders(f *testing.F) {
	for _, q := range []string{"SELECT ?", "'?' \"?\" `?` ?", "'it''s ?' ?", `'a\' ?' ?`, "? # ?\n?", "? -- ?\n?",
		"SELECT 1--?", "/* ? */ ?", "? /* ?", "? '?", "?'?'?", "`a\\` ?", "INSERT INTO t /* ? */ VALUES (?, '?', ?) -- ?\n"} {
		f.Add(q, false, "v")
		f.Add(q, true, "it's ?")
	}
	f.Fuzz(func(t *testing.T, query string, noBackslash bool, arg string) {
		var pos []int
		ScanPlaceholders(query, noBackslash, func(p int) {
			require.Less(t, p, len(query))
			require.Equal(t, byte('?'), query[p], "position %d", p)
			if len(pos) > 0 {
				require.Greater(t, p, pos[len(pos)-1])
			}
			pos = append(pos, p)
		})
		require.Equal(t, len(pos), CountPlaceholders(query, noBackslash))
		out, err := Interpolate(nil, query, noBackslash, len(pos), func(int) (any, error) { return arg, nil })
		require.NoError(t, err)
		lit := string(AppendQuoted(nil, arg, noBackslash))
		require.Len(t, out, len(query)-len(pos)+len(pos)*len(lit))
		last, shift := 0, 0
		for _, p := range pos {
			require.Equal(t, query[last:p], string(out[last+shift:p+shift]), "text between placeholders kept")
			require.Equal(t, lit, string(out[p+shift:p+shift+len(lit)]))
			shift += len(lit) - 1
			last = p + 1
		}
		require.Equal(t, query[last:], string(out[last+shift:]))
		if !strings.ContainsAny(query, "'") {
			// Without single quotes in the query, no literal can merge with the query's own text: the
			// interpolated statement has no placeholder left.
			require.Zero(t, CountPlaceholders(string(out), noBackslash), "%q", out)
		}
	})
}
