package rawmysql

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
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
		// database/sql names the argument ("sql: converting argument $N type: ..."). A Valuer's own error is
		// returned as it is, as go-sql-driver does; an argument rawmysql cannot send says so.
		if ve, ok := err.(*valuerError); ok {
			return ve.err
		}
		return fmt.Errorf("rawmysql: %w", err)
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
			return nil, &valuerError{err}
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

func namedValues(args []driver.Value) []driver.NamedValue {
	if len(args) == 0 {
		return nil
	}
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

// valuerError is the error of an argument's Value method, reported as it is; its text is the Valuer's.
type valuerError struct{ err error }

func (e *valuerError) Error() string { return e.err.Error() }
func (e *valuerError) Unwrap() error { return e.err }

// argCountError reports a wrong number of arguments before anything is sent.
type argCountError struct{ want, got int }

func (e *argCountError) Error() string {
	return "rawmysql: statement expects " + strconv.Itoa(e.want) + " arguments, got " + strconv.Itoa(e.got)
}
