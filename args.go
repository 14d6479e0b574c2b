package rawmysql

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

var (
	_ driver.NamedValueChecker = (*conn)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)
)

// CheckNamedValue converts an argument to one of the forms rawmysql sends: nil, int64, uint64 (the full
// range), float64, bool, string, []byte, json.RawMessage or time.Time. Pointers are followed, driver.Valuer is
// called, and named kinds (type ID int64) become their base kind. Anything else is an error before any byte
// is sent.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error { return checkNamedValue(nv) }

// CheckNamedValue is the statement's argument converter (see conn.CheckNamedValue).
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error { return checkNamedValue(nv) }

func checkNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return fmt.Errorf("rawmysql: named parameters are not supported (argument @%s); use ? placeholders", nv.Name)
	}
	if isBatchRun(nv.Value) { // SendBatch's batch, for ExecContext (batch.go)
		return nil
	}
	v, err := convertArg(nv.Value, 0)
	if err != nil {
		return fmt.Errorf("rawmysql: argument $%d: %w", nv.Ordinal, err)
	}
	nv.Value = v
	return nil
}

var valuerType = reflect.TypeOf((*driver.Valuer)(nil)).Elem()

func convertArg(v any, depth int) (any, error) {
	if depth > 16 {
		return nil, fmt.Errorf("too many levels of pointers or Valuers")
	}
	switch x := v.(type) {
	case nil, int64, uint64, float64, bool, string, time.Time, json.RawMessage:
		return v, nil
	case []byte:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return uint64(x), nil
	case float32:
		return float32To64(x), nil
	case driver.Valuer:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Pointer && rv.IsNil() && rv.Type().Elem().Implements(valuerType) {
			return nil, nil // nil pointer to a value-receiver Valuer: NULL, as database/sql does
		}
		val, err := x.Value()
		if err != nil {
			return nil, err
		}
		return convertArg(val, depth+1)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return convertArg(rv.Elem().Interface(), depth+1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32:
		return float32To64(float32(rv.Float())), nil
	case reflect.Float64:
		return rv.Float(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
	}
	return nil, fmt.Errorf("unsupported type %T, a %s", v, rv.Kind())
}

// toParams converts checked arguments to COM_STMT_EXECUTE parameters.
func (c *conn) toParams(args []driver.NamedValue, dst []protocol.Param) ([]protocol.Param, error) {
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
			if c.timeAsText {
				p.Kind, p.S = protocol.ParamString, string(appendDateTimeText(nil, c.timeArg(v)))
			} else {
				p.Kind, p.T = protocol.ParamTime, c.timeArg(v)
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

// binaryValue converts a binary-protocol value to what the text protocol would have given, so both protocols
// scan identically. scratch holds formatted dates/times; it is reused for the next row. Values are boxed by bx.
func (c *conn) binaryValue(col *protocol.Column, v *protocol.BinaryValue, scratch *[]byte, bx *boxer) (driver.Value, error) {
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
		return bx.bytes(v.B), nil
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
		return bx.bytes(b[start:len(b):len(b)]), nil
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
		return bx.bytes(b[start:len(b):len(b)]), nil
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
