package rawmysql

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rawmysql/rawmysql/internal/errshape"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMySQLErrorText(t *testing.T) {
	me := &MySQLError{Number: 1045, SQLState: [5]byte{'2', '8', '0', '0', '0'}, Message: "Access denied"}
	assert.Equal(t, "Error 1045 (28000): Access denied", me.Error())
	assert.Equal(t, "28000", me.SQLStateString())
	assert.Equal(t, "Error 1105: no state", (&MySQLError{Number: 1105, Message: "no state"}).Error())
	assert.Equal(t, "", (&MySQLError{}).SQLStateString())
}

func TestDriverErrConversion(t *testing.T) {
	se := &protocol.ServerError{Number: 1062, SQLState: "23000", Message: "Duplicate entry"}
	err := driverErr(se)
	me, ok := err.(*MySQLError)
	require.True(t, ok, "a server error on its own becomes *MySQLError (type assertions work)")
	assert.Equal(t, &MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry"}, me)
	assert.ErrorIs(t, err, &MySQLError{Number: 1062})
	assert.NotErrorIs(t, err, &MySQLError{Number: 1064})
	assert.ErrorIs(t, err, &protocol.ServerError{Number: 1062})

	// Wrapped: the text stays the outer error's, both types are found.
	wrapped := driverErr(fmt.Errorf("outer: %w", se))
	assert.Equal(t, "outer: "+se.Error(), wrapped.Error())
	var me2 *MySQLError
	require.ErrorAs(t, wrapped, &me2)
	assert.Equal(t, uint16(1062), me2.Number)
	var se2 *protocol.ServerError
	require.ErrorAs(t, wrapped, &se2)

	// Errors without a server error pass through unchanged.
	plain := errors.New("x")
	assert.Same(t, plain, driverErr(plain))
	assert.Nil(t, driverErr(nil))
}

// errors.As and errors.Is work with another package's type of MySQLError's shape (go-sql-driver's).
func TestMySQLErrorAsOtherShape(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &MySQLError{Number: 1213, SQLState: [5]byte{'4', '0', '0', '0', '1'}, Message: "Deadlock"})
	var other *errshape.MySQLError
	require.ErrorAs(t, err, &other)
	assert.Equal(t, &errshape.MySQLError{Number: 1213, SQLState: [5]byte{'4', '0', '0', '0', '1'}, Message: "Deadlock"}, other)
	assert.ErrorIs(t, err, &errshape.MySQLError{Number: 1213})
	assert.NotErrorIs(t, err, &errshape.MySQLError{Number: 1})

	// A type of the same fields but another name is not filled.
	var not *errshape.NotMySQLError
	assert.False(t, errors.As(err, &not))
	assert.NotErrorIs(t, err, &errshape.NotMySQLError{Number: 1213})
	assert.False(t, (&MySQLError{}).As(nil))
}

func TestSetServerErrorType(t *testing.T) {
	t.Cleanup(func() { SetServerErrorType(nil) })
	SetServerErrorType(&errshape.MySQLError{})
	err := driverErr(&protocol.ServerError{Number: 1451, SQLState: "23000", Message: "fk"})
	other, ok := err.(*errshape.MySQLError)
	require.True(t, ok, "%T", err)
	assert.Equal(t, &errshape.MySQLError{Number: 1451, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "fk"}, other)
	assert.Equal(t, uint16(1451), serverError(err).Number, "the driver still finds the server error")
	assert.Equal(t, "23000", serverError(err).SQLStateString())

	SetServerErrorType(nil)
	_, ok = driverErr(&protocol.ServerError{Number: 1}).(*MySQLError)
	assert.True(t, ok)
	assert.Panics(t, func() { SetServerErrorType(&errshape.NotMySQLError{}) })
}
