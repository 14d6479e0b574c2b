// Package recipes proves the README's recipes for libraries that open the driver by the name "mysql": ent,
// xorm, dbr and goose, each doing real work (schema, writes, reads) through rawmysql on MariaDB. No package here
// links github.com/go-sql-driver/mysql, so rawmysql.RegisterDriverName("mysql") can take the name.
// golang-migrate (whose mysql driver imports go-sql-driver) is in ./migrate, GORM's TranslateError in ./gormerr.
package recipes

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"testing"
	"testing/fstest"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	entschema "entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
	"github.com/gocraft/dbr/v2"
	dbrdialect "github.com/gocraft/dbr/v2/dialect"
	"github.com/pressly/goose/v3"
	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"xorm.io/xorm"
	"xorm.io/xorm/dialects"
)

func TestMain(m *testing.M) {
	// The one-line recipe for code that calls sql.Open("mysql", dsn) itself.
	if err := rawmysql.RegisterDriverName("mysql"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testserver.Main(m)
}

func dsn(t *testing.T) string { return testserver.Get(t).DSN("parseTime=true&multiStatements=true") }

func openRaw(t *testing.T) *sql.DB {
	db, err := sql.Open("rawmysql", dsn(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// requireRawmysql checks that db's driver is rawmysql, however it was opened.
func requireRawmysql(t *testing.T, db *sql.DB) {
	_, ok := db.Driver().(*rawmysql.Driver)
	require.True(t, ok, "driver is %T", db.Driver())
}

// ent: entsql.OpenDB(dialect.MySQL, db) over a *sql.DB opened with "rawmysql" (then ent.NewClient(ent.Driver(drv))
// in generated code). ent's migration engine (Atlas) inspects and creates the schema through it.
func TestEnt(t *testing.T) {
	ctx := context.Background()
	db := openRaw(t)
	drv := entsql.OpenDB(dialect.MySQL, db)
	id := entschema.Column{Name: "id", Type: field.TypeInt, Increment: true}
	name := entschema.Column{Name: "name", Type: field.TypeString, Size: 100}
	tbl := entschema.NewTable("recipe_ent_users").AddPrimary(&id).AddColumn(&name)
	_, err := db.Exec("DROP TABLE IF EXISTS recipe_ent_users")
	require.NoError(t, err)
	m, err := entschema.NewMigrate(drv)
	require.NoError(t, err)
	require.NoError(t, m.Create(ctx, tbl))
	require.NoError(t, m.Create(ctx, tbl), "a second run finds nothing to change")

	var res sql.Result
	ins, args := entsql.Dialect(dialect.MySQL).Insert("recipe_ent_users").Columns("name").Values("ada").Values("bob").Query()
	require.NoError(t, drv.Exec(ctx, ins, args, &res))
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	sel, args := entsql.Dialect(dialect.MySQL).Select("name").From(entsql.Table("recipe_ent_users")).OrderBy("id").Query()
	var rows entsql.Rows
	require.NoError(t, drv.Query(ctx, sel, args, &rows))
	var names []string
	require.NoError(t, entsql.ScanSlice(rows, &names))
	require.NoError(t, rows.Close())
	assert.Equal(t, []string{"ada", "bob"}, names)

	// entsql.Open(dialect.MySQL, dsn) opens the name "mysql": rawmysql after RegisterDriverName("mysql").
	byName, err := entsql.Open(dialect.MySQL, dsn(t))
	require.NoError(t, err)
	defer byName.Close()
	requireRawmysql(t, byName.DB())
}

// xorm: the "rawmysql" driver name mapped to xorm's MySQL driver (dialects.RegisterDriver), then
// xorm.NewEngine("rawmysql", dsn).
func TestXorm(t *testing.T) {
	dialects.RegisterDriver("rawmysql", dialects.QueryDriver("mysql"))
	engine, err := xorm.NewEngine("rawmysql", dsn(t))
	require.NoError(t, err)
	defer engine.Close()
	requireRawmysql(t, engine.DB().DB)

	type RecipeXormItem struct {
		ID    int64  `xorm:"pk autoincr 'id'"`
		Name  string `xorm:"varchar(50) notnull"`
		Count int
	}
	require.NoError(t, engine.DropTables(new(RecipeXormItem)))
	require.NoError(t, engine.Sync(new(RecipeXormItem)))
	require.NoError(t, engine.Sync(new(RecipeXormItem)), "a second Sync finds the table as created")
	n, err := engine.Insert(&RecipeXormItem{Name: "a", Count: 1}, &RecipeXormItem{Name: "b", Count: 2})
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	var items []RecipeXormItem
	require.NoError(t, engine.Where("count > ?", 1).Find(&items))
	require.Len(t, items, 1)
	assert.Equal(t, "b", items[0].Name)
	_, err = engine.Exec("DROP TABLE recipe_xorm_item")
	require.NoError(t, err)

	// xorm.NewEngine("mysql", dsn) is rawmysql after RegisterDriverName("mysql").
	byName, err := xorm.NewEngine("mysql", dsn(t))
	require.NoError(t, err)
	defer byName.Close()
	requireRawmysql(t, byName.DB().DB)
}

// dbr: a dbr.Connection built on a *sql.DB opened with "rawmysql" and dbr's MySQL dialect.
func TestDbr(t *testing.T) {
	conn := &dbr.Connection{DB: openRaw(t), Dialect: dbrdialect.MySQL, EventReceiver: &dbr.NullEventReceiver{}}
	sess := conn.NewSession(nil)
	_, err := sess.Exec("DROP TABLE IF EXISTS recipe_dbr")
	require.NoError(t, err)
	_, err = sess.Exec("CREATE TABLE recipe_dbr (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(50), score DOUBLE)")
	require.NoError(t, err)
	res, err := sess.InsertInto("recipe_dbr").Columns("title", "score").Values("x", 1.5).Values("y", 2.5).Exec()
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	assert.Equal(t, int64(2), n)
	type row struct {
		ID    int64
		Title string
		Score float64
	}
	var got []row
	_, err = sess.Select("*").From("recipe_dbr").Where(dbr.Gt("score", 2)).Load(&got)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "y", got[0].Title)
	tx, err := sess.Begin()
	require.NoError(t, err)
	_, err = tx.Update("recipe_dbr").Set("score", 9).Where("title = ?", "x").Exec()
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	var score float64
	require.NoError(t, sess.Select("score").From("recipe_dbr").Where("title = ?", "x").LoadOne(&score))
	assert.Equal(t, 1.5, score, "rolled back")
	_, err = sess.Exec("DROP TABLE recipe_dbr")
	require.NoError(t, err)

	// dbr.Open("mysql", dsn, nil) is rawmysql after RegisterDriverName("mysql").
	byName, err := dbr.Open("mysql", dsn(t), nil)
	require.NoError(t, err)
	defer byName.Close()
	requireRawmysql(t, byName.DB)
}

// goose: a Provider with goose.DialectMySQL over a *sql.DB opened with "rawmysql".
func TestGoose(t *testing.T) {
	ctx := context.Background()
	db := openRaw(t)
	_, err := db.Exec("DROP TABLE IF EXISTS goose_db_version, recipe_goose_notes")
	require.NoError(t, err)
	fsys := fstest.MapFS{
		"00001_notes.sql": {Data: []byte("-- +goose Up\nCREATE TABLE recipe_goose_notes (id INT PRIMARY KEY, body TEXT);\n" +
			"-- +goose Down\nDROP TABLE recipe_goose_notes;\n")},
		"00002_seed.sql": {Data: []byte("-- +goose Up\nINSERT INTO recipe_goose_notes VALUES (1, 'one'), (2, 'two');\n" +
			"-- +goose Down\nDELETE FROM recipe_goose_notes;\n")},
	}
	p, err := goose.NewProvider(goose.DialectMySQL, db, fsys)
	require.NoError(t, err)
	results, err := p.Up(ctx)
	require.NoError(t, err)
	require.Len(t, results, 2)
	v, err := p.GetDBVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM recipe_goose_notes").Scan(&n))
	assert.Equal(t, 2, n)
	_, err = p.DownTo(ctx, 0)
	require.NoError(t, err)
	var tables []string
	rows, err := db.Query("SHOW TABLES LIKE 'recipe_goose_notes'")
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		tables = append(tables, s)
	}
	require.NoError(t, rows.Err())
	assert.False(t, slices.Contains(tables, "recipe_goose_notes"), "migrated down")
	_, err = db.Exec("DROP TABLE IF EXISTS goose_db_version")
	require.NoError(t, err)

	// goose.OpenDBWithDriver("mysql", dsn) is rawmysql after RegisterDriverName("mysql").
	byName, err := goose.OpenDBWithDriver("mysql", dsn(t))
	require.NoError(t, err)
	defer byName.Close()
	requireRawmysql(t, byName)
}
