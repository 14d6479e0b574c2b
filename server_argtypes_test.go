package rawmysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type argNamedInt int
type argNamedString string

// everyArgType is one argument of every Go type the driver binds, with the value SELECT ? gives back
// (parseTime=true). Consecutive entries differ in the type they bind, so a statement that kept an earlier
// execution's parameter types would convert them.
func everyArgType() []struct {
	name string
	arg  any
	want any
} {
	ts := time.Date(2024, 3, 1, 12, 34, 56, 45000000, time.UTC)
	seven := 7
	return []struct {
		name string
		arg  any
		want any
	}{
		{"int64", int64(-42), int64(-42)},
		{"string", "hello", []byte("hello")},
		{"int", 1, int64(1)},
		{"empty string", "", []byte("")},
		{"float64", 2.5, 2.5},
		{"bytes", []byte("xy\x00z"), []byte("xy\x00z")},
		{"uint64 max", uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{"json.RawMessage", json.RawMessage(`{"a":1}`), []byte(`{"a":1}`)},
		{"int8", int8(-8), int64(-8)},
		{"sql.NullString", sql.NullString{String: "ns", Valid: true}, []byte("ns")},
		{"int16", int16(-16), int64(-16)},
		{"time.Time", ts, ts},
		{"int32", int32(-32), int64(-32)},
		{"named string", argNamedString("named"), []byte("named")},
		{"uint", uint(5), int64(5)},
		{"float32", float32(0.1), 0.1},
		{"uint8", uint8(8), int64(8)},
		{"bool true", true, int64(1)},
		{"uint16", uint16(16), int64(16)},
		{"sql.NullInt64", sql.NullInt64{Int64: 7, Valid: true}, int64(7)},
		{"uint32", uint32(math.MaxUint32), int64(math.MaxUint32)},
		{"nil", nil, nil},
		{"string after nil", "after", []byte("after")},
		{"named int", argNamedInt(-3), int64(-3)},
		{"*int", &seven, int64(7)},
		{"sql.NullFloat64", sql.NullFloat64{Float64: -0.5, Valid: true}, -0.5},
		{"bool false", false, int64(0)},
		{"sql.NullTime", sql.NullTime{Time: ts, Valid: true}, ts},
		{"empty bytes", []byte{}, []byte{}},
		{"uint64 2^63", uint64(1) << 63, uint64(1) << 63},
		{"float32 large", float32(3.4e38), 3.4e38},
		{"string again", "bye", []byte("bye")},
	}
}

// Issue 11: one cached statement text run with arguments of every Go type in turn gives each value back
// exactly. MySQL fixes a prepared statement's parameter types at its first execution and converts later
// arguments to them ("hello" came back as float64 0); the driver must use a statement bound to the arguments'
// own types. The reference is the same query on a fresh statement per execution (stmtCacheSize=0), as
// go-sql-driver runs it.
func TestCachedStatementEveryArgType(t *testing.T) {
	db := openDB(t, "parseTime=true&loc=UTC")
	ref := openDB(t, "parseTime=true&loc=UTC&stmtCacheSize=0")
	t.Logf("MySQL: %v", serverIsMySQL(t, db))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := db.Conn(ctx) // one connection: every execution uses its cached statement for the text
	require.NoError(t, err)
	defer c.Close()
	for _, tc := range everyArgType() {
		var got, want any
		require.NoError(t, c.QueryRowContext(ctx, "SELECT ?", tc.arg).Scan(&got), tc.name)
		require.NoError(t, ref.QueryRowContext(ctx, "SELECT ?", tc.arg).Scan(&want), tc.name)
		assert.Equal(t, tc.want, got, "%s: cached statement", tc.name)
		assert.Equal(t, want, got, "%s: cached vs fresh statement", tc.name)
	}
	require.NoError(t, c.Raw(func(dc any) error {
		assert.Equal(t, 1, dc.(*conn).cache.Len(), "one cached statement for the text")
		return nil
	}))

	// A prepared *sql.Stmt (an explicit statement, not only the cache) behaves the same.
	st, err := c.PrepareContext(ctx, "SELECT ?")
	require.NoError(t, err)
	defer st.Close()
	for _, tc := range everyArgType() {
		var got any
		require.NoError(t, st.QueryRowContext(ctx, tc.arg).Scan(&got), tc.name)
		assert.Equal(t, tc.want, got, "%s: prepared statement", tc.name)
	}
}

// Issue 11: SELECT COUNT(*) FROM t WHERE v = ? run with 1 and then "hello" matched 2 rows on MySQL 9.7 (the
// server compared numerically, as bound by the first execution). Each execution must compare with its own
// argument's type.
func TestCachedStatementWhereArgTypes(t *testing.T) {
	db := openDB(t, "")
	ref := openDB(t, "stmtCacheSize=0")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(20))")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, '1'), (2, 'hello'), (3, 'x'), (4, '2.5'), (5, '18446744073709551615'), (6, '')")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	q := "SELECT COUNT(*) FROM " + tbl + " WHERE v = ?"
	cases := []struct {
		arg  any
		want int
	}{
		{1, 1}, {"hello", 1}, {int64(1), 1}, {[]byte("x"), 1}, {2.5, 1}, {"2.5", 1}, {nil, 0},
		{uint64(math.MaxUint64), 1}, {"", 1}, {"x", 1}, {true, 1}, {json.RawMessage("hello"), 1}, {float32(2.5), 1},
	}
	for _, tc := range cases {
		var got, want int
		require.NoError(t, c.QueryRowContext(ctx, q, tc.arg).Scan(&got))
		require.NoError(t, ref.QueryRowContext(ctx, q, tc.arg).Scan(&want))
		assert.Equal(t, tc.want, got, "%T %v", tc.arg, tc.arg)
		assert.Equal(t, want, got, "%T %v: cached vs fresh statement", tc.arg, tc.arg)
	}
}

// After ALTER TABLE ADD COLUMN, a cached SELECT * returns the new column list and its values: the driver uses
// the column definitions the server sends with each execution (MariaDB: re-sent when they change).
func TestCachedSelectStarAfterAddColumn(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, a VARCHAR(10))")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, 'x')")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	q := "SELECT * FROM " + tbl + " WHERE id = ?"
	read := func() ([]string, []any) {
		rows, err := c.QueryContext(ctx, q, 1)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.True(t, rows.Next())
		require.NoError(t, rows.Scan(ptrs...))
		require.NoError(t, rows.Err())
		return cols, vals
	}
	cols, vals := read()
	assert.Equal(t, []string{"id", "a"}, cols)
	assert.Equal(t, []any{int64(1), []byte("x")}, vals)
	read() // cached now
	_, err = c.ExecContext(ctx, "ALTER TABLE "+tbl+" ADD COLUMN b BIGINT NOT NULL DEFAULT 42")
	require.NoError(t, err)
	for range 2 {
		cols, vals = read()
		assert.Equal(t, []string{"id", "a", "b"}, cols)
		assert.Equal(t, []any{int64(1), []byte("x"), int64(42)}, vals)
	}
}

// The message a user sees through database/sql names the argument once (go-sql-driver's shape).
func TestArgumentErrorMessages(t *testing.T) {
	db := openDB(t, "")
	_, err := db.Exec("SELECT ?, ?", 1, failingValuer{})
	require.Error(t, err)
	assert.ErrorIs(t, err, errValuerBoom)
	assert.Equal(t, "sql: converting argument $2 type: valuer: boom", err.Error())
	_, err = db.Exec("SELECT ?", struct{}{})
	require.Error(t, err)
	assert.Equal(t, "sql: converting argument $1 type: rawmysql: unsupported type struct {}, a struct", err.Error())
}
