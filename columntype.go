package rawmysql

import (
	"database/sql"
	"math"
	"reflect"
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

// ColumnTypeDatabaseTypeName returns the type name as go-sql-driver/mysql spells it ("INT", "UNSIGNED BIGINT",
// "VARCHAR", ...).
func (r *rows) ColumnTypeDatabaseTypeName(i int) string { return databaseTypeName(&r.res.Columns[i]) }

// ColumnTypeScanType returns a Go type a value of the column can be scanned into.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	return scanType(&r.res.Columns[i], r.c.cfg.ParseTime)
}

// ColumnTypeNullable reports whether the column may hold NULL.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	return r.res.Columns[i].Flags&protocol.FlagNotNull == 0, true
}

// ColumnTypeLength returns the length of variable-length text and binary columns (in characters for text).
func (r *rows) ColumnTypeLength(i int) (length int64, ok bool) {
	return columnLength(&r.res.Columns[i])
}

// ColumnTypePrecisionScale returns precision and scale of DECIMAL columns (and the fractional seconds of
// time columns as both precision and scale, as go-sql-driver/mysql does).
func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	return precisionScale(&r.res.Columns[i])
}
