package rawmysql

import (
	"math"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDateTime(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	const invalid, noEquivalent = "invalid date/time value", "has no time.Time equivalent"
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
		err  string // substring of the error; "" for none
	}{
		{"2024-02-03", nil, time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC), ""},
		{"2024-02-03 04:05:06", nil, time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{"2024-02-03T04:05:06", nil, time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{"2024-02-03 04:05:06.5", nil, time.Date(2024, 2, 3, 4, 5, 6, 500_000_000, time.UTC), ""},
		{"2024-02-03 04:05:06.000045", nil, time.Date(2024, 2, 3, 4, 5, 6, 45_000, time.UTC), ""},
		{"2024-02-03 04:05:06.123456", tokyo, time.Date(2024, 2, 3, 4, 5, 6, 123_456_000, tokyo), ""},
		{"9999-12-31 23:59:59", nil, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"2024-02-29", nil, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{"0000-00-00", nil, time.Time{}, ""},
		{"0000-00-00 00:00:00", tokyo, time.Time{}, ""},
		{"0000-00-00 00:00:00.000000", nil, time.Time{}, ""},
		{"0000-00-00 00:00:01", nil, time.Time{}, noEquivalent},
		{"2024-00-00", nil, time.Time{}, noEquivalent},
		{"2023-02-29", nil, time.Time{}, noEquivalent},
		{"2024-02-31", nil, time.Time{}, noEquivalent},
		{"2024-13-01", nil, time.Time{}, noEquivalent},
		{"2024-01-01 24:00:00", nil, time.Time{}, noEquivalent},
		{"2024-01-01 00:60:00", nil, time.Time{}, noEquivalent},
		{"2024-01-01 00:00:60", nil, time.Time{}, noEquivalent},
		{"", nil, time.Time{}, invalid},
		{"2024-02-0", nil, time.Time{}, invalid},
		{"2024-02-03 04", nil, time.Time{}, invalid},
		{"2024-02-03 04:05:06.", nil, time.Time{}, invalid},
		{"2024-02-03 04:05:06.1234567", nil, time.Time{}, invalid},
		{"2024/02/03", nil, time.Time{}, invalid},
		{"2024-02-03x04:05:06", nil, time.Time{}, invalid},
		{"2024-02-03 04-05-06", nil, time.Time{}, invalid},
		{"2024-02-03 04:05:06,5", nil, time.Time{}, invalid},
		{"20a4-02-03", nil, time.Time{}, invalid},
		{"-024-02-03", nil, time.Time{}, invalid},
		{"2024-02-03 04:05:06.12a", nil, time.Time{}, invalid},
	}
	for _, tt := range tests {
		got, err := parseDateTime([]byte(tt.in), tt.loc)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, "%q", tt.in)
			assert.Contains(t, err.Error(), tt.in, "the error quotes the value")
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.True(t, tt.want.Equal(got), "%q: got %v, want %v", tt.in, got, tt.want)
		assert.Equal(t, tt.want.Location(), got.Location(), "%q", tt.in)
	}
}

func TestParseIntUint(t *testing.T) {
	ints := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-0", 0, true}, {"42", 42, true}, {"-42", -42, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"1.0", 0, false}, {" 1", 0, false}, {"0x10", 0, false},
	}
	for _, tt := range ints {
		got, ok := parseInt([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "parseInt(%q)", tt.in)
		assert.Equal(t, tt.want, got, "parseInt(%q)", tt.in)
	}
	uints := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"18446744073709551615", 1<<64 - 1, true}, {"00000000000000000001", 1, true},
		{"18446744073709551616", 0, false}, {"99999999999999999999", 0, false}, {"100000000000000000000", 0, false},
		{"", 0, false}, {"-1", 0, false}, {"1a", 0, false},
	}
	for _, tt := range uints {
		got, ok := parseUint([]byte(tt.in))
		assert.Equal(t, tt.ok, ok, "parseUint(%q)", tt.in)
		assert.Equal(t, tt.want, got, "parseUint(%q)", tt.in)
	}
}

// Text-protocol values become the Go values go-sql-driver/mysql gives, and a value that does not parse as
// its column's type is an error naming the column.
func TestTextValue(t *testing.T) {
	c := &conn{cfg: NewConfig()}
	c.cfg.ParseTime = true
	col := func(typ protocol.FieldType, flags protocol.FieldFlag) *protocol.Column {
		return &protocol.Column{Name: "c", Type: typ, Flags: flags, Charset: 45}
	}
	tests := []struct {
		col  *protocol.Column
		in   string
		want any
		err  string
	}{
		{col(protocol.TypeLong, 0), "-7", int64(-7), ""},
		{col(protocol.TypeLongLong, protocol.FlagUnsigned), "9223372036854775807", int64(1<<63 - 1), ""},
		{col(protocol.TypeLongLong, protocol.FlagUnsigned), "18446744073709551615", uint64(1<<64 - 1), ""},
		{col(protocol.TypeYear, 0), "2024", int64(2024), ""},
		{col(protocol.TypeFloat, 0), "1.1", float32(1.1), ""},
		{col(protocol.TypeDouble, 0), "1.1", 1.1, ""},
		{col(protocol.TypeDouble, 0), "1e300", 1e300, ""},
		{col(protocol.TypeDateTime, 0), "2024-02-03 04:05:06", time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{col(protocol.TypeVarString, 0), "abc", []byte("abc"), ""},
		{col(protocol.TypeNewDecimal, 0), "1.50", []byte("1.50"), ""},
		{col(protocol.TypeLong, 0), "12x", nil, `rawmysql: column "c" (INT): invalid value "12x"`},
		{col(protocol.TypeLongLong, protocol.FlagUnsigned), "-1", nil, `rawmysql: column "c" (UNSIGNED BIGINT): invalid value "-1"`},
		{col(protocol.TypeDouble, 0), "one", nil, `rawmysql: column "c" (DOUBLE): invalid value "one"`},
		{col(protocol.TypeDate, 0), "2024-02-31", nil, `rawmysql: column "c": date/time value "2024-02-31" has no time.Time equivalent`},
	}
	var bx boxer
	for _, tt := range tests {
		got, err := c.textValue(tt.col, 0, c.textKindOf(tt.col), []byte(tt.in), &bx)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, "%q", tt.in)
			continue
		}
		require.NoError(t, err, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

// Binary-protocol dates and times are formatted as the text protocol sends them (so both scan alike), with
// the column's fractional digits.
func TestBinaryValueDateTimeText(t *testing.T) {
	c := &conn{cfg: NewConfig()}
	tests := []struct {
		typ      protocol.FieldType
		decimals uint8
		v        protocol.BinaryValue
		want     string
	}{
		{protocol.TypeDate, 0, protocol.BinaryValue{Kind: protocol.ValDateTime, Year: 2024, Month: 2, Day: 3}, "2024-02-03"},
		{protocol.TypeDateTime, 0, protocol.BinaryValue{Kind: protocol.ValDateTime, Year: 2024, Month: 2, Day: 3, Hour: 4, Minute: 5, Second: 6}, "2024-02-03 04:05:06"},
		{protocol.TypeDateTime, 3, protocol.BinaryValue{Kind: protocol.ValDateTime, Year: 2024, Month: 2, Day: 3, Hour: 4, Minute: 5, Second: 6, Micro: 45000}, "2024-02-03 04:05:06.045"},
		{protocol.TypeTimestamp, 6, protocol.BinaryValue{Kind: protocol.ValDateTime, Year: 1, Month: 1, Day: 1, Micro: 7}, "0001-01-01 00:00:00.000007"},
		{protocol.TypeDateTime, 0, protocol.BinaryValue{Kind: protocol.ValDateTime}, "0000-00-00 00:00:00"},
		{protocol.TypeTime, 0, protocol.BinaryValue{Kind: protocol.ValTime, Hour: 1, Minute: 2, Second: 3}, "01:02:03"},
		{protocol.TypeTime, 2, protocol.BinaryValue{Kind: protocol.ValTime, Neg: true, Days: 1, Hour: 2, Second: 3, Micro: 500000}, "-26:00:03.50"},
		{protocol.TypeTime, 0, protocol.BinaryValue{Kind: protocol.ValTime, Days: 34, Hour: 22, Minute: 59, Second: 59}, "838:59:59"},
	}
	var bx boxer
	var scratch []byte
	for _, tt := range tests {
		col := &protocol.Column{Name: "c", Type: tt.typ, Decimals: tt.decimals}
		got, err := c.binaryValue(col, 0, &tt.v, &scratch, &bx)
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got.([]byte)))
	}
}

func TestAppendDateTimeText(t *testing.T) {
	for want, tm := range map[string]time.Time{
		"2024-03-01 03:04:05.045":    time.Date(2024, 3, 1, 3, 4, 5, 45000000, time.UTC),
		"2024-03-01 03:04:05.000001": time.Date(2024, 3, 1, 3, 4, 5, 1000, time.UTC),
		"2024-03-01 03:04:05.1":      time.Date(2024, 3, 1, 3, 4, 5, 100000999, time.UTC),
		"0999-12-31 00:00:00":        time.Date(999, 12, 31, 0, 0, 0, 0, time.UTC),
		"0000-00-00":                 {},
	} {
		assert.Equal(t, want, string(appendDateTimeText(nil, tm)))
	}
}

// parseFloatExact agrees bit for bit with strconv.ParseFloat on every input it accepts, and accepts the
// usual DOUBLE text forms.
func TestParseFloatExact(t *testing.T) {
	accept := []string{"0", "-0", "1", "1.5", "-2.25", "123456789012345", "0.000000000000001", "99999.99999",
		"3.141592653589", "1000000", "0.1", "0.3", "-0.7"}
	reject := []string{"", "-", "1e10", "1.", ".5", "1..2", "1234567890123456", "12345678901234567",
		"inf", "NaN", "1.2.3", "+1", " 1", "0.12345678901234567"}
	for _, s := range accept {
		f, ok := parseFloatExact([]byte(s))
		require.True(t, ok, s)
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err)
		assert.Equal(t, math.Float64bits(want), math.Float64bits(f), s)
	}
	for _, s := range reject {
		_, ok := parseFloatExact([]byte(s))
		assert.False(t, ok, s)
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		var s string
		switch i % 3 {
		case 0:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.Intn(12))), 'f', -1, 64)
		case 1:
			s = strconv.FormatFloat(rng.Float64()*1e6, 'f', rng.Intn(10), 64)
		default:
			s = strconv.FormatInt(rng.Int63n(1e15), 10)
			if p := rng.Intn(len(s)); p > 0 {
				s = s[:p] + "." + s[p:]
			}
		}
		f, ok := parseFloatExact([]byte(s))
		if !ok {
			continue
		}
		want, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		require.Equal(t, math.Float64bits(want), math.Float64bits(f), s)
	}
}

func FuzzParseFloatExact(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "123.456", "1e5", "0.000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFloatExact([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(want) != math.Float64bits(got) {
			t.Fatalf("parseFloatExact(%q) = %v, ParseFloat = %v, %v", s, got, want, err)
		}
	})
}

// parseInt (with its unchecked fast path for up to 18 characters) agrees with strconv.ParseInt on every
// input: integers of every length around the int64 limits, and malformed ones.
func TestParseIntMatchesStrconv(t *testing.T) {
	in := []string{"", "-", "+1", "0", "-0", "7", "-7", "00012", "1a", "a1", " 1", "1 ", "1.0", "--1",
		"999999999999999999", "-999999999999999999", "1000000000000000000", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
		"123456789012345678", "12345678901234567:", "/23"}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 100000; i++ {
		n := rng.Int63() >> uint(rng.Intn(63))
		if i%2 == 1 {
			n = -n
		}
		in = append(in, strconv.FormatInt(n, 10))
	}
	for _, s := range in {
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && s != "" && s[0] != '+'
		got, ok := parseInt([]byte(s))
		require.Equal(t, wantOK, ok, "%q", s)
		if ok {
			require.Equal(t, want, got, "%q", s)
		}
	}
}
