package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyColumns is a table of every kind of column CopyFrom and Exec are compared on.
const copyColumns = `id INT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, f FLOAT, d DOUBLE, dc DECIMAL(30,10),
	b TINYINT, s VARCHAR(200) CHARACTER SET utf8mb4, l1 VARCHAR(50) CHARACTER SET latin1, bin VARBINARY(300),
	bl BLOB, tx TEXT, js JSON, dt DATETIME(6), da DATE, ts TIMESTAMP(3) NULL, tm TIME(6), yr YEAR, bt BIT(8),
	en ENUM('a','b')`

var copyColumnNames = []string{"id", "i", "u", "f", "d", "dc", "b", "s", "l1", "bin", "bl", "tx", "js", "dt", "da", "ts", "tm", "yr", "bt", "en"}

// copyRows returns rows of values of every type the driver binds, with the awkward ones (tabs, newlines,
// backslashes, \N, NUL, every byte value, extreme numbers, times in another location).
func copyRows() [][]any {
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	berlin := time.FixedZone("X", 2*3600)
	str := "héllo\tworld\nline2\r\\N \\ '\"\x00\x1a end"
	f32 := float32(1.1)
	var nilPtr *int64
	rows := [][]any{
		{1, int64(math.MinInt64), uint64(math.MaxUint64), float32(3.4e38), math.MaxFloat64, "12345678901234567890.0123456789", true,
			str, "café", allBytes, allBytes, strings.Repeat("x\t", 500), json.RawMessage(`{"a":[1,"\t\n\\"]}`),
			time.Date(2024, 2, 29, 12, 34, 56, 123456000, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC), "-838:59:59.000000", 2155, []byte{0xff}, "b"},
		{2, int64(math.MaxInt64), uint64(0), &f32, -2.2250738585072014e-308, "-0.5", false,
			"\\N", "", []byte{}, []byte("\\N"), "", json.RawMessage(`"s"`),
			time.Date(2001, 2, 3, 4, 5, 6, 0, berlin), time.Date(2000, 2, 29, 0, 0, 0, 0, berlin), nil, "00:00:00.5", 1901, []byte{0}, "a"},
		{3, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{4, nilPtr, int32(5), 0.0, 1e-300, "0", int8(1), "NULL", "N", []byte("\t\n\r\\"), []byte(nil), "\\", json.RawMessage(nil),
			time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2000, 1, 1, 0, 0, 1, 0, time.UTC), "12:00", 69, []byte{0x55}, "a"},
	}
	return rows
}

// dumpTable returns every row of tbl in id order, each value as the driver returns it (nil for NULL).
func dumpTable(t *testing.T, db *sql.DB, tbl string) [][]any {
	t.Helper()
	rs, err := db.Query("SELECT * FROM " + tbl + " ORDER BY 1")
	require.NoError(t, err)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		out = append(out, vals)
	}
	require.NoError(t, rs.Err())
	return out
}

func insertSQL(tbl string, n int) string {
	return "INSERT INTO " + tbl + " (" + strings.Join(copyColumnNames, ",") + ") VALUES (" + strings.Repeat("?,", n-1) + "?)"
}

// copyCompare copies copyRows with CopyFrom into one table and inserts them with Exec into another, and
// checks both tables hold the same values.
func copyCompare(t *testing.T, db *sql.DB, via func(tbl string, rows [][]any) (int64, error)) {
	base := tableName(t)
	tExec, tCopy := base+"_e", base+"_c"
	for _, tbl := range []string{tExec, tCopy} {
		mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
		mustExec(t, db, "CREATE TABLE "+tbl+" ("+copyColumns+") CHARACTER SET utf8mb4")
		t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	}
	rows := copyRows()
	for _, r := range rows {
		_, err := db.Exec(insertSQL(tExec, len(r)), r...)
		require.NoError(t, err)
	}
	n, err := via(tCopy, rows)
	require.NoError(t, err)
	assert.Equal(t, int64(len(rows)), n)
	want, got := dumpTable(t, db, tExec), dumpTable(t, db, tCopy)
	require.Len(t, got, len(want))
	for i := range want {
		for j := range want[i] {
			assert.Equal(t, want[i][j], got[i][j], "row %d column %s", i+1, copyColumnNames[j])
		}
	}
}

// CopyFrom stores exactly what Exec with the same arguments stores, for every type, through a *sql.DB, a
// *sql.Conn and a *sql.Tx, with the text and the binary protocol for the Exec side.
func TestCopyFromMatchesExec(t *testing.T) {
	for _, params := range []string{"parseTime=true&loc=Local", "interpolateParams=true&loc=America%2FNew_York", ""} {
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			ctx := context.Background()
			t.Run("DB", func(t *testing.T) {
				copyCompare(t, db, func(tbl string, rows [][]any) (int64, error) {
					return CopyFrom(ctx, db, tbl, copyColumnNames, CopyFromRows(rows))
				})
			})
			t.Run("Tx", func(t *testing.T) {
				copyCompare(t, db, func(tbl string, rows [][]any) (int64, error) {
					tx, err := db.BeginTx(ctx, nil)
					require.NoError(t, err)
					i := 0
					n, err := CopyFrom(ctx, tx, tbl, copyColumnNames, CopyFromFunc(func() ([]any, error) {
						if i == len(rows) {
							return nil, nil
						}
						i++
						return rows[i-1], nil
					}))
					require.NoError(t, err)
					return n, tx.Commit()
				})
			})
			t.Run("Conn", func(t *testing.T) {
				copyCompare(t, db, func(tbl string, rows [][]any) (int64, error) {
					c, err := db.Conn(ctx)
					require.NoError(t, err)
					defer c.Close()
					ch := make(chan []any)
					go func() {
						for _, r := range rows {
							ch <- r
						}
						close(ch)
					}()
					return CopyFrom(ctx, c, tbl, copyColumnNames, CopyFromChan(ch))
				})
			})
		})
	}
}

// A value the driver cannot bind stops the copy with the row's number; nothing of the copy is stored and the
// connection stays usable. The same for the RowSource's own error.
func TestCopyFromRowErrors(t *testing.T) {
	db := openDB(t, "")
	db.SetMaxOpenConns(1)
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(10000)) ENGINE=InnoDB")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	ctx := context.Background()
	for _, badAt := range []int{1, 7, 20000} { // in the first chunk (nothing sent yet) and after data went out
		t.Run(fmt.Sprint(badAt), func(t *testing.T) {
			i := 0
			n, err := CopyFrom(ctx, db, tbl, []string{"id", "v"}, CopyFromFunc(func() ([]any, error) {
				i++
				if i == badAt {
					return []any{i, struct{}{}}, nil
				}
				return []any{i, strings.Repeat("v", 100)}, nil
			}))
			var ce *CopyFromError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, int64(badAt), ce.Row)
			assert.Contains(t, err.Error(), fmt.Sprintf("row %d: column 2: unsupported type struct {}", badAt))
			assert.Zero(t, n)
			var count int
			require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&count))
			assert.Zero(t, count)
		})
	}
	srcErr := errors.New("source broke")
	i := 0
	_, err := CopyFrom(ctx, db, tbl, []string{"id", "v"}, CopyFromFunc(func() ([]any, error) {
		if i++; i == 3 {
			return nil, srcErr
		}
		return []any{i, "x"}, nil
	}))
	require.ErrorIs(t, err, srcErr)
	var ce *CopyFromError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, int64(3), ce.Row)
	_, err = CopyFrom(ctx, db, tbl, []string{"id", "v"}, CopyFromRows([][]any{{1, "a"}, {2}}))
	require.ErrorContains(t, err, "row 2: 1 values for 2 columns")
}

// Identifiers are quoted: table and column names with backticks, spaces and reserved words.
func TestCopyFromQuotesIdentifiers(t *testing.T) {
	db := openDB(t, "")
	tbl := "t_copy `odd` name"
	q := quoteIdent(tbl)
	mustExec(t, db, "DROP TABLE IF EXISTS "+q)
	mustExec(t, db, "CREATE TABLE "+q+" (`select` INT, `a``b c` VARCHAR(10))")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + q) })
	var dbName string
	require.NoError(t, db.QueryRow("SELECT DATABASE()").Scan(&dbName))
	n, err := CopyFrom(context.Background(), db, dbName+"."+tbl, []string{"select", "a`b c"}, CopyFromRows([][]any{{1, "x"}, {2, "y"}}))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	var s string
	require.NoError(t, db.QueryRow("SELECT GROUP_CONCAT(`select`, `a``b c` ORDER BY 1) FROM "+q).Scan(&s))
	assert.Equal(t, "1x,2y", s)
}

// A duplicate key is skipped by LOAD DATA LOCAL (as with IGNORE): CopyFrom says how many rows were stored.
func TestCopyFromReportsSkippedRows(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY)")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	n, err := CopyFrom(context.Background(), db, tbl, []string{"id"}, CopyFromRows([][]any{{1}, {1}, {2}}))
	require.ErrorContains(t, err, "stored 2 of the 3 rows")
	assert.Equal(t, int64(2), n)
}

// With the server's local_infile off, CopyFrom falls back to multi-row INSERTs and stores the same values;
// the statements are sized to max_allowed_packet.
func TestCopyFromFallbackInsert(t *testing.T) {
	probe := openDB(t, "")
	var on int
	require.NoError(t, probe.QueryRow("SELECT @@GLOBAL.local_infile").Scan(&on))
	db := probe
	if on != 0 {
		if testing.Short() {
			t.Skip("starts a second server")
		}
		if serverIsMySQL(t, probe) {
			// A MySQL test server (a container of its own): switch local_infile off for this test.
			if _, err := probe.Exec("SET GLOBAL local_infile = OFF"); err != nil {
				t.Skipf("the test server has local_infile ON and it cannot be switched off here: %v", err)
			}
			t.Cleanup(func() { probe.Exec("SET GLOBAL local_infile = ON") })
		}
	}
	if on != 0 && !serverIsMySQL(t, probe) {
		srv := testserver.StartPrivate(t, "--local-infile=0", "--max-allowed-packet=1M")
		var err error
		db, err = sql.Open("rawmysql", srv.DSN("maxAllowedPacket=0"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
	}
	ctx := context.Background()
	copyCompare(t, db, func(tbl string, rows [][]any) (int64, error) {
		return CopyFrom(ctx, db, tbl, copyColumnNames, CopyFromRows(rows))
	})

	// Many rows larger in total than max_allowed_packet: several statements.
	var maxPacket int
	require.NoError(t, db.QueryRow("SELECT @@max_allowed_packet").Scan(&maxPacket))
	tbl := tableName(t) + "_big"
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v TEXT)")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	val := strings.Repeat("z", 2000)
	rows := 3*maxPacket/len(val) + 10
	i := 0
	n, err := CopyFrom(ctx, db, tbl, []string{"id", "v"}, CopyFromFunc(func() ([]any, error) {
		if i == rows {
			return nil, nil
		}
		i++
		return []any{i, val}, nil
	}))
	require.NoError(t, err)
	assert.Equal(t, int64(rows), n)
	var got, sum int
	require.NoError(t, db.QueryRow("SELECT COUNT(*), SUM(LENGTH(v)) FROM "+tbl).Scan(&got, &sum))
	assert.Equal(t, rows, got)
	assert.Equal(t, rows*len(val), sum)
}

// The local decoder agrees with the server: fuzz-like strings loaded through CopyFrom read back identical.
func TestCopyFromEscapingOnServer(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, b BLOB, s TEXT CHARACTER SET utf8mb4)")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	specials := []byte{0, '\\', '\t', '\n', '\r', 0x1a, 'N', '\b', '"', '\'', 0xff, 0xf0, 0xc3, 0xa9}
	var rows [][]any
	var want [][]byte
	seed := uint32(1)
	for i := 0; i < 500; i++ {
		var v []byte
		for j := 0; j < i%17; j++ {
			seed = seed*1664525 + 1013904223
			v = append(v, specials[int(seed>>24)%len(specials)])
		}
		if v == nil {
			v = []byte{}
		}
		want = append(want, v)
		rows = append(rows, []any{i, v, "é" + string(bytes.ToValidUTF8(v, nil))})
	}
	_, err := CopyFrom(context.Background(), db, tbl, []string{"id", "b", "s"}, CopyFromRows(rows))
	require.NoError(t, err)
	rs, err := db.Query("SELECT id, b, s FROM " + tbl + " ORDER BY id")
	require.NoError(t, err)
	defer rs.Close()
	for rs.Next() {
		var id int
		var b []byte
		var s string
		require.NoError(t, rs.Scan(&id, &b, &s))
		assert.Equal(t, want[id], b, "row %d", id)
		assert.Equal(t, "é"+string(bytes.ToValidUTF8(want[id], nil)), s, "row %d", id)
	}
	require.NoError(t, rs.Err())
}

// Cancelling the context while the rows stream ends CopyFrom with the context's error; the statement is
// aborted (nothing stored) and the pool keeps working.
func TestCopyFromCancelMidStream(t *testing.T) {
	db := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	_, err := CopyFrom(ctx, db, tbl, []string{"id", "v"}, CopyFromFunc(func() ([]any, error) {
		i++
		if i == 50000 {
			cancel()
		}
		if i > 200000 {
			return nil, nil
		}
		return []any{i, strings.Repeat("c", 50)}, nil
	}))
	require.ErrorIs(t, err, context.Canceled)
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Zero(t, n)
}

// A TEMPORARY table (seen by its connection only, and not by information_schema): text in another character
// set than the connection's is converted, JSON accepted, bytes kept.
func TestCopyFromTemporaryTable(t *testing.T) {
	db := openDB(t, "")
	ctx := context.Background()
	c := sessionConn(t, db)
	mustExec(t, c, "CREATE TEMPORARY TABLE t_copy_tmp (id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1, "+
		"s VARCHAR(20) CHARACTER SET utf8mb4, js JSON, b BLOB)")
	defer c.ExecContext(ctx, "DROP TEMPORARY TABLE t_copy_tmp")
	rows := [][]any{{1, "héllo", "wörld ✓", `{"a": "é"}`, []byte{0xf0, '\\', '\t', 0}}, {2, nil, "", "[]", []byte{}}}
	n, err := CopyFrom(ctx, c, "t_copy_tmp", []string{"id", "l1", "s", "js", "b"}, CopyFromRows(rows))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	var l1 sql.NullString
	var s, js string
	var b []byte
	require.NoError(t, c.QueryRowContext(ctx, "SELECT l1, s, js, b FROM t_copy_tmp WHERE id = 1").Scan(&l1, &s, &js, &b))
	assert.Equal(t, "héllo", l1.String, "latin1 column: converted from the connection's utf8mb4")
	assert.Equal(t, "wörld ✓", s)
	assert.JSONEq(t, `{"a": "é"}`, js)
	assert.Equal(t, []byte{0xf0, '\\', '\t', 0}, b)
	var hexL1 string
	require.NoError(t, c.QueryRowContext(ctx, "SELECT HEX(l1) FROM t_copy_tmp WHERE id = 1").Scan(&hexL1))
	assert.Equal(t, "68E96C6C6F", hexL1, "stored as latin1 bytes")
	require.NoError(t, c.QueryRowContext(ctx, "SELECT l1, s, js, b FROM t_copy_tmp WHERE id = 2").Scan(&l1, &s, &js, &b))
	assert.False(t, l1.Valid)
	assert.Equal(t, "", s)
	assert.Equal(t, []byte{}, b)
}

// With a client character set whose multibyte characters can hold a 0x5C byte (sjis, gbk), the binary LOAD DATA
// file still carries them: every 0x5C byte is escaped and comes back as itself. Values read back as Exec stores
// them, in a column of that character set, a utf8mb4 one (converted) and a binary one; and LOAD DATA was used.
func TestCopyFromMultibyteUnsafeCharset(t *testing.T) {
	for _, tc := range []struct{ charset, char string }{
		{"sjis", "\x95\x5c"}, // one sjis character whose second byte is a backslash
		{"gbk", "\xd5\x5c"},  // the same in gbk
	} {
		t.Run(tc.charset, func(t *testing.T) {
			db := openDB(t, "charset="+tc.charset)
			ctx := context.Background()
			c := sessionConn(t, db)
			base := tableName(t)
			cols := " (id INT PRIMARY KEY, m VARCHAR(20) CHARACTER SET " + tc.charset +
				", u VARCHAR(20) CHARACTER SET utf8mb4, b VARBINARY(20))"
			for _, tbl := range []string{base + "_e", base + "_c"} {
				mustExec(t, c, "DROP TABLE IF EXISTS "+tbl)
				mustExec(t, c, "CREATE TABLE "+tbl+cols)
				t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
			}
			v := "a" + tc.char + "\t" + tc.char + "\\"
			rows := [][]any{{1, v, v, []byte(v)}, {2, tc.char, tc.char, []byte(tc.char)}}
			for _, r := range rows {
				_, err := c.ExecContext(ctx, "INSERT INTO "+base+"_e VALUES (?, ?, ?, ?)", r...)
				require.NoError(t, err)
			}
			var before, after int
			var name string
			require.NoError(t, c.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_load'").Scan(&name, &before))
			n, err := CopyFrom(ctx, c, base+"_c", []string{"id", "m", "u", "b"}, CopyFromRows(rows))
			require.NoError(t, err)
			assert.Equal(t, int64(2), n)
			require.NoError(t, c.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_load'").Scan(&name, &after))
			assert.Equal(t, before+1, after, "one LOAD DATA (not the INSERT fallback)")
			dump := func(tbl string) string {
				var s string
				require.NoError(t, c.QueryRowContext(ctx, "SELECT GROUP_CONCAT(HEX(m), '/', HEX(u), '/', HEX(b) ORDER BY id) FROM "+tbl).Scan(&s))
				return s
			}
			want := dump(base + "_e")
			assert.Equal(t, want, dump(base+"_c"))
			assert.Contains(t, want, strings.ToUpper(hex.EncodeToString([]byte(v))), "the m column holds the bytes sent")
		})
	}
}
