package rawmysql

import (
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errValuerBoom = errors.New("valuer: boom")

type failingValuer struct{}

func (failingValuer) Value() (driver.Value, error) { return nil, errValuerBoom }

// database/sql wraps a CheckNamedValue error as "sql: converting argument $N type: <err>": the driver's error
// must not name the argument again, and a Valuer's own error comes back as it is (as with go-sql-driver).
func TestCheckNamedValueErrors(t *testing.T) {
	nv := driver.NamedValue{Ordinal: 11, Value: failingValuer{}}
	err := checkNamedValue(&nv)
	require.Error(t, err)
	assert.ErrorIs(t, err, errValuerBoom)
	assert.Equal(t, "valuer: boom", err.Error())

	nv = driver.NamedValue{Ordinal: 11, Value: &failingValuer{}} // through a pointer: the same
	err = checkNamedValue(&nv)
	assert.Equal(t, "valuer: boom", err.Error())

	nv = driver.NamedValue{Ordinal: 3, Value: struct{ A int }{1}}
	err = checkNamedValue(&nv)
	require.Error(t, err)
	assert.Equal(t, "rawmysql: unsupported type struct { A int }, a struct", err.Error())
	assert.False(t, strings.Contains(err.Error(), "$3"), "database/sql names the argument")
}
