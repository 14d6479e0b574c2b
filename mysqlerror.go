package rawmysql

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"

	"github.com/rawmysql/rawmysql/protocol"
)

// MySQLError is an error returned by the server, with the fields and the Error() text of go-sql-driver/mysql's
// MySQLError: Number (e.g. 1062), SQLState (e.g. "23000" as five bytes, zero when the server sent none) and
// Message. Match it with errors.As(err, &me) where me is a *MySQLError, or by number with
// errors.Is(err, &MySQLError{Number: 1062}).
//
// errors.As also fills a target of go-sql-driver's type (a **mysql.MySQLError), so code written for that driver
// keeps matching server errors without change; see SetServerErrorType for code that type-asserts instead.
type MySQLError struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

// Error formats the error as go-sql-driver/mysql does: "Error 1062 (23000): Duplicate entry ...", or
// "Error 1062: ..." without a SQLSTATE.
func (e *MySQLError) Error() string {
	if e.SQLState != [5]byte{} {
		return fmt.Sprintf("Error %d (%s): %s", e.Number, e.SQLState[:], e.Message)
	}
	return fmt.Sprintf("Error %d: %s", e.Number, e.Message)
}

// Is reports whether target is a *MySQLError (or a *protocol.ServerError, or a pointer to another package's
// struct of MySQLError's shape such as go-sql-driver's) with the same Number, so
// errors.Is(err, &MySQLError{Number: 1062}) matches any duplicate-key error.
func (e *MySQLError) Is(target error) bool {
	switch t := target.(type) {
	case *MySQLError:
		return t.Number == e.Number
	case *protocol.ServerError:
		return t.Number == e.Number
	}
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() || !mysqlErrorShaped(v.Type().Elem()) {
		return false
	}
	return uint16(v.Elem().Field(0).Uint()) == e.Number
}

// As fills target when it points to a pointer to another package's struct of MySQLError's shape — a type named
// MySQLError with exactly the fields Number uint16, SQLState [5]byte and Message string, such as
// go-sql-driver/mysql's — so errors.As(err, &mysqlErr) written for that driver matches rawmysql's errors.
func (e *MySQLError) As(target any) bool {
	pv := reflect.ValueOf(target)
	if pv.Kind() != reflect.Pointer || pv.IsNil() {
		return false
	}
	t := pv.Elem().Type()
	if t.Kind() != reflect.Pointer || !mysqlErrorShaped(t.Elem()) {
		return false
	}
	pv.Elem().Set(newShapedError(t.Elem(), e))
	return true
}

// SQLStateString returns SQLState as a string ("" when the server sent none).
func (e *MySQLError) SQLStateString() string {
	if e.SQLState == [5]byte{} {
		return ""
	}
	return string(e.SQLState[:])
}

var mysqlErrorType = reflect.TypeFor[MySQLError]()

// mysqlErrorShaped reports whether t is a struct named MySQLError with exactly MySQLError's fields and types.
func mysqlErrorShaped(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t.Name() != "MySQLError" || t.NumField() != mysqlErrorType.NumField() {
		return false
	}
	for i := range t.NumField() {
		f, want := t.Field(i), mysqlErrorType.Field(i)
		if f.Name != want.Name || f.Type != want.Type {
			return false
		}
	}
	return true
}

// newShapedError returns a new *t (t of MySQLError's shape) holding e's values.
func newShapedError(t reflect.Type, e *MySQLError) reflect.Value {
	v := reflect.New(t)
	v.Elem().Field(0).SetUint(uint64(e.Number))
	reflect.Copy(v.Elem().Field(1), reflect.ValueOf(e.SQLState))
	v.Elem().Field(2).SetString(e.Message)
	return v
}

// protocolError returns e as the protocol package's error type.
func (e *MySQLError) protocolError() *protocol.ServerError {
	return &protocol.ServerError{Number: e.Number, SQLState: e.SQLStateString(), Message: e.Message}
}

// serverError finds the server error in err's chain, whichever type it was returned as (*MySQLError, the type
// chosen with SetServerErrorType, or *protocol.ServerError); nil when err holds none.
func serverError(err error) *MySQLError {
	if err == nil {
		return nil
	}
	var me *MySQLError
	if errors.As(err, &me) {
		return me
	}
	if t := serverErrorType.Load(); t != nil {
		target := reflect.New(reflect.PointerTo(*t))
		if errors.As(err, target.Interface()) {
			v := target.Elem().Elem()
			me = &MySQLError{Number: uint16(v.Field(0).Uint()), Message: v.Field(2).String()}
			reflect.Copy(reflect.ValueOf(&me.SQLState).Elem(), v.Field(1))
			return me
		}
	}
	var se *protocol.ServerError
	if errors.As(err, &se) {
		me = &MySQLError{Number: se.Number, Message: se.Message}
		copy(me.SQLState[:], se.SQLState)
		return me
	}
	return nil
}

// serverErrorType is the type SetServerErrorType chose (nil: *MySQLError).
var serverErrorType atomic.Pointer[reflect.Type]

// SetServerErrorType makes the driver return server errors as values of another package's error type of
// MySQLError's shape, for code that type-asserts instead of calling errors.As — GORM's TranslateError
// (err.(*mysql.MySQLError)) is the known case. With go-sql-driver's type (one line, process-wide, like the
// Register functions):
//
//	rawmysql.SetServerErrorType(&mysql.MySQLError{})
//
// The returned errors are then *mysql.MySQLError values (errors.Is by number still works through that type's
// own Is method); errors.As(err, &me) with a *rawmysql.MySQLError no longer matches them. Passing nil restores
// *MySQLError. It panics when sample is not a pointer to a struct of MySQLError's shape.
func SetServerErrorType(sample error) {
	if sample == nil {
		serverErrorType.Store(nil)
		return
	}
	t := reflect.TypeOf(sample)
	if t.Kind() != reflect.Pointer || !mysqlErrorShaped(t.Elem()) {
		panic(fmt.Sprintf("rawmysql: SetServerErrorType: %T is not a pointer to a struct named MySQLError with the fields Number uint16, SQLState [5]byte, Message string", sample))
	}
	t = t.Elem()
	serverErrorType.Store(&t)
}

// newMySQLError converts the protocol's server error into the error returned to the application.
func newMySQLError(se *protocol.ServerError) error {
	me := &MySQLError{Number: se.Number, Message: se.Message}
	copy(me.SQLState[:], se.SQLState)
	if t := serverErrorType.Load(); t != nil {
		if err, ok := newShapedError(*t, me).Interface().(error); ok {
			return err
		}
	}
	return me
}

// driverErr makes errors read as go-sql-driver/mysql's do. It converts a *protocol.ServerError in err into the MySQLError returned to the application: a server
// error on its own becomes the MySQLError; one wrapped inside another error (an expired password, a refused
// read-only statement) stays wrapped, with the MySQLError added to the chain so errors.As and errors.Is find it.
//
// A LOAD DATA LOCAL INFILE request refused for an unregistered name reads as go-sql-driver's refusal text.
func driverErr(err error) error {
	if se, ok := err.(*protocol.ServerError); ok {
		return newMySQLError(se)
	}
	if le, ok := err.(*protocol.LocalInfileError); ok {
		if r, ok := le.Err.(*infileRefusedError); ok {
			return &infileRefusal{err: err, msg: r.msg}
		}
	}
	var se *protocol.ServerError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	return &wrappedServerError{err: err, me: newMySQLError(se)}
}

// wrappedServerError is an error whose chain holds a server error: its text is the outer error's, and both the
// outer chain and the MySQLError are reachable by errors.As and errors.Is.
type wrappedServerError struct {
	err error
	me  error
}

func (w *wrappedServerError) Error() string   { return w.err.Error() }
func (w *wrappedServerError) Unwrap() []error { return []error{w.err, w.me} }
