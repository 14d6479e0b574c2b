// Package migrate proves the README's golang-migrate recipe: its mysql driver given a *sql.DB opened with
// "rawmysql" (mysql.WithInstance), instead of a mysql:// URL, which golang-migrate opens with go-sql-driver.
package migrate

import (
	"database/sql"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testserver.Main(m) }

func TestGolangMigrate(t *testing.T) {
	// multiStatements=true lets a migration file hold several statements, as with go-sql-driver.
	db, err := sql.Open("rawmysql", testserver.Get(t).DSN("multiStatements=true"))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("DROP TABLE IF EXISTS recipe_migrate_versions, recipe_migrate_accounts")
	require.NoError(t, err)

	fsys := fstest.MapFS{
		"m/1_accounts.up.sql":   {Data: []byte("CREATE TABLE recipe_migrate_accounts (id INT PRIMARY KEY, name VARCHAR(20));\nINSERT INTO recipe_migrate_accounts VALUES (1, 'root');")},
		"m/1_accounts.down.sql": {Data: []byte("DROP TABLE recipe_migrate_accounts;")},
		"m/2_email.up.sql":      {Data: []byte("ALTER TABLE recipe_migrate_accounts ADD COLUMN email VARCHAR(50);")},
		"m/2_email.down.sql":    {Data: []byte("ALTER TABLE recipe_migrate_accounts DROP COLUMN email;")},
		"m/3_broken.up.sql":     {Data: []byte("ALTER TABLE recipe_migrate_no_such_table ADD COLUMN x INT;")},
		"m/3_broken.down.sql":   {Data: []byte("SELECT 1;")},
	}
	src, err := iofs.New(fsys, "m")
	require.NoError(t, err)
	drv, err := mysql.WithInstance(db, &mysql.Config{MigrationsTable: "recipe_migrate_versions"})
	require.NoError(t, err)
	m, err := migrate.NewWithInstance("iofs", src, "mysql", drv)
	require.NoError(t, err)

	require.NoError(t, m.Migrate(2))
	v, dirty, err := m.Version()
	require.NoError(t, err)
	assert.Equal(t, uint(2), v)
	assert.False(t, dirty)
	var name string
	var email sql.NullString
	require.NoError(t, db.QueryRow("SELECT name, email FROM recipe_migrate_accounts WHERE id = 1").Scan(&name, &email))
	assert.Equal(t, "root", name)

	// A failing migration reports the server's error (golang-migrate's database.Error holds it in OrigErr, without
	// Unwrap) and leaves the version dirty, as golang-migrate does with go-sql-driver.
	err = m.Up()
	var de database.Error
	require.ErrorAs(t, err, &de)
	var me *rawmysql.MySQLError
	require.ErrorAs(t, de.OrigErr, &me)
	assert.Equal(t, uint16(1146), me.Number)
	v, dirty, err = m.Version()
	require.NoError(t, err)
	assert.Equal(t, uint(3), v)
	assert.True(t, dirty)
	require.NoError(t, m.Force(2))
	require.NoError(t, m.Down())
	_, _, err = m.Version()
	assert.True(t, errors.Is(err, migrate.ErrNilVersion))
	_, err = db.Exec("DROP TABLE IF EXISTS recipe_migrate_versions")
	require.NoError(t, err)
}
