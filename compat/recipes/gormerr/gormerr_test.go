// Package gormerr proves, with go-sql-driver's real *mysql.MySQLError, that errors.As and errors.Is written for
// go-sql-driver match rawmysql's server errors, and the README's one line that makes GORM's TranslateError work
// (GORM's dialector type-asserts err.(*mysql.MySQLError)). SetServerErrorType is process-wide, so this package
// runs alone.
package gormerr

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func TestMain(m *testing.M) { testserver.Main(m) }

type RecipeGormAccount struct {
	ID    uint   `gorm:"primaryKey"`
	Email string `gorm:"size:100;uniqueIndex"`
}

func TestGoSQLDriverErrorMatching(t *testing.T) {
	db, err := sql.Open("rawmysql", testserver.Get(t).DSN(""))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("SELEC 1")
	var gsd *mysql.MySQLError
	require.ErrorAs(t, err, &gsd, "errors.As with go-sql-driver's type")
	assert.Equal(t, uint16(1064), gsd.Number)
	assert.Equal(t, [5]byte{'4', '2', '0', '0', '0'}, gsd.SQLState)
	assert.Equal(t, gsd.Error(), err.Error(), "the same text as go-sql-driver's")
	assert.ErrorIs(t, err, &mysql.MySQLError{Number: 1064})
	assert.NotErrorIs(t, err, &mysql.MySQLError{Number: 1062})
}

func TestGormTranslateError(t *testing.T) {
	db, err := sql.Open("rawmysql", testserver.Get(t).DSN("parseTime=true"))
	require.NoError(t, err)
	defer db.Close()
	g, err := gorm.Open(gormmysql.New(gormmysql.Config{Conn: db}), &gorm.Config{TranslateError: true, Logger: logger.Discard})
	require.NoError(t, err)
	require.NoError(t, g.Migrator().DropTable(&RecipeGormAccount{}))
	require.NoError(t, g.AutoMigrate(&RecipeGormAccount{}))
	t.Cleanup(func() { _ = g.Migrator().DropTable(&RecipeGormAccount{}) })
	require.NoError(t, g.Create(&RecipeGormAccount{Email: "a@example.com"}).Error)

	// Without the line, GORM's type assertion to go-sql-driver's type misses rawmysql's error.
	err = g.Create(&RecipeGormAccount{Email: "a@example.com"}).Error
	require.Error(t, err)
	assert.False(t, errors.Is(err, gorm.ErrDuplicatedKey))

	// The one line: rawmysql returns server errors as go-sql-driver's type.
	rawmysql.SetServerErrorType(&mysql.MySQLError{})
	t.Cleanup(func() { rawmysql.SetServerErrorType(nil) })
	err = g.Create(&RecipeGormAccount{Email: "a@example.com"}).Error
	assert.ErrorIs(t, err, gorm.ErrDuplicatedKey)

	// Other server errors come back as *mysql.MySQLError.
	err = g.Exec("SELEC 1").Error
	me, ok := err.(*mysql.MySQLError)
	require.True(t, ok, "%T", err)
	assert.Equal(t, uint16(1064), me.Number)
}
