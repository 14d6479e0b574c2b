package rawmysql

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

var (
	scanTypeInt8      = reflect.TypeOf(int8(0))
	scanTypeInt16     = reflect.TypeOf(int16(0))
	scanTypeInt32     = reflect.TypeOf(int32(0))
	scanTypeInt64     = reflect.TypeOf(int64(0))
	scanTypeUint8     = reflect.TypeOf(uint8(0))
	scanTypeUint16    = reflect.TypeOf(uint16(0))
	scanTypeUint32    = reflect.TypeOf(uint32(0))
	scanTypeUint64    = reflect.TypeOf(uint64(0))
	scanTypeFloat32   = reflect.TypeOf(float32(0))
	scanTypeFloat64   = reflect.TypeOf(float64(0))
	scanTypeString    = reflect.TypeOf("")
	scanTypeBytes     = reflect.TypeOf([]byte(nil))
	scanTypeTime      = reflect.TypeOf(time.Time{})
	scanTypeNullInt   = reflect.TypeOf(sql.NullInt64{})
	scanTypeNullUint  = reflect.TypeOf(sql.Null[uint64]{})
	scanTypeNullFloat = reflect.TypeOf(sql.NullFloat64{})
	scanTypeNullStr   = reflect.TypeOf(sql.NullString{})
	scanTypeNullTime  = reflect.TypeOf(sql.NullTime{})
	scanTypeAny       = reflect.TypeOf(new(any)).Elem()
)

func isUnsigned(c *protocol.Column) bool { return c.Flags&protocol.FlagUnsigned != 0 }
func isNotNull(c *protocol.Column) bool  { return c.Flags&protocol.FlagNotNull != 0 }
func isBinary(c *protocol.Column) bool   { return c.Charset == protocol.BinaryCollationID }

// databaseTypeName spells the column type as go-sql-driver/mysql does, so code switching on it keeps working.
func databaseTypeName(c *protocol.Column) string {
	u := func(s string) string {
		if isUnsigned(c) {
			return "UNSIGNED " + s
		}
		return s
	}
	bin := func(b, t string) string {
		if isBinary(c) {
			return b
		}
		return t
	}
	switch c.Type {
	case protocol.TypeBit:
		return "BIT"
	case protocol.TypeBlob:
		return bin("BLOB", "TEXT")
	case protocol.TypeTinyBlob:
		return bin("TINYBLOB", "TINYTEXT")
	case protocol.TypeMediumBlob:
		return bin("MEDIUMBLOB", "MEDIUMTEXT")
	case protocol.TypeLongBlob:
		return bin("LONGBLOB", "LONGTEXT")
	case protocol.TypeDate, protocol.TypeNewDate:
		return "DATE"
	case protocol.TypeDateTime, protocol.TypeDateTime2:
		return "DATETIME"
	case protocol.TypeDecimal, protocol.TypeNewDecimal:
		return "DECIMAL"
	case protocol.TypeDouble:
		return "DOUBLE"
	case protocol.TypeEnum:
		return "ENUM"
	case protocol.TypeFloat:
		return "FLOAT"
	case protocol.TypeGeometry:
		return "GEOMETRY"
	case protocol.TypeInt24:
		return u("MEDIUMINT")
	case protocol.TypeJSON:
		return "JSON"
	case protocol.TypeLong:
		return u("INT")
	case protocol.TypeLongLong:
		return u("BIGINT")
	case protocol.TypeNull:
		return "NULL"
	case protocol.TypeSet:
		return "SET"
	case protocol.TypeShort:
		return u("SMALLINT")
	case protocol.TypeString:
		if c.Flags&protocol.FlagEnum != 0 {
			return "ENUM"
		}
		if c.Flags&protocol.FlagSet != 0 {
			return "SET"
		}
		return bin("BINARY", "CHAR")
	case protocol.TypeTime, protocol.TypeTime2:
		return "TIME"
	case protocol.TypeTimestamp, protocol.TypeTimestamp2:
		return "TIMESTAMP"
	case protocol.TypeTiny:
		return u("TINYINT")
	case protocol.TypeVarChar, protocol.TypeVarString:
		return bin("VARBINARY", "VARCHAR")
	case protocol.TypeYear:
		return "YEAR"
	case protocol.TypeVector:
		return "VECTOR"
	}
	return ""
}

// scanType is a Go type a value of the column scans into directly.
func scanType(c *protocol.Column, parseTime bool) reflect.Type {
	nn := isNotNull(c)
	switch c.Type {
	case protocol.TypeTiny:
		if !nn {
			return scanTypeNullInt
		}
		if isUnsigned(c) {
			return scanTypeUint8
		}
		return scanTypeInt8
	case protocol.TypeShort, protocol.TypeYear:
		if !nn {
			return scanTypeNullInt
		}
		if isUnsigned(c) {
			return scanTypeUint16
		}
		return scanTypeInt16
	case protocol.TypeInt24, protocol.TypeLong:
		if !nn {
			return scanTypeNullInt
		}
		if isUnsigned(c) {
			return scanTypeUint32
		}
		return scanTypeInt32
	case protocol.TypeLongLong:
		if !nn {
			if isUnsigned(c) {
				return scanTypeNullUint
			}
			return scanTypeNullInt
		}
		if isUnsigned(c) {
			return scanTypeUint64
		}
		return scanTypeInt64
	case protocol.TypeFloat:
		if !nn {
			return scanTypeNullFloat
		}
		return scanTypeFloat32
	case protocol.TypeDouble:
		if !nn {
			return scanTypeNullFloat
		}
		return scanTypeFloat64
	case protocol.TypeDate, protocol.TypeNewDate, protocol.TypeDateTime, protocol.TypeDateTime2,
		protocol.TypeTimestamp, protocol.TypeTimestamp2:
		if parseTime {
			if nn {
				return scanTypeTime
			}
			return scanTypeNullTime
		}
	case protocol.TypeBit, protocol.TypeGeometry, protocol.TypeVector:
		return scanTypeBytes
	case protocol.TypeTinyBlob, protocol.TypeMediumBlob, protocol.TypeLongBlob, protocol.TypeBlob,
		protocol.TypeVarChar, protocol.TypeVarString, protocol.TypeString:
		if isBinary(c) {
			return scanTypeBytes
		}
	case protocol.TypeNull:
		return scanTypeAny
	}
	if nn {
		return scanTypeString
	}
	return scanTypeNullStr
}

// charsetMaxLen is the maximum bytes per character of the charsets servers commonly use.
var charsetMaxLen = map[string]int64{
	"utf8mb4": 4, "utf8mb3": 3, "utf8": 3, "utf16": 4, "utf16le": 4, "utf32": 4, "ucs2": 2,
	"big5": 2, "sjis": 2, "cp932": 2, "gbk": 2, "gb2312": 2, "gb18030": 4, "euckr": 2, "ujis": 3, "eucjpms": 3,
}

// columnLength reports the declared length of text (in characters) and binary (in bytes) columns.
func columnLength(c *protocol.Column) (int64, bool) {
	switch c.Type {
	case protocol.TypeTinyBlob, protocol.TypeMediumBlob, protocol.TypeLongBlob, protocol.TypeBlob,
		protocol.TypeVarChar, protocol.TypeVarString, protocol.TypeString, protocol.TypeJSON,
		protocol.TypeBit, protocol.TypeGeometry, protocol.TypeEnum, protocol.TypeSet:
	default:
		return 0, false
	}
	n := int64(c.Length)
	if c.Type == protocol.TypeJSON || c.Type == protocol.TypeGeometry || n >= math.MaxUint32 {
		return math.MaxInt64, true
	}
	if !isBinary(c) && c.Type != protocol.TypeBit {
		if m := charsetMaxLen[protocol.CollationCharset(uint8(c.Charset))]; m > 1 && c.Charset <= 255 {
			n /= m
		}
	}
	return n, true
}

// precisionScale reports DECIMAL precision/scale and the fractional-second digits of time columns.
// floatNoDecimals is the decimals a FLOAT or DOUBLE column declared without a scale reports (NOT_FIXED_DEC).
const floatNoDecimals = 0x1f

func precisionScale(c *protocol.Column) (int64, int64, bool) {
	switch c.Type {
	case protocol.TypeDecimal, protocol.TypeNewDecimal:
		p := int64(c.Length)
		if c.Decimals > 0 {
			p-- // decimal point
		}
		if !isUnsigned(c) && p > 0 {
			p-- // sign
		}
		return p, int64(c.Decimals), true
	case protocol.TypeDateTime, protocol.TypeDateTime2, protocol.TypeTimestamp, protocol.TypeTimestamp2,
		protocol.TypeTime, protocol.TypeTime2:
		if c.Decimals <= 6 {
			// Precision and scale are both the fractional-second digits, as go-sql-driver/mysql reports them.
			return int64(c.Decimals), int64(c.Decimals), true
		}
	case protocol.TypeFloat, protocol.TypeDouble:
		// As go-sql-driver/mysql: no fixed precision; the scale is the declared number of decimals, or also
		// unbounded when none was declared (the server sends 31 then).
		if c.Decimals == floatNoDecimals {
			return math.MaxInt64, math.MaxInt64, true
		}
		return math.MaxInt64, int64(c.Decimals), true
	}
	return 0, 0, false
}

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
// with parseTime, everything else the raw bytes. Values are boxed by bx.
func (c *conn) textValue(col *protocol.Column, kind uint8, v []byte, bx *boxer) (driver.Value, error) {
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
	return bx.bytes(v), nil
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
// 15 significant digits and 22 decimals, without strconv: the digits form an integer below 2^53 and the scale a power of ten
// a float64 holds exactly, so one division gives the correctly rounded result (the result ParseFloat gives).
// ok is false for anything else (exponents, long mantissas), which the caller hands to strconv.ParseFloat.
func parseFloatExact(b []byte) (f float64, ok bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg = true
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 24 {
		return 0, false
	}
	var m uint64
	digits, scale, dot := 0, 0, false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			if m != 0 {
				if digits++; digits > 15 {
					return 0, false
				}
			}
			if dot {
				scale++
			}
		case c == '.' && !dot && i > 0 && i < len(b)-1:
			dot = true
		default:
			return 0, false
		}
	}
	if scale >= len(pow10) {
		return 0, false
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
