package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// createAllTypesTable creates and fills the all-types table, returning its column names.
func createAllTypesTable(t *testing.T, db *sql.DB, tbl string) []string {
	cases := allTypeCases()
	var defs, cols []string
	for _, c := range cases {
		defs = append(defs, c.name+" "+c.def)
		cols = append(cols, c.name)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+tbl)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "CREATE TABLE "+tbl+" (rowno INT PRIMARY KEY, "+strings.Join(defs, ", ")+")")
	require.NoError(t, err)
	for r := 0; r < 3; r++ {
		vals := []string{strconv.Itoa(r)}
		for _, c := range cases {
			vals = append(vals, c.literals[r])
		}
		_, err := conn.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES ("+strings.Join(vals, ", ")+")")
		require.NoError(t, err)
	}
	return cols
}

func scanAllAny(t *testing.T, rows *sql.Rows) [][]any {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		dest := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range dest {
			ptrs[i] = &dest[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, dest)
	}
	require.NoError(t, rows.Err())
	return out
}

// Every type gives the same Go value through the text protocol (COM_QUERY) and the binary protocol
// (COM_STMT_EXECUTE), with and without parseTime.
func TestBinaryEqualsText(t *testing.T) {
	for _, params := range []string{"parseTime=true", "parseTime=false", "parseTime=true&loc=Asia%2FTokyo"} {
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			tbl := tableName(t)
			cols := createAllTypesTable(t, db, tbl)
			q := "SELECT " + strings.Join(cols, ", ") + " FROM " + tbl + " WHERE rowno >= ? ORDER BY rowno"
			text := scanAllAny(t, must(db.Query(strings.Replace(q, "?", "0", 1))))
			bin := scanAllAny(t, must(db.Query(q, 0)))
			require.Len(t, text, 3)
			require.Len(t, bin, 3)
			for r := range text {
				for i, name := range cols {
					assert.Equal(t, text[r][i], bin[r][i], "column %s row %d", name, r)
				}
			}
			// Metadata agrees too.
			tr := must(db.Query(strings.Replace(q, "?", "0", 1)))
			defer tr.Close()
			br := must(db.Query(q, 0))
			defer br.Close()
			tt, _ := tr.ColumnTypes()
			bt, _ := br.ColumnTypes()
			for i := range tt {
				assert.Equal(t, tt[i].DatabaseTypeName(), bt[i].DatabaseTypeName(), cols[i])
				assert.Equal(t, tt[i].ScanType(), bt[i].ScanType(), cols[i])
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type myID int64
type myName string
type valuer struct{ s string }

func (v valuer) Value() (driver.Value, error) { return "valuer:" + v.s, nil }

type ptrValuer struct{ n int }

func (v *ptrValuer) Value() (driver.Value, error) { return int64(v.n * 2), nil }

// Arguments of every supported Go type round-trip through both argument paths (prepared and interpolated).
func TestArgumentBinding(t *testing.T) {
	t.Parallel()
	for _, params := range []string{"parseTime=true", "parseTime=true&interpolateParams=true", "parseTime=true&stmtCacheSize=0"} {
		t.Run(params, func(t *testing.T) {
			// sql_mode: strict, but zero dates allowed (MySQL's default adds NO_ZERO_DATE, MariaDB's does not).
			db := openDB(t, params+"&loc=Europe%2FBerlin&sql_mode=%27STRICT_TRANS_TABLES%27")
			berlin, err := time.LoadLocation("Europe/Berlin")
			require.NoError(t, err)
			n := 42
			var nilInt *int
			tm := time.Date(2024, 3, 4, 5, 6, 7, 123456000, time.UTC)
			cases := []struct {
				arg  any
				typ  string
				want any
			}{
				{int8(-8), "TINYINT", int64(-8)},
				{int16(-1600), "SMALLINT", int64(-1600)},
				{int32(math.MinInt32), "INT", int64(math.MinInt32)},
				{int64(math.MinInt64), "BIGINT", int64(math.MinInt64)},
				{int(7), "BIGINT", int64(7)},
				{uint8(255), "TINYINT UNSIGNED", int64(255)},
				{uint16(65535), "SMALLINT UNSIGNED", int64(65535)},
				{uint32(math.MaxUint32), "INT UNSIGNED", int64(math.MaxUint32)},
				{uint64(math.MaxUint64), "BIGINT UNSIGNED", uint64(math.MaxUint64)},
				{uint(1 << 63), "BIGINT UNSIGNED", uint64(1 << 63)},
				{float32(1.5), "FLOAT", float32(1.5)},
				{float64(math.Pi), "DOUBLE", math.Pi},
				{true, "BOOL", int64(1)},
				{false, "BOOL", int64(0)},
				{"héllo 😀 'quoted' \\ back", "VARCHAR(100) CHARACTER SET utf8mb4", []byte("héllo 😀 'quoted' \\ back")},
				{[]byte{0, 1, 2, 0xff, '\'', '\\'}, "VARBINARY(10)", []byte{0, 1, 2, 0xff, '\'', '\\'}},
				{json.RawMessage(`{"k": [1, "two"]}`), "JSON", []byte(`{"k": [1, "two"]}`)},
				{tm, "DATETIME(6)", tm.In(berlin)},
				{time.Time{}, "DATETIME", time.Time{}},
				{nil, "INT", nil},
				{&n, "INT", int64(42)},
				{nilInt, "INT", nil},
				{myID(99), "BIGINT", int64(99)},
				{myName("named"), "VARCHAR(10)", []byte("named")},
				{valuer{"x"}, "VARCHAR(20)", []byte("valuer:x")},
				{&ptrValuer{21}, "INT", int64(42)},
				{[]byte(nil), "BLOB", nil},
			}
			tbl := tableName(t)
			for i, c := range cases {
				t.Run(fmt.Sprintf("%d_%T", i, c.arg), func(t *testing.T) {
					mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
					mustExec(t, db, "CREATE TABLE "+tbl+" (v "+c.typ+")")
					_, err := db.Exec("INSERT INTO "+tbl+" VALUES (?)", c.arg)
					require.NoError(t, err)
					var got any
					require.NoError(t, db.QueryRow("SELECT v FROM "+tbl+" WHERE 1 = ?", 1).Scan(&got))
					if wt, ok := c.want.(time.Time); ok && !wt.IsZero() {
						gt, ok := got.(time.Time)
						require.True(t, ok, "%T", got)
						assert.True(t, wt.Equal(gt), "%v vs %v", wt, gt)
						assert.Equal(t, "Europe/Berlin", gt.Location().String())
						return
					}
					assert.Equal(t, c.want, got)
				})
			}
		})
	}
}

func TestArgumentErrorsBeforeSending(t *testing.T) {
	db := openDB(t, "")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	before := comStmtCounters(t, conn)
	_, err = conn.ExecContext(ctx, "SELECT ?", struct{ A int }{1})
	require.ErrorContains(t, err, "unsupported type")
	_, err = conn.ExecContext(ctx, "SELECT ?", map[string]int{})
	require.ErrorContains(t, err, "unsupported type")
	_, err = conn.ExecContext(ctx, "SELECT ?, ?", 1)
	require.ErrorContains(t, err, "expects 2 arguments, got 1")
	_, err = conn.ExecContext(ctx, "SELECT '?', ?", 1, 2)
	require.ErrorContains(t, err, "expects 1 arguments, got 2")
	_, err = conn.ExecContext(ctx, "SELECT ?", sql.Named("x", 1))
	require.ErrorContains(t, err, "named parameters")
	after := comStmtCounters(t, conn)
	assert.Equal(t, before["Com_stmt_prepare"], after["Com_stmt_prepare"], "nothing was prepared")
	assert.Equal(t, before["Com_stmt_execute"], after["Com_stmt_execute"], "nothing was executed")
}

// comStmtCounters reads the session's prepared-statement command counters (the query itself is text).
func comStmtCounters(t *testing.T, conn *sql.Conn) map[string]int {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW SESSION STATUS LIKE 'Com_stmt%'")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var v int
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	// MySQL also counts its own re-preparations (a parameter whose type changes at execution) in
	// Com_stmt_prepare, and separately in Com_stmt_reprepare (MariaDB has no such counter): count the client's.
	out["Com_stmt_prepare"] -= out["Com_stmt_reprepare"]
	return out
}

// db.QueryRow(q, args...) costs one COM_STMT_EXECUTE on a warm connection: no prepare, no close.
func TestOneRoundTripPerQueryWithArgs(t *testing.T) {
	db := openDB(t, "")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	var v int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT ? + 1", 1).Scan(&v)) // warm up: prepare once
	_, err = conn.ExecContext(ctx, "DO ?", 0)
	require.NoError(t, err)
	before := comStmtCounters(t, conn)
	for i := 0; i < 10; i++ {
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT ? + 1", i).Scan(&v))
		assert.Equal(t, i+1, v)
		_, err := conn.ExecContext(ctx, "DO ?", i)
		require.NoError(t, err)
	}
	after := comStmtCounters(t, conn)
	assert.Equal(t, 0, after["Com_stmt_prepare"]-before["Com_stmt_prepare"], "prepares")
	assert.Equal(t, 20, after["Com_stmt_execute"]-before["Com_stmt_execute"], "executes")
	assert.Equal(t, 0, after["Com_stmt_close"]-before["Com_stmt_close"], "closes")
}

func TestStmtCacheEvictsAndCloses(t *testing.T) {
	db := openDB(t, "stmtCacheSize=2")
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	before := comStmtCounters(t, conn)
	var v int
	for i := 0; i < 5; i++ { // five distinct statements through a cache of two
		require.NoError(t, conn.QueryRowContext(ctx, fmt.Sprintf("SELECT ? + %d", i), 1).Scan(&v))
	}
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT ? + 4", 1).Scan(&v)) // still cached
	after := comStmtCounters(t, conn)
	assert.Equal(t, 5, after["Com_stmt_prepare"]-before["Com_stmt_prepare"])
	assert.Equal(t, 3, after["Com_stmt_close"]-before["Com_stmt_close"], "three evicted statements closed")

	// stmtCacheSize=0: prepare, execute, close every time.
	db0 := openDB(t, "stmtCacheSize=0")
	conn0, err := db0.Conn(ctx)
	require.NoError(t, err)
	defer conn0.Close()
	before = comStmtCounters(t, conn0)
	for i := 0; i < 3; i++ {
		// "? + 0", not a bare "?": MySQL 8.0.22+ re-prepares a statement whose parameter type PREPARE could
		// not derive at its first execution, and counts that in Com_stmt_prepare (one COM_STMT_PREPARE on
		// the wire, two in the counter).
		require.NoError(t, conn0.QueryRowContext(ctx, "SELECT ? + 0", i).Scan(&v))
	}
	after = comStmtCounters(t, conn0)
	assert.Equal(t, 3, after["Com_stmt_prepare"]-before["Com_stmt_prepare"])
	assert.GreaterOrEqual(t, after["Com_stmt_close"]-before["Com_stmt_close"], 2, "closed (the last one before the next command)")
}

// With the server-wide max_prepared_stmt_count reached, the cache gives its statements back and the query
// still runs.
func TestMaxPreparedStmtCount(t *testing.T) {
	t.Parallel()
	srv := testserver.StartPrivate(t, "--max-prepared-stmt-count=3")
	db, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	for i := 0; i < 10; i++ {
		var v int
		require.NoError(t, conn.QueryRowContext(context.Background(), fmt.Sprintf("SELECT ? + %d", i), 1).Scan(&v), "query %d", i)
		assert.Equal(t, i+1, v)
	}
	var count int
	var name string
	require.NoError(t, conn.QueryRowContext(context.Background(), "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'").Scan(&name, &count))
	assert.LessOrEqual(t, count, 3)
}

// Every byte value and quote/backslash combination goes in and comes back identical, with interpolation and
// with prepared statements, under both backslash escaping and NO_BACKSLASH_ESCAPES.
func TestInterpolationAllBytes(t *testing.T) {
	var all []byte
	for i := 0; i < 256; i++ {
		all = append(all, byte(i))
	}
	tricky := []string{`'`, `''`, `\`, `\'`, `\\'`, `'\`, `"`, `\"`, "?", "'?'", "\x00'\\\x1a\r\n", "-- ?", "/* ? */", "`?`", `\0`, `%_`}
	for _, mode := range []string{"''", "'NO_BACKSLASH_ESCAPES'"} {
		for _, params := range []string{"interpolateParams=true", "interpolateParams=false"} {
			t.Run(mode+"/"+params, func(t *testing.T) {
				db := openDB(t, params+"&sql_mode="+mode)
				var sqlMode string
				require.NoError(t, db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&sqlMode))
				require.Equal(t, strings.Trim(mode, "'"), sqlMode)
				tbl := tableName(t)
				mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
				mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, b VARBINARY(300), s VARCHAR(300) CHARACTER SET latin1)")
				_, err := db.Exec("INSERT INTO "+tbl+" VALUES (?, ?, NULL)", 0, all)
				require.NoError(t, err)
				var got []byte
				require.NoError(t, db.QueryRow("SELECT b FROM "+tbl+" WHERE id = ?", 0).Scan(&got))
				require.Equal(t, all, got)
				for i, s := range tricky {
					_, err := db.Exec("INSERT INTO "+tbl+" /* ? */ VALUES (?, '?', ?) -- ?\n", i+1, s)
					require.NoError(t, err, "%q", s)
					var gb []byte
					var gs string
					require.NoError(t, db.QueryRow("SELECT b, s FROM "+tbl+" WHERE id = ? AND '?' = '?'", i+1).Scan(&gb, &gs))
					assert.Equal(t, "?", string(gb), "literal ? left alone")
					assert.Equal(t, s, gs)
				}
			})
		}
	}
}

// Client-side escaping is unsafe for character sets whose multibyte characters can contain a backslash
// byte: interpolateParams is refused for them, and prepared statements carry such values safely.
func TestInterpolationRefusedForUnsafeCharset(t *testing.T) {
	srv := testserver.Get(t)
	for _, params := range []string{"interpolateParams=true&charset=sjis", "interpolateParams=true&collation=gbk_chinese_ci"} {
		_, err := sql.Open("rawmysql", srv.DSN(params))
		require.Error(t, err, params)
		assert.Contains(t, err.Error(), "interpolateParams", params)
	}
	db := openDB(t, "charset=sjis")
	var s string
	// 0x95 0x5c is one sjis character whose second byte is a backslash.
	require.NoError(t, db.QueryRow("SELECT ?", "\x95\x5c'").Scan(&s))
	assert.Equal(t, "\x95\x5c'", s)
}

func TestMultiStatementsAndResults(t *testing.T) {
	db := openDB(t, "multiStatements=true")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	res, err := db.Exec("INSERT INTO " + tbl + " (v) VALUES (1); INSERT INTO " + tbl + " (v) VALUES (2), (3); SELECT * FROM " + tbl + "; UPDATE " + tbl + " SET v = v + 1 WHERE id > 1")
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	assert.Equal(t, int64(2), n, "the last statement's result")

	rows, err := db.Query("SELECT 1; SELECT 'a', 'b'; DO 1; SELECT 3")
	require.NoError(t, err)
	defer rows.Close()
	var sets [][]string
	for {
		cols, _ := rows.Columns()
		var got []string
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			for _, v := range vals {
				got = append(got, string(v))
			}
		}
		sets = append(sets, got)
		if !rows.NextResultSet() {
			break
		}
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, [][]string{{"1"}, {"a", "b"}, {"3"}}, sets, "DO 1 has no result set: skipped, as go-sql-driver does")

	// An error in a later statement is reported.
	_, err = db.Exec("DO 1; SELEC 2")
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1064), me.Number)
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
}

func TestStoredProcedureResultsAndOutParams(t *testing.T) {
	db := openDB(t, "multiStatements=true")
	mustExec(t, db, "DROP PROCEDURE IF EXISTS rawmysql_proc")
	mustExec(t, db, `CREATE PROCEDURE rawmysql_proc(IN a INT, OUT b INT, INOUT c INT)
BEGIN
  SELECT a AS first;
  SELECT a + 1 AS second, 'x' AS label;
  SET b = a * 10;
  SET c = c + a;
END`)
	for _, prepared := range []bool{false, true} {
		t.Run(fmt.Sprint("prepared=", prepared), func(t *testing.T) {
			conn, err := db.Conn(context.Background())
			require.NoError(t, err)
			defer conn.Close()
			ctx := context.Background()
			_, err = conn.ExecContext(ctx, "SET @c = 5")
			require.NoError(t, err)
			var rows *sql.Rows
			if prepared {
				rows, err = conn.QueryContext(ctx, "CALL rawmysql_proc(?, @b, @c)", 7)
			} else {
				rows, err = conn.QueryContext(ctx, "CALL rawmysql_proc(7, @b, @c)")
			}
			require.NoError(t, err)
			require.True(t, rows.Next())
			var first int
			require.NoError(t, rows.Scan(&first))
			assert.Equal(t, 7, first)
			assert.False(t, rows.Next())
			require.True(t, rows.NextResultSet())
			require.True(t, rows.Next())
			var second int
			var label string
			require.NoError(t, rows.Scan(&second, &label))
			assert.Equal(t, 8, second)
			assert.Equal(t, "x", label)
			assert.False(t, rows.NextResultSet(), "the CALL's final status is not a result set")
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			var b, c int
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT @b, @c").Scan(&b, &c))
			assert.Equal(t, 70, b)
			assert.Equal(t, 12, c)
			// Exec of a CALL drains every result.
			_, err = conn.ExecContext(ctx, "CALL rawmysql_proc(1, @b, @c)")
			require.NoError(t, err)
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT @b").Scan(&b))
			assert.Equal(t, 10, b)
		})
	}
}

// A 32 MiB argument goes through COM_STMT_SEND_LONG_DATA (COM_STMT_EXECUTE alone could not carry it past a
// smaller max_allowed_packet) and comes back intact.
func TestLongDataParameter32MiB(t *testing.T) {
	t.Parallel()
	db := openDB(t, "")
	var maxPacket int
	require.NoError(t, db.QueryRow("SELECT @@max_allowed_packet").Scan(&maxPacket))
	const size = 32 << 20
	if maxPacket < size+1024 {
		t.Skipf("server max_allowed_packet %d is too small to read back %d bytes", maxPacket, size)
	}
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	tbl := tableName(t)
	_, err = conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+tbl)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v LONGBLOB)")
	require.NoError(t, err)
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i*31 + i>>16)
	}
	before := comStmtCounters(t, conn)
	_, err = conn.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (?, ?)", 1, payload)
	require.NoError(t, err)
	after := comStmtCounters(t, conn)
	assert.Greater(t, after["Com_stmt_send_long_data"]-before["Com_stmt_send_long_data"], 0, "sent as long data")
	var got []byte
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT v FROM "+tbl+" WHERE id = ?", 1).Scan(&got))
	require.True(t, bytes.Equal(payload, got), "32 MiB value intact (%d bytes back)", len(got))
}

func TestLoadDataLocal(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, name VARCHAR(20))")

	dir := t.TempDir()
	path := filepath.Join(dir, "data.csv")
	require.NoError(t, os.WriteFile(path, []byte("1,alice\n2,bob\n"), 0o600))

	// Not registered: refused, nothing loaded, the connection stays usable.
	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	ctx := context.Background()
	_, err = conn.ExecContext(ctx, "LOAD DATA LOCAL INFILE '"+path+"' INTO TABLE "+tbl+" FIELDS TERMINATED BY ','")
	require.ErrorContains(t, err, "not registered")
	var n int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Equal(t, 0, n)

	RegisterLocalFile(path)
	defer DeregisterLocalFile(path)
	res, err := conn.ExecContext(ctx, "LOAD DATA LOCAL INFILE '"+path+"' INTO TABLE "+tbl+" FIELDS TERMINATED BY ','")
	require.NoError(t, err)
	affected, _ := res.RowsAffected()
	assert.Equal(t, int64(2), affected)

	// A registered reader, streamed in packets (3 MiB, several packets).
	var big bytes.Buffer
	for i := 3; i < 3+100000; i++ {
		fmt.Fprintf(&big, "%d,name%d\n", i, i)
	}
	RegisterReaderHandler("people", func() io.Reader { return bytes.NewReader(big.Bytes()) })
	defer DeregisterReaderHandler("people")
	res, err = db.Exec("LOAD DATA LOCAL INFILE 'Reader::people' INTO TABLE " + tbl + " FIELDS TERMINATED BY ','")
	require.NoError(t, err)
	affected, _ = res.RowsAffected()
	assert.Equal(t, int64(100000), affected)
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Equal(t, 100002, n)

	_, err = db.Exec("LOAD DATA LOCAL INFILE 'Reader::nobody' INTO TABLE " + tbl)
	require.EqualError(t, err, "reader 'nobody' is not registered", "go-sql-driver's text")
	var le *protocol.LocalInfileError
	require.ErrorAs(t, err, &le, "the protocol's error stays reachable")
	_, err = db.Exec("LOAD DATA LOCAL INFILE 'not-registered.csv' INTO TABLE " + tbl)
	require.EqualError(t, err, "local file 'not-registered.csv' is not registered", "go-sql-driver's text")

	// allowAllFiles=true allows any path.
	path2 := filepath.Join(dir, "other.csv")
	require.NoError(t, os.WriteFile(path2, []byte("900000,zed\n"), 0o600))
	dbAll := openDB(t, "allowAllFiles=true")
	_, err = dbAll.Exec("LOAD DATA LOCAL INFILE '" + path2 + "' INTO TABLE " + tbl + " FIELDS TERMINATED BY ','")
	require.NoError(t, err)
}
