package rawmysql

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Text-protocol value conversions, chosen once per column of a result set (textKindOf).
const (
	textBytes    uint8 = iota // the raw bytes
	textInt                   // signed integer → int64
	textUint                  // unsigned integer → int64, or uint64 above MaxInt64
	textFloat32               // FLOAT → float32
	textFloat64               // DOUBLE → float64
	textDateTime              // DATE/DATETIME/TIMESTAMP with parseTime → time.Time
)

// textKindOf picks the conversion of a text-protocol column.
func (c *conn) textKindOf(col *protocol.Column) uint8 {
	switch col.Type {
	case protocol.TypeTiny, protocol.TypeShort, protocol.TypeInt24, protocol.TypeLong, protocol.TypeLongLong, protocol.TypeYear:
		if isUnsigned(col) {
			return textUint
		}
		return textInt
	case protocol.TypeFloat:
		return textFloat32
	case protocol.TypeDouble:
		return textFloat64
	case protocol.TypeDate, protocol.TypeNewDate, protocol.TypeDateTime, protocol.TypeDateTime2,
		protocol.TypeTimestamp, protocol.TypeTimestamp2:
		if c.cfg.ParseTime {
			return textDateTime
		}
	}
	return textBytes
}

// textValue converts a non-NULL text-protocol value of a column of the given kind (textKindOf). Integers
// become int64 (uint64 above MaxInt64 for UNSIGNED BIGINT), FLOAT float32, DOUBLE float64, dates time.Time
// with parseTime, everything else the raw bytes. Values are boxed by bx; i is the column's index.
func (c *conn) textValue(col *protocol.Column, i int, kind uint8, v []byte, bx *boxer) (driver.Value, error) {
	switch kind {
	case textInt:
		n, ok := parseInt(v)
		if !ok {
			return nil, badValue(col, v)
		}
		return bx.int64(n), nil
	case textUint:
		u, ok := parseUint(v)
		if !ok {
			return nil, badValue(col, v)
		}
		if u > math.MaxInt64 {
			return bx.uint64(u), nil
		}
		return bx.int64(int64(u)), nil
	case textFloat32, textFloat64:
		bits := 64
		if kind == textFloat32 {
			bits = 32
		}
		f, ok := parseFloatExact(v)
		if !ok || bits == 32 {
			var err error
			if f, err = strconv.ParseFloat(string(v), bits); err != nil {
				return nil, badValue(col, v)
			}
		}
		if bits == 32 {
			return bx.float32(float32(f)), nil // FLOAT is float32, as with go-sql-driver/mysql
		}
		return bx.float64(f), nil
	case textDateTime:
		t, err := parseDateTime(v, c.cfg.Loc)
		if err != nil {
			return nil, fmt.Errorf("rawmysql: column %q: %w", col.Name, err)
		}
		return bx.time(t), nil
	}
	return bx.bytesAt(i, v), nil
}

// float32To64 widens a FLOAT value to the float64 with the same shortest decimal form, so 1.1 stays 1.1
// (not 1.100000023841858) and the text and binary protocols agree.
func float32To64(f float32) float64 {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	d, _ := strconv.ParseFloat(string(b), 64)
	return d
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloatExact parses the common shape of a DOUBLE in the text protocol, [-]digits[.digits] with at most
// 15 significant digits (and at most 19 digits in all), without strconv: the digits form an integer below
// 10^15 < 2^53 and the scale a power of ten a float64 holds exactly, so one division gives the correctly
// rounded result (the result ParseFloat gives). ok is false for anything else (exponents, long mantissas),
// which the caller hands to strconv.ParseFloat.
func parseFloatExact(b []byte) (f float64, ok bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	// At most 19 digits and a dot: m cannot overflow (and leading zeros, which add nothing to m, cannot
	// make it wrap into the accepted range).
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var m uint64
	i := 0
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		m = m*10 + uint64(d)
	}
	scale := 0
	if i < len(b) {
		if b[i] != '.' || i == 0 || i == len(b)-1 {
			return 0, false
		}
		frac := b[i+1:]
		for _, c := range frac {
			d := c - '0'
			if d > 9 {
				return 0, false
			}
			m = m*10 + uint64(d)
		}
		scale = len(frac)
	} else if len(b) > 19 {
		return 0, false // 20 digits may not fit in m
	}
	if m >= 1e15 {
		return 0, false // more than 15 significant digits
	}
	f = float64(m) / pow10[scale]
	if neg {
		f = -f
	}
	return f, true
}

func badValue(col *protocol.Column, v []byte) error {
	if len(v) > 32 {
		v = v[:32]
	}
	return fmt.Errorf("rawmysql: column %q (%s): invalid value %q", col.Name, databaseTypeName(col), v)
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

func parseInt(b []byte) (int64, bool) {
	if n, ok := parseDigits(b); ok {
		return n, true
	}
	return parseIntSlow(b)
}

// parseDigits parses 1 to 18 decimal digits, which cannot overflow an int64: no check per digit. Small
// enough to be inlined where rows are converted; anything else (a sign, more digits) is refused.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	return n, true
}

func parseIntSlow(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	u, ok := parseUint(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// parseDateTime parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" and "YYYY-MM-DD HH:MM:SS.ffffff" in loc. A zero
// date ("0000-00-00 ...") gives the zero time.Time.
func parseDateTime(b []byte, loc *time.Location) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("invalid date/time value %q", b) }
	if len(b) != 10 && len(b) < 19 || len(b) > 26 {
		return bad()
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	if !ok1 || !ok2 || !ok3 || b[4] != '-' || b[7] != '-' {
		return bad()
	}
	var hour, min, sec, nsec int
	if len(b) >= 19 {
		var ok4, ok5, ok6 bool
		hour, ok4 = num(b[11:13])
		min, ok5 = num(b[14:16])
		sec, ok6 = num(b[17:19])
		if !ok4 || !ok5 || !ok6 || b[10] != ' ' && b[10] != 'T' || b[13] != ':' || b[16] != ':' {
			return bad()
		}
		if len(b) > 19 {
			if b[19] != '.' || len(b) == 20 {
				return bad()
			}
			frac := b[20:]
			f, ok := num(frac)
			if !ok {
				return bad()
			}
			for i := len(frac); i < 9; i++ {
				f *= 10
			}
			nsec = f
		}
	}
	if year == 0 && month == 0 && day == 0 {
		if hour == 0 && min == 0 && sec == 0 && nsec == 0 {
			return time.Time{}, nil
		}
	}
	if !validDateTime(year, month, day, hour, min, sec) {
		return time.Time{}, fmt.Errorf("date/time value %q has no time.Time equivalent (zero or out-of-range parts, e.g. stored under ALLOW_INVALID_DATES); scan it without parseTime", b)
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc), nil
}

// validDateTime reports whether the parts name a real calendar date and time, so time.Date does not silently
// turn, say, 2024-02-31 into March 2nd or 2024-00-00 into November 30th.
func validDateTime(year, month, day, hour, min, sec int) bool {
	if month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59 {
		return false
	}
	return day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// binaryValue converts a binary-protocol value to what the text protocol would have given, so both protocols
// scan identically. scratch holds formatted dates/times; it is reused for the next row. Values are boxed by bx; i
// is the column's index.
func (c *conn) binaryValue(col *protocol.Column, i int, v *protocol.BinaryValue, scratch *[]byte, bx *boxer) (driver.Value, error) {
	switch v.Kind {
	case protocol.ValNull:
		return nil, nil
	case protocol.ValInt:
		return bx.int64(v.I), nil
	case protocol.ValUint:
		if v.U > math.MaxInt64 {
			return bx.uint64(v.U), nil
		}
		return bx.int64(int64(v.U)), nil
	case protocol.ValFloat32:
		return bx.float32(float32(v.F)), nil // FLOAT is float32, as with go-sql-driver/mysql
	case protocol.ValFloat64:
		return bx.float64(v.F), nil
	case protocol.ValBytes:
		return bx.bytesAt(i, v.B), nil
	case protocol.ValDateTime:
		if c.cfg.ParseTime {
			if v.Year == 0 && v.Month == 0 && v.Day == 0 && v.Hour == 0 && v.Minute == 0 && v.Second == 0 && v.Micro == 0 {
				return bx.time(time.Time{}), nil
			}
			loc := c.cfg.Loc
			if loc == nil {
				loc = time.UTC
			}
			if !validDateTime(int(v.Year), int(v.Month), int(v.Day), int(v.Hour), int(v.Minute), int(v.Second)) {
				return nil, fmt.Errorf("rawmysql: column %q: date/time value %04d-%02d-%02d %02d:%02d:%02d has no time.Time equivalent (zero or out-of-range parts); scan it without parseTime",
					col.Name, v.Year, v.Month, v.Day, v.Hour, v.Minute, v.Second)
			}
			return bx.time(time.Date(int(v.Year), time.Month(v.Month), int(v.Day), int(v.Hour), int(v.Minute), int(v.Second), int(v.Micro)*1000, loc)), nil
		}
		start := len(*scratch)
		b := appendDigits(*scratch, int(v.Year), 4)
		b = append(b, '-')
		b = appendDigits(b, int(v.Month), 2)
		b = append(b, '-')
		b = appendDigits(b, int(v.Day), 2)
		if col.Type != protocol.TypeDate && col.Type != protocol.TypeNewDate {
			b = append(b, ' ')
			b = appendDigits(b, int(v.Hour), 2)
			b = append(b, ':')
			b = appendDigits(b, int(v.Minute), 2)
			b = append(b, ':')
			b = appendDigits(b, int(v.Second), 2)
			b = appendFraction(b, v.Micro, col.Decimals)
		}
		*scratch = b
		return bx.bytesAt(i, b[start:len(b):len(b)]), nil
	case protocol.ValTime:
		start := len(*scratch)
		b := *scratch
		if v.Neg {
			b = append(b, '-')
		}
		b = appendDigits(b, int(v.Days)*24+int(v.Hour), 2)
		b = append(b, ':')
		b = appendDigits(b, int(v.Minute), 2)
		b = append(b, ':')
		b = appendDigits(b, int(v.Second), 2)
		b = appendFraction(b, v.Micro, col.Decimals)
		*scratch = b
		return bx.bytesAt(i, b[start:len(b):len(b)]), nil
	}
	return nil, nil
}

func appendDigits(b []byte, n, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for n > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

func appendFraction(b []byte, micro uint32, decimals uint8) []byte {
	if decimals == 0 || decimals > 6 {
		return b
	}
	var tmp [6]byte
	for i := 5; i >= 0; i-- {
		tmp[i] = byte('0' + micro%10)
		micro /= 10
	}
	b = append(b, '.')
	return append(b, tmp[:decimals]...)
}

// toParams converts checked arguments to COM_STMT_EXECUTE parameters.
func (c *conn) toParams(args []driver.NamedValue, dst []protocol.Param) ([]protocol.Param, error) {
	if cap(dst) < len(args) {
		dst = make([]protocol.Param, 0, len(args)) // one allocation, not append's doublings
	}
	dst = dst[:0]
	for i := range args {
		// database/sql already ran CheckNamedValue; convertArg returns those canonical values as they are and
		// converts anything that bypassed it.
		val, err := convertArg(args[i].Value, 0)
		if err != nil {
			return nil, fmt.Errorf("rawmysql: argument $%d: %w", i+1, err)
		}
		var p protocol.Param
		switch v := val.(type) {
		case nil:
			p.Kind = protocol.ParamNull
		case int64:
			p.Kind, p.I = protocol.ParamInt, v
		case uint64:
			p.Kind, p.U = protocol.ParamUint, v
		case float64:
			p.Kind, p.F = protocol.ParamDouble, v
		case bool:
			p.Kind = protocol.ParamInt
			if v {
				p.I = 1
			}
		case string:
			p.Kind, p.S = protocol.ParamString, v
		case json.RawMessage:
			if v == nil {
				p.Kind = protocol.ParamNull
			} else {
				p.Kind, p.S = protocol.ParamString, string(v)
			}
		case []byte:
			if v == nil {
				p.Kind = protocol.ParamNull
			} else {
				p.Kind, p.B = protocol.ParamBytes, v
			}
		case time.Time:
			switch t := c.timeBind(v).(type) {
			case string:
				p.Kind, p.S = protocol.ParamString, t
			case time.Time:
				if c.timeAsText {
					p.Kind, p.S = protocol.ParamString, string(appendDateTimeText(nil, t))
				} else {
					p.Kind, p.T = protocol.ParamTime, t
				}
			}
		}
		dst = append(dst, p)
	}
	return dst, nil
}

// appendDateTimeText appends t's wall clock as DATETIME text, "2006-01-02 15:04:05" with the microseconds
// (".045", trailing zeros dropped) when there are any; the zero time.Time is the zero date "0000-00-00".
func appendDateTimeText(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "0000-00-00"...)
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, ' ')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		n := 6
		for us%10 == 0 {
			us /= 10
			n--
		}
		b = append(b, '.')
		b = appendDigits(b, us, n)
	}
	return b
}

// timeBind gives the value bound for t: timeArg's time, or the text "0001-01-01 00:00:00" when a time other
// than the zero time.Time became the zero instant (year 1 at midnight UTC, after timeTruncate): the encoders
// write the zero instant as the zero date, which only the zero time.Time itself means (as in go-sql-driver).
func (c *conn) timeBind(t time.Time) any {
	if a := c.timeArg(t); !a.IsZero() || t.IsZero() {
		return a
	}
	return "0001-01-01 00:00:00"
}

// timeArg puts t in the connection's location (the server stores wall-clock values) and truncates it.
func (c *conn) timeArg(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	if c.cfg.Loc != nil {
		t = t.In(c.cfg.Loc)
	}
	if c.cfg.TimeTruncate > 0 {
		t = t.Truncate(c.cfg.TimeTruncate)
	}
	return t
}
