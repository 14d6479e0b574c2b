package scenario

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rawmysql/rawmysql"
	"github.com/stretchr/testify/require"
)

// sqlScenarios go through database/sql directly.
var sqlScenarios = []scenario{
	{"migration", sqlMigration},
	{"crud", sqlCRUD},
	{"transactions", sqlTransactions},
	{"nulls", sqlNulls},
	{"time", sqlTime},
	{"batch", sqlBatch},
	{"joins", sqlJoins},
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t *testing.T, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, q string, args ...any) sql.Result {
	t.Helper()
	res, err := db.ExecContext(ctxT(t), q, args...)
	require.NoError(t, err, q)
	return res
}

// createUsers creates the users table the scenarios share (dropping an old one).
func createUsers(t *testing.T, e *env) string {
	users := e.table("users")
	mustExec(t, e.db, "DROP TABLE IF EXISTS "+users)
	mustExec(t, e.db, `CREATE TABLE `+users+` (
		id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
		name VARCHAR(100) NOT NULL,
		email VARCHAR(100) NULL,
		age INT NULL,
		balance DECIMAL(12,2) NULL,
		created_at DATETIME(6) NULL
	)`)
	return users
}

func sqlMigration(t *testing.T, e *env) []string {
	users := createUsers(t, e)
	mustExec(t, e.db, "ALTER TABLE "+users+" ADD COLUMN active TINYINT(1) NOT NULL DEFAULT 1")
	mustExec(t, e.db, "CREATE INDEX "+e.table("users_email")+" ON "+users+" (email)")
	rows, err := e.db.QueryContext(ctxT(t), "SELECT * FROM "+users+" WHERE 1 = 0")
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	require.NoError(t, err)
	var obs []string
	for _, c := range cols {
		nullable, _ := c.Nullable()
		obs = append(obs, obsf("column."+c.Name(), "%s nullable=%v scan=%v", c.DatabaseTypeName(), nullable, c.ScanType()))
		if p, s, ok := c.DecimalSize(); ok {
			obs = append(obs, obsf("decimal."+c.Name(), "%d,%d", p, s))
		}
	}
	require.NoError(t, rows.Close())
	mustExec(t, e.db, "ALTER TABLE "+users+" DROP COLUMN active")
	var n int
	require.NoError(t, e.db.QueryRowContext(ctxT(t), "SELECT COUNT(*) FROM "+users).Scan(&n))
	return append(obs, obsf("count", "%d", n))
}

func sqlCRUD(t *testing.T, e *env) []string {
	users := createUsers(t, e)
	ctx := ctxT(t)
	res := mustExec(t, e.db, "INSERT INTO "+users+" (name, email, age, balance) VALUES (?, ?, ?, ?)", "Ada", "ada@example.com", 36, "10.50")
	id, err := res.LastInsertId()
	require.NoError(t, err)
	affected, err := res.RowsAffected()
	require.NoError(t, err)
	obs := []string{obsf("insert.id", "%d", id), obsf("insert.affected", "%d", affected)}
	res = mustExec(t, e.db, "INSERT INTO "+users+" (name, age) VALUES (?, ?)", "Grace", 45)
	id2, _ := res.LastInsertId()
	obs = append(obs, obsf("insert2.id", "%d", id2))

	var name, email string
	var age int64
	var balance float64
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT name, email, age, balance FROM "+users+" WHERE id = ?", id).Scan(&name, &email, &age, &balance))
	obs = append(obs, obsf("read", "%s %s %d %.2f", name, email, age, balance))

	res = mustExec(t, e.db, "UPDATE "+users+" SET age = age + ? WHERE name IN (?, ?)", 1, "Ada", "Grace")
	n, _ := res.RowsAffected()
	obs = append(obs, obsf("update.affected", "%d", n))
	res = mustExec(t, e.db, "UPDATE "+users+" SET age = age WHERE id = ?", id)
	n, _ = res.RowsAffected()
	obs = append(obs, obsf("update.unchanged.affected", "%d", n))

	// Raw bytes and strings of the same column.
	var raw sql.RawBytes
	rows, err := e.db.QueryContext(ctx, "SELECT balance FROM "+users+" WHERE id = ?", id)
	require.NoError(t, err)
	require.True(t, rows.Next())
	require.NoError(t, rows.Scan(&raw))
	obs = append(obs, obsf("balance.raw", "%s", raw))
	require.NoError(t, rows.Close())

	// Scanning into any shows the Go types each driver returns.
	var vID, vName, vAge, vBal any
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT id, name, age, balance FROM "+users+" WHERE id = ?", id).Scan(&vID, &vName, &vAge, &vBal))
	obs = append(obs, obsf("any.prepared", "%T %T %T %T", vID, vName, vAge, vBal))
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT id, name, age, balance FROM "+users+" WHERE id = "+fmt.Sprint(id)).Scan(&vID, &vName, &vAge, &vBal))
	obs = append(obs, obsf("any.text", "%T %T %T %T", vID, vName, vAge, vBal))

	res = mustExec(t, e.db, "DELETE FROM "+users+" WHERE id = ?", id2)
	n, _ = res.RowsAffected()
	obs = append(obs, obsf("delete.affected", "%d", n))
	err = e.db.QueryRowContext(ctx, "SELECT name FROM "+users+" WHERE id = ?", id2).Scan(&name)
	obs = append(obs, obsf("deleted.err", "%v", err))

	_, err = e.db.ExecContext(ctx, "INSERT INTO "+users+" (id, name) VALUES (?, ?)", id, "dup")
	require.Error(t, err)
	// MySQL names the key with its table ('<users>.PRIMARY'); each driver has its own table.
	text := strings.ReplaceAll(err.Error(), users+".", "<users>.")
	obs = append(obs, obsf("duplicate.code", "%s", errCode(err)), obsf("duplicate.text", "%s", text))
	return obs
}

func sqlTransactions(t *testing.T, e *env) []string {
	users := createUsers(t, e)
	ctx := ctxT(t)
	count := func() int {
		var n int
		require.NoError(t, e.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+users).Scan(&n))
		return n
	}
	tx, err := e.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	mustExec(t, tx, "INSERT INTO "+users+" (name) VALUES (?)", "rolled back")
	var inTx int
	require.NoError(t, tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+users).Scan(&inTx))
	require.NoError(t, tx.Rollback())
	obs := []string{obsf("in_tx", "%d", inTx), obsf("after_rollback", "%d", count())}

	tx, err = e.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	require.NoError(t, err)
	st, err := tx.PrepareContext(ctx, "INSERT INTO "+users+" (name, age) VALUES (?, ?)")
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		_, err := st.ExecContext(ctx, fmt.Sprintf("user%d", i), i)
		require.NoError(t, err)
	}
	require.NoError(t, st.Close())
	require.NoError(t, tx.Commit())
	obs = append(obs, obsf("after_commit", "%d", count()))
	obs = append(obs, obsf("commit_twice", "%v", tx.Commit()))

	// An error inside a transaction does not end it.
	tx, err = e.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, "INSERT INTO "+e.table("no_such_table")+" VALUES (1)")
	obs = append(obs, obsf("error_in_tx", "%v", err != nil))
	mustExec(t, tx, "INSERT INTO "+users+" (name) VALUES ('after error')")
	require.NoError(t, tx.Commit())
	obs = append(obs, obsf("after_error_commit", "%d", count()))

	// Read-only transactions.
	tx, err = e.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		var n int
		err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+users).Scan(&n)
		obs = append(obs, obsf("readonly.read", "%v %d", err, n))
		_ = tx.Rollback()
	} else {
		obs = append(obs, obsf("readonly.begin", "%v", err))
	}
	return obs
}

func sqlNulls(t *testing.T, e *env) []string {
	users := createUsers(t, e)
	ctx := ctxT(t)
	mustExec(t, e.db, "INSERT INTO "+users+" (name, email, age, balance, created_at) VALUES (?, ?, ?, ?, ?)", "nulls", nil, nil, nil, nil)
	mustExec(t, e.db, "INSERT INTO "+users+" (name, email, age, balance, created_at) VALUES (?, ?, ?, ?, ?)",
		"values", sql.NullString{String: "x@example.com", Valid: true}, sql.NullInt64{Int64: 7, Valid: true}, 1.25, sql.NullTime{Time: refTime, Valid: true})
	var obs []string
	for _, name := range []string{"nulls", "values"} {
		for _, mode := range []string{"prepared", "text"} {
			q := "SELECT email, age, balance, created_at FROM " + users + " WHERE name = ?"
			args := []any{name}
			if mode == "text" {
				q = "SELECT email, age, balance, created_at FROM " + users + " WHERE name = '" + name + "'"
				args = nil
			}
			var email sql.NullString
			var age sql.NullInt64
			var balance sql.NullFloat64
			var created sql.NullTime
			require.NoError(t, e.db.QueryRowContext(ctx, q, args...).Scan(&email, &age, &balance, &created))
			obs = append(obs, obsf(name+"."+mode, "%v %v %v %v", email, age, balance, created))

			var pEmail *string
			var pAge *int
			var aCreated any
			require.NoError(t, e.db.QueryRowContext(ctx, strings.Replace(q, "balance", "1", 1), args...).Scan(&pEmail, &pAge, new(int), &aCreated))
			obs = append(obs, obsf(name+"."+mode+".pointers", "%v %v %T", pEmail == nil, pAge == nil, aCreated))
		}
	}
	var s string
	err := e.db.QueryRowContext(ctx, "SELECT email FROM "+users+" WHERE name = 'nulls'").Scan(&s)
	obs = append(obs, obsf("null_into_string", "%v", err != nil))
	var n sql.NullString
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT NULL").Scan(&n))
	obs = append(obs, obsf("select_null", "%v", n.Valid))
	return obs
}

func sqlTime(t *testing.T, e *env) []string {
	tbl := e.table("times")
	ctx := ctxT(t)
	mustExec(t, e.db, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, e.db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, dt DATETIME(6), d DATE, dt0 DATETIME, tm TIME)")
	mustExec(t, e.db, "INSERT INTO "+tbl+" VALUES (?, ?, ?, ?, ?)", 1, refTime, refDate, refTime.Truncate(time.Second), "12:34:56")
	mustExec(t, e.db, "INSERT INTO "+tbl+" VALUES (2, '2001-02-03 04:05:06.7', '2001-02-03', '2001-02-03 04:05:06', '-01:02:03')")
	local := time.FixedZone("UTC+2", 2*3600)
	mustExec(t, e.db, "INSERT INTO "+tbl+" (id, dt) VALUES (?, ?)", 3, refTime.In(local))
	var obs []string
	for _, id := range []int{1, 2, 3} {
		for _, mode := range []string{"prepared", "text"} {
			q, args := "SELECT dt, d, dt0, tm FROM "+tbl+" WHERE id = ?", []any{id}
			if mode == "text" {
				q, args = fmt.Sprintf("SELECT dt, d, dt0, tm FROM %s WHERE id = %d", tbl, id), nil
			}
			var dt, d, dt0 sql.NullTime
			var tm sql.NullString
			require.NoError(t, e.db.QueryRowContext(ctx, q, args...).Scan(&dt, &d, &dt0, &tm))
			obs = append(obs, obsf(fmt.Sprintf("row%d.%s", id, mode), "%s | %s | %s | %v",
				fmtTime(dt), fmtTime(d), fmtTime(dt0), tm))
		}
	}
	var now time.Time
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT NOW()").Scan(&now))
	obs = append(obs, obsf("now.location", "%s", now.Location()))
	return obs
}

func fmtTime(t sql.NullTime) string {
	if !t.Valid {
		return "NULL"
	}
	return t.Time.Format(time.RFC3339Nano) + " " + t.Time.Location().String()
}

func sqlBatch(t *testing.T, e *env) []string {
	users := createUsers(t, e)
	ctx := ctxT(t)
	// One INSERT with many rows.
	const n = 200
	var b strings.Builder
	args := make([]any, 0, 2*n)
	b.WriteString("INSERT INTO " + users + " (name, age) VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, fmt.Sprintf("batch%03d", i), i)
	}
	res := mustExec(t, e.db, b.String(), args...)
	affected, _ := res.RowsAffected()
	first, _ := res.LastInsertId()
	obs := []string{obsf("multirow.affected", "%d", affected), obsf("multirow.first_id", "%d", first)}

	// A prepared statement in a transaction.
	tx, err := e.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	st, err := tx.PrepareContext(ctx, "INSERT INTO "+users+" (name, age, balance) VALUES (?, ?, ?)")
	require.NoError(t, err)
	var last int64
	for i := 0; i < 100; i++ {
		res, err := st.ExecContext(ctx, fmt.Sprintf("stmt%03d", i), 1000+i, float64(i)/4)
		require.NoError(t, err)
		last, _ = res.LastInsertId()
	}
	require.NoError(t, st.Close())
	require.NoError(t, tx.Commit())
	obs = append(obs, obsf("prepared.last_id", "%d", last))
	var cnt, sumAge int
	var sumBal string
	require.NoError(t, e.db.QueryRowContext(ctx, "SELECT COUNT(*), SUM(age), CAST(SUM(balance) AS CHAR) FROM "+users).Scan(&cnt, &sumAge, &sumBal))
	return append(obs, obsf("totals", "%d %d %s", cnt, sumAge, sumBal))
}

// createShop creates customers and orders for the join scenarios.
func createShop(t *testing.T, e *env) (customers, orders string) {
	customers, orders = e.table("customers"), e.table("orders")
	mustExec(t, e.db, "DROP TABLE IF EXISTS "+orders)
	mustExec(t, e.db, "DROP TABLE IF EXISTS "+customers)
	mustExec(t, e.db, "CREATE TABLE "+customers+" (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, city VARCHAR(50))")
	mustExec(t, e.db, "CREATE TABLE "+orders+" (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL, placed DATETIME NOT NULL)")
	mustExec(t, e.db, "INSERT INTO "+customers+" VALUES (1, 'Ada', 'London'), (2, 'Grace', NULL), (3, 'Alan', 'Manchester')")
	mustExec(t, e.db, "INSERT INTO "+orders+" VALUES (10, 1, 12.50, '2024-01-02 10:00:00'), (11, 1, 7.25, '2024-01-03 11:00:00'), (12, 2, 100.00, '2024-02-01 09:30:00')")
	return customers, orders
}

func sqlJoins(t *testing.T, e *env) []string {
	customers, orders := createShop(t, e)
	rows, err := e.db.QueryContext(ctxT(t), `SELECT c.name, c.city, COUNT(o.id), COALESCE(SUM(o.amount), 0), MAX(o.placed)
		FROM `+customers+` c LEFT JOIN `+orders+` o ON o.customer_id = c.id
		WHERE c.id > ? GROUP BY c.id, c.name, c.city ORDER BY c.id`, 0)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	obs := []string{obsf("columns", "%q", cols)}
	for rows.Next() {
		var name string
		var city sql.NullString
		var n int
		var total string
		var last sql.NullTime
		require.NoError(t, rows.Scan(&name, &city, &n, &total, &last))
		obs = append(obs, obsf("row."+name, "%v %d %s %s", city, n, total, fmtTime(last)))
	}
	require.NoError(t, rows.Err())
	return obs
}

// errCode returns the server error number and SQLSTATE of err, for either driver's error type.
func errCode(err error) string {
	var re *rawmysql.MySQLError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d %s", re.Number, re.SQLState[:])
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Sprintf("%d %s", me.Number, me.SQLState[:])
	}
	return "not a server error: " + err.Error()
}
