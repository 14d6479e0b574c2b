package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/leakcheck"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain stops the test servers and then checks that no goroutine is left running (connections, context
// watchers, KILL QUERY side connections, fake servers and proxies all end).
func TestMain(m *testing.M) { testserver.MainWithExamples(m, leakcheck.Check) }

func TestPingAndServerVersion(t *testing.T) {
	db := openDB(t, "")
	var v string
	require.NoError(t, db.QueryRow("SELECT VERSION()").Scan(&v))
	assert.NotEmpty(t, v)
	var attrs string
	err := db.QueryRow("SELECT 1").Scan(&attrs)
	require.NoError(t, err)
	assert.Equal(t, "1", attrs)
}

func TestExecRowsAffectedLastInsertID(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
	res := mustExec(t, db, "INSERT INTO "+tbl+" (v) VALUES ('a'), ('b'), ('c')")
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(3), n)
	id, err := res.LastInsertId()
	require.NoError(t, err)
	assert.Equal(t, int64(1), id, "first id of a multi-row insert")

	res = mustExec(t, db, "INSERT INTO "+tbl+" (v) VALUES ('d')")
	id, _ = res.LastInsertId()
	assert.Equal(t, int64(4), id)

	res = mustExec(t, db, "UPDATE "+tbl+" SET v = 'x' WHERE id <= 2")
	n, _ = res.RowsAffected()
	assert.Equal(t, int64(2), n)
	res = mustExec(t, db, "UPDATE "+tbl+" SET v = 'x' WHERE id <= 2")
	n, _ = res.RowsAffected()
	assert.Equal(t, int64(0), n, "unchanged rows are not affected")

	res = mustExec(t, db, "DELETE FROM "+tbl)
	n, _ = res.RowsAffected()
	assert.Equal(t, int64(4), n)
}

func TestClientFoundRows(t *testing.T) {
	db := openDB(t, "clientFoundRows=true")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, 1), (2, 1)")
	res := mustExec(t, db, "UPDATE "+tbl+" SET v = 1")
	n, _ := res.RowsAffected()
	assert.Equal(t, int64(2), n, "matched rows are counted with clientFoundRows")
}

// typeCase is one column of the all-types table with the values inserted and what rawmysql must return.
type typeCase struct {
	name     string
	def      string // column definition
	literals []string
	want     []any // driver values as returned by Scan into *any (nil for NULL)
	dbType   string
	scanType any // an example value of the expected scan type
	nullable bool
	length   int64 // -1: no length
	prec     [2]int64
	hasPrec  bool
}

func allTypeCases() []typeCase {
	ts := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
		if err != nil {
			panic(err)
		}
		return t
	}
	return []typeCase{
		{name: "ti", def: "TINYINT NOT NULL", literals: []string{"-128", "127", "0"}, want: []any{int64(-128), int64(127), int64(0)}, dbType: "TINYINT", scanType: int8(0), length: -1},
		{name: "tiu", def: "TINYINT UNSIGNED NOT NULL", literals: []string{"0", "255", "1"}, want: []any{int64(0), int64(255), int64(1)}, dbType: "UNSIGNED TINYINT", scanType: uint8(0), length: -1},
		{name: "si", def: "SMALLINT", literals: []string{"-32768", "32767", "NULL"}, want: []any{int64(-32768), int64(32767), nil}, dbType: "SMALLINT", scanType: sql.NullInt64{}, nullable: true, length: -1},
		{name: "siu", def: "SMALLINT UNSIGNED NOT NULL", literals: []string{"0", "65535", "2"}, want: []any{int64(0), int64(65535), int64(2)}, dbType: "UNSIGNED SMALLINT", scanType: uint16(0), length: -1},
		{name: "mi", def: "MEDIUMINT NOT NULL", literals: []string{"-8388608", "8388607", "3"}, want: []any{int64(-8388608), int64(8388607), int64(3)}, dbType: "MEDIUMINT", scanType: int32(0), length: -1},
		{name: "miu", def: "MEDIUMINT UNSIGNED NOT NULL", literals: []string{"0", "16777215", "4"}, want: []any{int64(0), int64(16777215), int64(4)}, dbType: "UNSIGNED MEDIUMINT", scanType: uint32(0), length: -1},
		{name: "i", def: "INT NOT NULL", literals: []string{"-2147483648", "2147483647", "5"}, want: []any{int64(math.MinInt32), int64(math.MaxInt32), int64(5)}, dbType: "INT", scanType: int32(0), length: -1},
		{name: "iu", def: "INT UNSIGNED NOT NULL", literals: []string{"0", "4294967295", "6"}, want: []any{int64(0), int64(math.MaxUint32), int64(6)}, dbType: "UNSIGNED INT", scanType: uint32(0), length: -1},
		{name: "bi", def: "BIGINT NOT NULL", literals: []string{"-9223372036854775808", "9223372036854775807", "7"}, want: []any{int64(math.MinInt64), int64(math.MaxInt64), int64(7)}, dbType: "BIGINT", scanType: int64(0), length: -1},
		{name: "biu", def: "BIGINT UNSIGNED", literals: []string{"0", "18446744073709551615", "NULL"}, want: []any{int64(0), uint64(math.MaxUint64), nil}, dbType: "UNSIGNED BIGINT", scanType: sql.Null[uint64]{}, nullable: true, length: -1},
		{name: "f", def: "FLOAT NOT NULL", literals: []string{"-1.5", "3.4e38", "1.1"}, want: []any{float32(-1.5), float32(3.4e38), float32(1.1)}, dbType: "FLOAT", scanType: float32(0), length: -1, prec: [2]int64{math.MaxInt64, math.MaxInt64}, hasPrec: true},
		{name: "d", def: "DOUBLE", literals: []string{"-1.7976931348623157e308", "2.2250738585072014e-308", "NULL"}, want: []any{-math.MaxFloat64, 2.2250738585072014e-308, nil}, dbType: "DOUBLE", scanType: sql.NullFloat64{}, nullable: true, length: -1, prec: [2]int64{math.MaxInt64, math.MaxInt64}, hasPrec: true},
		{name: "d72", def: "DOUBLE(7,2) NOT NULL", literals: []string{"-12345.67", "0", "1.5"}, want: []any{-12345.67, 0.0, 1.5}, dbType: "DOUBLE", scanType: float64(0), length: -1, prec: [2]int64{math.MaxInt64, 2}, hasPrec: true},
		{name: "dc", def: "DECIMAL(10,2) NOT NULL", literals: []string{"-99999999.99", "99999999.99", "0"}, want: []any{[]byte("-99999999.99"), []byte("99999999.99"), []byte("0.00")}, dbType: "DECIMAL", scanType: "", length: -1, prec: [2]int64{10, 2}, hasPrec: true},
		{name: "dcu", def: "DECIMAL(30,0) UNSIGNED", literals: []string{"0", "999999999999999999999999999999", "NULL"}, want: []any{[]byte("0"), []byte("999999999999999999999999999999"), nil}, dbType: "DECIMAL", scanType: sql.NullString{}, nullable: true, length: -1, prec: [2]int64{30, 0}, hasPrec: true},
		{name: "dt", def: "DATE", literals: []string{"'1000-01-01'", "'9999-12-31'", "'0000-00-00'"}, want: []any{ts("1000-01-01 00:00:00"), ts("9999-12-31 00:00:00"), time.Time{}}, dbType: "DATE", scanType: sql.NullTime{}, nullable: true, length: -1},
		{name: "dtm", def: "DATETIME(6) NOT NULL", literals: []string{"'1000-01-01 00:00:00.000000'", "'9999-12-31 23:59:59.999999'", "'2024-02-29 12:34:56.5'"}, want: []any{ts("1000-01-01 00:00:00"), ts("9999-12-31 23:59:59.999999"), ts("2024-02-29 12:34:56.5")}, dbType: "DATETIME", scanType: time.Time{}, length: -1, prec: [2]int64{6, 6}, hasPrec: true},
		{name: "dtz", def: "DATETIME NOT NULL", literals: []string{"'0000-00-00 00:00:00'", "'2001-02-03 04:05:06'", "'1970-01-01 00:00:00'"}, want: []any{time.Time{}, ts("2001-02-03 04:05:06"), ts("1970-01-01 00:00:00")}, dbType: "DATETIME", scanType: time.Time{}, length: -1, prec: [2]int64{0, 0}, hasPrec: true},
		{name: "tsp", def: "TIMESTAMP(3) NULL", literals: []string{"'1970-01-01 00:00:01.000'", "'2038-01-19 03:14:07.999'", "NULL"}, want: []any{ts("1970-01-01 00:00:01"), ts("2038-01-19 03:14:07.999"), nil}, dbType: "TIMESTAMP", scanType: sql.NullTime{}, nullable: true, length: -1, prec: [2]int64{3, 3}, hasPrec: true},
		{name: "tm", def: "TIME(6) NOT NULL", literals: []string{"'-838:59:59.000000'", "'838:59:59.000000'", "'-00:00:01.5'"}, want: []any{[]byte("-838:59:59.000000"), []byte("838:59:59.000000"), []byte("-00:00:01.500000")}, dbType: "TIME", scanType: "", length: -1, prec: [2]int64{6, 6}, hasPrec: true},
		{name: "yr", def: "YEAR NOT NULL", literals: []string{"1901", "2155", "0"}, want: []any{int64(1901), int64(2155), int64(0)}, dbType: "YEAR", scanType: uint16(0), length: -1},
		{name: "ch", def: "CHAR(4) CHARACTER SET utf8mb4 NOT NULL", literals: []string{"''", "'😀ab'", "'abcd'"}, want: []any{[]byte(""), []byte("😀ab"), []byte("abcd")}, dbType: "CHAR", scanType: "", length: 4},
		{name: "vc", def: "VARCHAR(300) CHARACTER SET utf8mb4", literals: []string{"'héllo wörld'", "'𝄞 music'", "NULL"}, want: []any{[]byte("héllo wörld"), []byte("𝄞 music"), nil}, dbType: "VARCHAR", scanType: sql.NullString{}, nullable: true, length: 300},
		{name: "txt", def: "TEXT CHARACTER SET utf8mb4 NOT NULL", literals: []string{"''", "'multi\nline ✓'", "REPEAT('x', 1000)"}, want: []any{[]byte(""), []byte("multi\nline ✓"), []byte(strings.Repeat("x", 1000))}, dbType: "TEXT", scanType: "", length: 65535},
		{name: "bn", def: "BINARY(3) NOT NULL", literals: []string{"X'000102'", "X'FFFEFD'", "X'61'"}, want: []any{[]byte{0, 1, 2}, []byte{0xff, 0xfe, 0xfd}, []byte{'a', 0, 0}}, dbType: "BINARY", scanType: []byte(nil), length: 3},
		{name: "vb", def: "VARBINARY(10)", literals: []string{"X''", "X'00FF'", "NULL"}, want: []any{[]byte{}, []byte{0, 0xff}, nil}, dbType: "VARBINARY", scanType: []byte(nil), nullable: true, length: 10},
		{name: "bl", def: "BLOB NOT NULL", literals: []string{"X'DEADBEEF'", "''", "X'00'"}, want: []any{[]byte{0xde, 0xad, 0xbe, 0xef}, []byte{}, []byte{0}}, dbType: "BLOB", scanType: []byte(nil), length: 65535},
		{name: "lb", def: "LONGBLOB NOT NULL", literals: []string{"X'01'", "X'02'", "X'03'"}, want: []any{[]byte{1}, []byte{2}, []byte{3}}, dbType: "BLOB", scanType: []byte(nil), length: math.MaxInt64},
		{name: "en", def: "ENUM('a','b','c') NOT NULL", literals: []string{"'a'", "'c'", "'b'"}, want: []any{[]byte("a"), []byte("c"), []byte("b")}, dbType: "ENUM", scanType: "", length: 1},
		{name: "st", def: "SET('x','y','z')", literals: []string{"''", "'x,z'", "NULL"}, want: []any{[]byte(""), []byte("x,z"), nil}, dbType: "SET", scanType: sql.NullString{}, nullable: true, length: 5},
		{name: "bt", def: "BIT(12) NOT NULL", literals: []string{"b'0'", "b'111111111111'", "b'101'"}, want: []any{[]byte{0, 0}, []byte{0x0f, 0xff}, []byte{0, 5}}, dbType: "BIT", scanType: []byte(nil), length: 12},
		{name: "js", def: "JSON", literals: []string{`'{"a": [1, 2]}'`, `'"str"'`, "NULL"}, want: []any{[]byte(`{"a": [1, 2]}`), []byte(`"str"`), nil}, dbType: "TEXT", scanType: sql.NullString{}, nullable: true, length: -2},
	}
}

func TestAllTypesTextProtocol(t *testing.T) {
	db := openDB(t, "parseTime=true")
	tbl := tableName(t)
	cases := allTypeCases()
	var defs, cols []string
	for _, c := range cases {
		defs = append(defs, c.name+" "+c.def)
		cols = append(cols, c.name)
	}
	mustExec(t, db, "SET SESSION sql_mode = ''") // allow zero dates on this pooled connection... set per-session below
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (rowno INT PRIMARY KEY, "+strings.Join(defs, ", ")+")")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
	require.NoError(t, err)
	for r := 0; r < 3; r++ {
		vals := []string{string(rune('0' + r))}
		for _, c := range cases {
			vals = append(vals, c.literals[r])
		}
		_, err := conn.ExecContext(context.Background(), "INSERT INTO "+tbl+" VALUES ("+strings.Join(vals, ", ")+")")
		require.NoError(t, err)
	}

	rows, err := conn.QueryContext(context.Background(), "SELECT "+strings.Join(cols, ", ")+" FROM "+tbl+" ORDER BY rowno")
	require.NoError(t, err)
	defer rows.Close()
	names, err := rows.Columns()
	require.NoError(t, err)
	require.Equal(t, cols, names)
	types, err := rows.ColumnTypes()
	require.NoError(t, err)
	for i, c := range cases {
		ct := types[i]
		if c.name == "js" && testserver.Get(t).IsMySQL() { // MySQL has a JSON column type
			assert.Equal(t, "JSON", ct.DatabaseTypeName(), c.name)
		} else if c.name == "js" { // MariaDB reports JSON as LONGTEXT (utf8mb4 BLOB type)
			assert.Equal(t, "TEXT", ct.DatabaseTypeName(), c.name)
		} else {
			assert.Equal(t, c.dbType, ct.DatabaseTypeName(), c.name)
		}
		assert.Equal(t, reflect.TypeOf(c.scanType), ct.ScanType(), "%s scan type", c.name)
		nullable, ok := ct.Nullable()
		assert.True(t, ok)
		assert.Equal(t, c.nullable, nullable, "%s nullable", c.name)
		length, ok := ct.Length()
		switch c.length {
		case -1:
			assert.False(t, ok, "%s has no length", c.name)
		case -2:
		default:
			assert.True(t, ok, "%s length", c.name)
			assert.Equal(t, c.length, length, "%s length", c.name)
		}
		p, s, ok := ct.DecimalSize()
		assert.Equal(t, c.hasPrec, ok, "%s decimal size", c.name)
		if c.hasPrec {
			assert.Equal(t, c.prec, [2]int64{p, s}, "%s precision/scale", c.name)
		}
	}
	r := 0
	for rows.Next() {
		dest := make([]any, len(cases))
		ptrs := make([]any, len(cases))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, c := range cases {
			assert.Equal(t, c.want[r], dest[i], "%s row %d", c.name, r)
		}
		// Every column also scans into its advertised scan type.
		typed := make([]any, len(cases))
		for i := range cases {
			typed[i] = reflect.New(types[i].ScanType()).Interface()
		}
		require.NoError(t, rows.Scan(typed...), "row %d into scan types", r)
		r++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 3, r)
}

func TestParseTimeOffAndLoc(t *testing.T) {
	db := openDB(t, "")
	var s []byte
	require.NoError(t, db.QueryRow("SELECT CAST('2024-05-06 07:08:09.123' AS DATETIME(3))").Scan(&s))
	assert.Equal(t, "2024-05-06 07:08:09.123", string(s))

	db = openDB(t, "parseTime=true&loc=Europe%2FParis")
	var tm time.Time
	require.NoError(t, db.QueryRow("SELECT CAST('2024-05-06 07:08:09.123' AS DATETIME(3))").Scan(&tm))
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	assert.True(t, tm.Equal(time.Date(2024, 5, 6, 7, 8, 9, 123e6, paris)), tm.String())
	assert.Equal(t, "Europe/Paris", tm.Location().String())
}

func TestTransactions(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY) ENGINE=InnoDB")

	tx, err := db.Begin()
	require.NoError(t, err)
	mustExec(t, tx, "INSERT INTO "+tbl+" VALUES (1)")
	require.NoError(t, tx.Commit())

	tx, err = db.Begin()
	require.NoError(t, err)
	mustExec(t, tx, "INSERT INTO "+tbl+" VALUES (2)")
	require.NoError(t, tx.Rollback())

	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Equal(t, 1, n, "committed row kept, rolled back row gone")

	// Isolation levels, checked by what each one lets a transaction see of another's writes.
	other, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer other.Close()
	ctx := context.Background()
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl+"_iso")
	mustExec(t, db, "CREATE TABLE "+tbl+"_iso (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
	mustExec(t, db, "INSERT INTO "+tbl+"_iso VALUES (1, 0)")
	readV := func(tx *sql.Tx) int {
		var v int
		require.NoError(t, tx.QueryRow("SELECT v FROM "+tbl+"_iso WHERE id = 1").Scan(&v))
		return v
	}
	setV := func(v string) {
		_, err := other.ExecContext(ctx, "UPDATE "+tbl+"_iso SET v = "+v+" WHERE id = 1")
		require.NoError(t, err)
	}
	// READ UNCOMMITTED sees another transaction's uncommitted write; READ COMMITTED does not.
	_, err = other.ExecContext(ctx, "BEGIN")
	require.NoError(t, err)
	setV("7")
	for level, want := range map[sql.IsolationLevel]int{sql.LevelReadUncommitted: 7, sql.LevelReadCommitted: 0} {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
		require.NoError(t, err)
		assert.Equal(t, want, readV(tx), level.String())
		require.NoError(t, tx.Rollback())
	}
	_, err = other.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	// READ COMMITTED sees a commit made during the transaction; REPEATABLE READ keeps its snapshot.
	for level, sees := range map[sql.IsolationLevel]bool{sql.LevelReadCommitted: true, sql.LevelRepeatableRead: false} {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: level})
		require.NoError(t, err)
		before := readV(tx)
		setV(fmt.Sprint(before + 1)) // autocommit on the other connection
		after := readV(tx)
		assert.Equal(t, sees, after != before, level.String())
		require.NoError(t, tx.Rollback())
	}
	// SERIALIZABLE turns plain reads into locking reads: a concurrent write waits and times out.
	tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	require.NoError(t, err)
	readV(tx)
	_, err = other.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1")
	require.NoError(t, err)
	_, err = other.ExecContext(ctx, "UPDATE "+tbl+"_iso SET v = 100 WHERE id = 1")
	var lockErr *MySQLError
	require.ErrorAs(t, err, &lockErr)
	assert.Equal(t, uint16(1205), lockErr.Number, "lock wait timeout under SERIALIZABLE")
	require.NoError(t, tx.Rollback())
	// The default level leaves the session's own.
	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	_, err = db.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelLinearizable})
	require.ErrorContains(t, err, "not supported")

	tx, err = db.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO " + tbl + " VALUES (3)")
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1792), me.Number, "write in a READ ONLY transaction")
	require.NoError(t, tx.Rollback())
}

func TestServerErrors(t *testing.T) {
	db := openDB(t, "")
	_, err := db.Exec("SELEC 1")
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1064), me.Number)
	assert.Equal(t, [5]byte{'4', '2', '0', '0', '0'}, me.SQLState)
	assert.Contains(t, me.Message, "SQL syntax")
	// The text reads exactly as go-sql-driver's, for code that compares it.
	assert.True(t, strings.HasPrefix(err.Error(), "Error 1064 (42000): You have an error in your SQL syntax"), err.Error())

	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1)")
	_, err = db.Exec("INSERT INTO " + tbl + " VALUES (1)")
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1062), me.Number)
	assert.Equal(t, "23000", me.SQLStateString())
	assert.ErrorIs(t, err, &MySQLError{Number: 1062})
	assert.False(t, errors.Is(err, &MySQLError{Number: 1064}))

	// Errors inside a result stream (after rows were sent) surface from rows.Err.
	rows, err := db.Query("SELECT 1 UNION SELECT * FROM no_such_table_xyz")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1146), me.Number)

	// The pool still works after errors.
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
}

func TestLargeValue20MiB(t *testing.T) {
	t.Parallel()
	db := openDB(t, "")
	const size = 20 << 20
	var maxPacket int
	require.NoError(t, db.QueryRow("SELECT @@max_allowed_packet").Scan(&maxPacket))
	if maxPacket < 2*size {
		t.Skipf("server max_allowed_packet is %d, need %d", maxPacket, 2*size)
	}
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v LONGBLOB)")

	// Write: a 20 MiB statement is split over two packets on the way out.
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i%36]
	}
	payload[size-1] = 'Z'
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, '"+string(payload)+"')")

	// Read: the 20 MiB value arrives split over two packets and is joined intact.
	var got []byte
	require.NoError(t, db.QueryRow("SELECT v FROM "+tbl+" WHERE id = 1").Scan(&got))
	require.Equal(t, len(payload), len(got))
	require.True(t, string(payload) == string(got), "value read back intact")

	// A value of exactly one maximum payload size plus change in a multi-column row.
	var n int
	var tail string
	require.NoError(t, db.QueryRow("SELECT LENGTH(v), RIGHT(v, 3) FROM "+tbl+" WHERE id = 1").Scan(&n, &tail))
	assert.Equal(t, size, n)
	assert.Equal(t, string(payload[size-3:]), tail)
	require.NoError(t, db.QueryRow("SELECT REPEAT('x', 16777215 - 4), 7").Scan(&got, &n))
	assert.Len(t, got, 16777211)
	assert.Equal(t, 7, n)
}

func TestAbandonedResultThenQuery(t *testing.T) {
	db := openDB(t, "")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, "SELECT seq, REPEAT('x', 100) FROM "+seqTable(50000)+" s ORDER BY seq")
	require.NoError(t, err)
	require.True(t, rows.Next())
	var n int
	var s string
	require.NoError(t, rows.Scan(&n, &s))
	assert.Equal(t, 1, n)
	require.NoError(t, rows.Close()) // abandon 49999 rows
	var v int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT 42").Scan(&v))
	assert.Equal(t, 42, v, "the same connection answers the next query")
}

func TestBusyConnectionIsAClearError(t *testing.T) {
	db := openDB(t, "")
	tx, err := db.Begin()
	require.NoError(t, err)
	defer tx.Rollback()
	rows, err := tx.Query("SELECT seq FROM " + seqTable(10) + " s")
	require.NoError(t, err)
	_, err = tx.Exec("DO 1")
	require.ErrorIs(t, err, ErrConnBusy)
	require.NoError(t, rows.Close())
	_, err = tx.Exec("DO 1")
	require.NoError(t, err, "usable again once the rows are closed")
}

func TestDSNErrorsAtOpen(t *testing.T) {
	_, err := sql.Open("rawmysql", "root:secretpw@tcp(127.0.0.1:3306)/test?parseTime=maybe")
	require.ErrorContains(t, err, "parseTime")
	require.NotContains(t, err.Error(), "secretpw")
	_, err = sql.Open("rawmysql", "root:secretpw@tcp(127.0.0.1:3306)/test?loc=Mars%2FOlympus")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secretpw")
}

func TestWrongPasswordError(t *testing.T) {
	srv := testserver.Get(t)
	cfg, err := ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	cfg.Passwd = "definitely-wrong-pw"
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	err = db.Ping()
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1045), me.Number)
	assert.NotContains(t, err.Error(), "definitely-wrong-pw")
}

func TestCancelledContextSendsNothing(t *testing.T) {
	db := openDB(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := db.ExecContext(ctx, "DO 1")
	require.ErrorIs(t, err, context.Canceled)
}

func TestColumnsWithAlias(t *testing.T) {
	db := openDB(t, "columnsWithAlias=true")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (a INT)")
	rows, err := db.Query("SELECT x.a, 1 AS b FROM " + tbl + " AS x")
	require.NoError(t, err)
	defer rows.Close()
	cols, _ := rows.Columns()
	assert.Equal(t, []string{"x.a", "b"}, cols)
}

func TestSessionVariablesFromDSN(t *testing.T) {
	db := openDB(t, "sql_mode=%27ANSI_QUOTES%27&autocommit=1&charset=utf8mb4")
	var mode string
	require.NoError(t, db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode))
	assert.Equal(t, "ANSI_QUOTES", mode)
	var cs string
	require.NoError(t, db.QueryRow("SELECT @@character_set_connection").Scan(&cs))
	assert.Equal(t, "utf8mb4", cs)
}

func TestConnectionAttributes(t *testing.T) {
	db := openDB(t, "connectionAttributes=app:billing,team:core")
	var exists int
	// MariaDB keeps attributes in performance_schema only when it is enabled; check what we can.
	if err := db.QueryRow("SELECT @@performance_schema").Scan(&exists); err != nil || exists == 0 {
		t.Skip("performance_schema is off on this server: connection attributes are not visible")
	}
	var v string
	require.NoError(t, db.QueryRow("SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = CONNECTION_ID() AND ATTR_NAME = 'app'").Scan(&v))
	assert.Equal(t, "billing", v)
	require.NoError(t, db.QueryRow("SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs WHERE PROCESSLIST_ID = CONNECTION_ID() AND ATTR_NAME = '_client_name'").Scan(&v))
	assert.Equal(t, "rawmysql", v)
}

func TestMaxAllowedPacket(t *testing.T) {
	t.Parallel()
	// 0 asks the server; a statement larger than the limit is refused before anything is sent, and the
	// connection stays usable.
	db := openDB(t, "maxAllowedPacket=0")
	db.SetMaxOpenConns(1)
	var serverMax int
	require.NoError(t, db.QueryRow("SELECT @@max_allowed_packet").Scan(&serverMax))
	big := strings.Repeat("x", serverMax+1)
	_, err := db.Exec("SELECT '" + big + "'")
	require.ErrorIs(t, err, protocol.ErrPacketTooLarge)
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))

	db = openDB(t, "maxAllowedPacket=1024")
	db.SetMaxOpenConns(1)
	_, err = db.Exec("SELECT '" + strings.Repeat("y", 2000) + "'")
	require.ErrorIs(t, err, protocol.ErrPacketTooLarge)
	require.ErrorContains(t, err, "maxAllowedPacket")
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
}

// Dates MariaDB can store but time.Time cannot represent (zero parts, or day 31 of February under
// ALLOW_INVALID_DATES) are an error with parseTime — never silently another date — on both protocols, and
// scan as text without parseTime.
func TestInvalidDatesWithParseTime(t *testing.T) {
	db := openDB(t, "parseTime=true&sql_mode=%27ALLOW_INVALID_DATES%27")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, d DATE, dt DATETIME)")
	mustExec(t, db, "INSERT INTO "+tbl+" VALUES (1, '2024-02-31', '2024-02-31 10:00:00'), (2, '2024-00-00', '2024-06-00 00:00:00'), (3, '2024-02-29', '2024-02-29 23:59:59')")
	for _, id := range []int{1, 2} {
		var d, dt time.Time
		err := db.QueryRow(fmt.Sprintf("SELECT d, dt FROM %s WHERE id = %d", tbl, id)).Scan(&d, &dt)
		require.ErrorContains(t, err, "no time.Time equivalent", "text protocol, id %d", id)
		err = db.QueryRow("SELECT d, dt FROM "+tbl+" WHERE id = ?", id).Scan(&d, &dt)
		require.ErrorContains(t, err, "no time.Time equivalent", "binary protocol, id %d", id)
	}
	var d, dt time.Time
	require.NoError(t, db.QueryRow("SELECT d, dt FROM "+tbl+" WHERE id = ?", 3).Scan(&d, &dt))
	assert.Equal(t, time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), dt)

	raw := openDB(t, "sql_mode=%27ALLOW_INVALID_DATES%27")
	var ds, dts string
	require.NoError(t, raw.QueryRow("SELECT d, dt FROM "+tbl+" WHERE id = ?", 1).Scan(&ds, &dts))
	assert.Equal(t, "2024-02-31", ds)
	assert.Equal(t, "2024-02-31 10:00:00", dts)
}
