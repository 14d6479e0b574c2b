package rawmysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The values a Batch of INSERTs stores are those Exec stores, for every type; with the prepared path (bulk
// execution on MariaDB), without bulk, and interpolated.
func TestSendBatchMatchesExec(t *testing.T) {
	for _, params := range []string{"parseTime=true&loc=Local", "interpolateParams=true&loc=America%2FNew_York", "stmtCacheSize=0"} {
		for _, noBulk := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/nobulk=%v", params, noBulk), func(t *testing.T) {
				db := openDB(t, params)
				ctx := context.Background()
				copyCompare(t, db, func(tbl string, rows [][]any) (int64, error) {
					b := &Batch{DisableBulk: noBulk}
					for _, r := range rows {
						b.Queue(insertSQL(tbl, len(r)), r...)
					}
					res := SendBatch(ctx, db, b)
					require.Len(t, res, len(rows))
					var n int64
					for i, r := range res {
						require.NoError(t, r.Err, "statement %d", i)
						if r.RunTotals {
							n += r.RowsAffected / int64(r.Combined)
						} else {
							n += r.RowsAffected
						}
					}
					return n, nil
				})
			})
		}
	}
}

// Results come back in order; a failing statement does not stop the ones after it; the connection stays
// usable; inside a transaction the batch is the statements run one by one.
func TestSendBatchErrorsInOrder(t *testing.T) {
	// compress=true and a packet tracer: the commands go out in windows instead of from a writer goroutine.
	for _, params := range []string{"", "interpolateParams=true", "stmtCacheSize=0", "compress=true"} {
		t.Run(params, func(t *testing.T) {
			db := openDB(t, params)
			ctx := context.Background()
			tbl := tableName(t)
			mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
			mustExec(t, db, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) UNIQUE)")
			t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
			for _, useTx := range []bool{false, true} {
				mustExec(t, db, "TRUNCATE TABLE "+tbl)
				// Outside a transaction, consecutive INSERTs would be one bulk execution on MariaDB (whose
				// failing row fails the run, see TestSendBatchBulk): here each runs on its own. Inside a
				// transaction bulk execution is off by itself.
				b := &Batch{DisableBulk: !useTx}
				ins := "INSERT INTO " + tbl + " (v) VALUES (?)"
				b.Queue(ins, "a")                                      // 0: id 1
				b.Queue(ins, "a")                                      // 1: duplicate
				b.Queue(ins, "b")                                      // 2: id 3 (the failed insert used 2)
				b.Queue("SELECT * FROM " + tbl)                        // 3: rows are skipped
				b.Queue("UPDATE "+tbl+" SET v = CONCAT(v, ?)", "x")    // 4: 2 rows
				b.Queue("INSERT INTO nonexistent_table VALUES (?)", 1) // 5: prepare fails
				b.Queue(ins, "c")                                      // 6
				b.Queue("SELEC 1")                                     // 7: syntax error
				b.Queue(ins, struct{}{})                               // 8: not bindable, not sent
				b.Queue("DELETE FROM "+tbl+" WHERE v = ?", "cx")       // 9: nothing matches (c has no x)
				var res BatchResults
				if useTx {
					tx, err := db.BeginTx(ctx, nil)
					require.NoError(t, err)
					res = SendBatch(ctx, tx, b)
					require.NoError(t, tx.Commit())
				} else {
					conn, err := db.Conn(ctx)
					require.NoError(t, err)
					res = SendBatch(ctx, conn, b)
					require.NoError(t, conn.PingContext(ctx), "the connection stays usable")
					conn.Close()
				}
				require.Len(t, res, 10)
				assert.NoError(t, res[0].Err)
				assert.Equal(t, int64(1), res[0].RowsAffected)
				assert.ErrorContains(t, res[1].Err, "Duplicate entry")
				assert.NoError(t, res[2].Err)
				assert.Equal(t, int64(1), res[2].RowsAffected)
				assert.NoError(t, res[3].Err)
				assert.NoError(t, res[4].Err)
				assert.Equal(t, int64(2), res[4].RowsAffected)
				assert.ErrorContains(t, res[5].Err, "nonexistent_table")
				assert.NoError(t, res[6].Err)
				assert.ErrorContains(t, res[7].Err, "SQL syntax")
				assert.ErrorContains(t, res[8].Err, "unsupported type")
				assert.NoError(t, res[9].Err)
				assert.Equal(t, int64(0), res[9].RowsAffected)
				assert.Equal(t, res[1].Err, res.Err())
				var got string
				require.NoError(t, db.QueryRow("SELECT GROUP_CONCAT(v ORDER BY id) FROM "+tbl).Scan(&got))
				assert.Equal(t, "ax,bx,c", got)
			}
		})
	}
}

// A prepare that fails is not followed by the execution of an older statement (MariaDB's "last prepared"
// id): the execute gets an error.
func TestSendBatchFailedPrepareRunsNothingElse(t *testing.T) {
	db := openDB(t, "")
	ctx := context.Background()
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" (v INT)")
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	b := &Batch{DisableBulk: true}
	b.Queue("INSERT INTO "+tbl+" VALUES (?)", 1)
	b.Queue("INSERT INTO "+tbl+" VALUES (?) bogus", 2)
	b.Queue("INSERT INTO "+tbl+" VALUES (?) bogus", 3)
	res := SendBatch(ctx, conn, b)
	require.NoError(t, res[0].Err)
	require.Error(t, res[1].Err)
	require.Error(t, res[2].Err)
	var n int
	require.NoError(t, conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n))
	assert.Equal(t, 1, n)
}

// Many statements, with replies larger than the socket buffers (SELECTs of 1000 rows): the pipeline must not
// deadlock, and prepares of many distinct statements interleave.
func TestSendBatchLargeRepliesNoDeadlock(t *testing.T) {
	db := openDB(t, "")
	ctx := context.Background()
	b := &Batch{}
	for i := 0; i < 300; i++ {
		b.Queue("SELECT REPEAT('x', 1000), seq FROM "+seqTable(1000)+" s WHERE seq > ?", i%7)
		b.Queue(fmt.Sprintf("DO %d + ?", i%5), i)
	}
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	res := SendBatch(ctx, conn, b)
	require.NoError(t, res.Err())
	require.Len(t, res, 600)
}

// Bulk execution on MariaDB: a run of one INSERT becomes one COM_STMT_BULK_EXECUTE.
func TestSendBatchBulk(t *testing.T) {
	db, tbl := mariadbTable(t, "(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20), n INT)")
	ctx := context.Background()
	b := &Batch{}
	for i := 0; i < 1000; i++ {
		var n any = i
		if i%10 == 0 {
			n = nil
		}
		b.Queue("INSERT INTO "+tbl+" (v, n) VALUES (?, ?)", strings.Repeat("v", i%20), n)
	}
	res := SendBatch(ctx, db, b)
	require.NoError(t, res.Err())
	assert.Equal(t, 1000, res[0].Combined)
	if serverHasBulkUnitResults(t, db) { // MariaDB 11.5.1+: each statement's own result
		for i := range res {
			assert.Equal(t, BatchResult{RowsAffected: 1, LastInsertId: int64(i + 1), Combined: 1000}, res[i], "statement %d", i)
		}
	} else { // the run's totals
		assert.Equal(t, BatchResult{RowsAffected: 1000, LastInsertId: 1, Combined: 1000, RunTotals: true}, res[999])
	}
	var cnt, nulls int
	require.NoError(t, db.QueryRow("SELECT COUNT(*), SUM(n IS NULL) FROM "+tbl).Scan(&cnt, &nulls))
	assert.Equal(t, 1000, cnt)
	assert.Equal(t, 100, nulls)

	// A failing row fails the whole run (the statement is rolled back), the statements after it still run.
	mustExec(t, db, "TRUNCATE TABLE "+tbl)
	mustExec(t, db, "ALTER TABLE "+tbl+" ADD UNIQUE (n)")
	b = &Batch{}
	for i := 0; i < 10; i++ {
		b.Queue("INSERT INTO "+tbl+" (v, n) VALUES (?, ?)", "x", i%6)
	}
	b.Queue("INSERT INTO " + tbl + " (v, n) VALUES ('after', 100)")
	res = SendBatch(ctx, db, b)
	require.Error(t, res[0].Err)
	require.NoError(t, res[10].Err)
	var vs string
	require.NoError(t, db.QueryRow("SELECT GROUP_CONCAT(v ORDER BY id) FROM "+tbl).Scan(&vs))
	t.Logf("after a failed bulk run: %q", vs)
}

func serverIsMariaDB(t *testing.T, db *sql.DB) bool { return !serverIsMySQL(t, db) }

// mariadbTable opens the test server, skips unless it is a MariaDB (COM_STMT_BULK_EXECUTE is MariaDB's), and
// creates the test's table with the given definition (dropped at cleanup).
func mariadbTable(t *testing.T, definition string) (*sql.DB, string) {
	db := openDB(t, "")
	if !serverIsMariaDB(t, db) {
		t.Skip("COM_STMT_BULK_EXECUTE is MariaDB's")
	}
	tbl := tableName(t)
	mustExec(t, db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, db, "CREATE TABLE "+tbl+" "+definition)
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + tbl) })
	return db, tbl
}

// serverHasBulkUnitResults reports whether db's connections report each row of a bulk execution
// (MARIADB_CLIENT_BULK_UNIT_RESULTS, MariaDB 11.5.1+).
func serverHasBulkUnitResults(t *testing.T, db *sql.DB) bool {
	sc, err := db.Conn(context.Background())
	require.NoError(t, err)
	defer sc.Close()
	var has bool
	require.NoError(t, sc.Raw(func(dc any) error {
		has = dc.(*conn).pc.MariaDBCapabilities()&protocol.MariaDBClientBulkUnitResults != 0
		return nil
	}))
	return has
}

// With a packet tracer the commands go out in windows (the tracer is not called from two goroutines); every
// command and reply is traced, and the results are those of the pipelined path.
func TestSendBatchTracedWindows(t *testing.T) {
	cfg, err := ParseDSN(testserver.Get(t).DSN(""))
	require.NoError(t, err)
	var mu sync.Mutex
	out, in := 0, 0
	cfg.PacketTrace = func(dir byte, seq uint8, payload []byte) {
		mu.Lock()
		if dir == '>' {
			out++
		} else {
			in++
		}
		mu.Unlock()
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	b := &Batch{}
	for i := 0; i < 3000; i++ {
		b.Queue("SELECT ?", strings.Repeat("x", i%100))
	}
	mu.Lock()
	out0 := out
	mu.Unlock()
	res := SendBatch(context.Background(), db, b)
	require.NoError(t, res.Err())
	mu.Lock()
	defer mu.Unlock()
	assert.GreaterOrEqual(t, out-out0, 3000)
}

// Inside a transaction a run of one INSERT is one COM_STMT_BULK_EXECUTE too (guarded by a savepoint), with the
// semantics of executing the statements one by one: when a row fails, the statements before and after it are
// kept and only it reports the error.
func TestSendBatchBulkInTransaction(t *testing.T) {
	db, tbl := mariadbTable(t, "(id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	ctx := context.Background()
	ins := "INSERT INTO " + tbl + " (id, v) VALUES (?, ?)"

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	b := &Batch{}
	for i := 1; i <= 100; i++ {
		b.Queue(ins, i, fmt.Sprint("r", i))
	}
	res := SendBatch(ctx, tx, b)
	require.NoError(t, res.Err())
	assert.Equal(t, 100, res[0].Combined, "the run inside the transaction was not one bulk execution")
	if res[99].RunTotals {
		assert.Equal(t, int64(100), res[99].RowsAffected)
	} else {
		assert.Equal(t, int64(1), res[99].RowsAffected)
	}

	// Row 5 of the next run collides with row 5 above: sequential execution keeps the other 19.
	b = &Batch{}
	for i := 1; i <= 20; i++ {
		id := 100 + i
		if i == 5 {
			id = 5
		}
		b.Queue(ins, id, fmt.Sprint("s", i))
	}
	b.Queue("UPDATE " + tbl + " SET v = 'after' WHERE id = 1")
	res = SendBatch(ctx, tx, b)
	for i := 0; i < 20; i++ {
		if i == 4 {
			var me *MySQLError
			require.ErrorAs(t, res[i].Err, &me, "statement %d", i)
			assert.Equal(t, uint16(1062), me.Number)
			continue
		}
		require.NoError(t, res[i].Err, "statement %d", i)
		assert.Equal(t, int64(1), res[i].RowsAffected, "statement %d", i)
	}
	require.NoError(t, res[20].Err)
	assert.Equal(t, int64(1), res[20].RowsAffected)
	require.NoError(t, tx.Commit())

	var cnt int
	var v1, v5 string
	require.NoError(t, db.QueryRow("SELECT COUNT(*), MAX(IF(id = 1, v, NULL)), MAX(IF(id = 5, v, NULL)) FROM "+tbl).Scan(&cnt, &v1, &v5))
	assert.Equal(t, 119, cnt)
	assert.Equal(t, "after", v1)
	assert.Equal(t, "r5", v5)
}

// A run that fails inside a transaction on a non-transactional table is not run again statement by statement:
// the rows it wrote before the failing one stay (ROLLBACK TO SAVEPOINT cannot undo them and warns), so running
// them again would write them twice. Every statement of the run reports the error, as outside a transaction.
func TestSendBatchBulkInTransactionNonTransactionalTable(t *testing.T) {
	db, tbl := mariadbTable(t, "(k INT, v VARCHAR(20) NOT NULL) ENGINE=MyISAM")
	ctx := context.Background()
	conn := sessionConn(t, db, "SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
	tx, err := conn.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	b := &Batch{}
	for i := 1; i <= 20; i++ {
		var v any = "x"
		if i == 10 {
			v = nil // NOT NULL: error 1048 at the tenth row, after nine rows written
		}
		b.Queue("INSERT INTO "+tbl+" (k, v) VALUES (?, ?)", i, v)
	}
	res := SendBatch(ctx, tx, b)
	var cnt, distinct int
	require.NoError(t, tx.QueryRow("SELECT COUNT(*), COUNT(DISTINCT k) FROM "+tbl).Scan(&cnt, &distinct))
	assert.Equal(t, distinct, cnt, "a row was written twice")
	assert.Less(t, cnt, 20)
	for i := range res {
		assert.Error(t, res[i].Err, "statement %d", i)
	}
}

// With autocommit off (no explicit transaction), the statements of a batch run in the session's implicit
// transaction: a failing row of a bulk run keeps the others, as in TestSendBatchBulkInTransaction.
func TestSendBatchBulkAutocommitOff(t *testing.T) {
	db, tbl := mariadbTable(t, "(id INT PRIMARY KEY) ENGINE=InnoDB")
	ctx := context.Background()
	conn := sessionConn(t, db, "SET autocommit = 0")
	b := &Batch{}
	for i := 1; i <= 20; i++ {
		b.Queue("INSERT INTO "+tbl+" (id) VALUES (?)", min(i, 19)) // the 20th collides with the 19th
	}
	res := SendBatch(ctx, conn, b)
	for i := 0; i < 19; i++ {
		require.NoError(t, res[i].Err, "statement %d", i)
	}
	require.Error(t, res[19].Err)
	mustExec(t, conn, "COMMIT")
	mustExec(t, conn, "SET autocommit = 1")
	var cnt int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl).Scan(&cnt))
	assert.Equal(t, 19, cnt)
}

// A bulk run whose error ends the transaction (a deadlock: InnoDB rolls the victim's transaction back) cannot
// be rolled back to its savepoint: its statements are not run again (outside the transaction they would commit
// rows the caller believes rolled back) and each reports the deadlock.
func TestSendBatchBulkInTransactionDeadlock(t *testing.T) {
	db, tbl := mariadbTable(t, "(id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
	db.SetMaxOpenConns(4)
	ctx := context.Background()
	mustExec(t, db, "INSERT INTO "+tbl+" SELECT seq, 0 FROM "+seqTable(2000)+" s")

	// The other transaction holds row 1 and 1,000 more (heavier: InnoDB picks the batch's as the victim).
	other, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer other.Rollback()
	_, err = other.ExecContext(ctx, "UPDATE "+tbl+" SET v = 1 WHERE id = 1 OR id > 1000")
	require.NoError(t, err)

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, "UPDATE "+tbl+" SET v = 2 WHERE id = 2")
	require.NoError(t, err)
	blocked := make(chan error, 1)
	go func() { // waits for row 2, held by tx
		_, err := other.ExecContext(ctx, "UPDATE "+tbl+" SET v = 1 WHERE id = 2")
		blocked <- err
	}()
	time.Sleep(300 * time.Millisecond)

	b := &Batch{}
	for _, id := range []int{10, 11, 12, 13, 1, 14, 15, 16, 17, 18} { // row 1 closes the cycle
		b.Queue("UPDATE "+tbl+" SET v = 2 WHERE id = ?", id)
	}
	res := SendBatch(ctx, tx, b)
	require.NoError(t, <-blocked, "the other transaction was the victim")
	require.NoError(t, other.Commit())
	for i := range res {
		var me *MySQLError
		if assert.ErrorAs(t, res[i].Err, &me, "statement %d", i) {
			assert.Equal(t, uint16(1213), me.Number, "statement %d", i)
		}
	}
	var twos int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+tbl+" WHERE v = 2").Scan(&twos))
	assert.Zero(t, twos, "rows of the rolled-back transaction were written")
}
