package rawmysql

import (
	"database/sql"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterDriverName(t *testing.T) {
	require.NoError(t, RegisterDriverName("rawmysql_alias_test"))
	db, err := sql.Open("rawmysql_alias_test", testserver.Get(t).DSN(""))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Ping())
	_, ok := db.Driver().(*Driver)
	assert.True(t, ok, "the name opens rawmysql")

	// A taken name is an error, not a panic.
	err = RegisterDriverName("rawmysql_alias_test")
	require.ErrorContains(t, err, `a database/sql driver named "rawmysql_alias_test" is already registered`)
	require.Error(t, RegisterDriverName(DriverName))
	require.Error(t, RegisterDriverName(""))
}
