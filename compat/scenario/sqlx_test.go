package scenario

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"
)

// sqlxScenarios go through github.com/jmoiron/sqlx on the same *sql.DB (bind type "?" as for MySQL).
var sqlxScenarios = []scenario{
	{"migration", sqlxMigration},
	{"crud", sqlxCRUD},
	{"transactions", sqlxTransactions},
	{"nulls", sqlxNulls},
	{"time", sqlxTime},
	{"batch", sqlxBatch},
	{"joins", sqlxJoins},
}

func sqlxDB(e *env) *sqlx.DB { return sqlx.NewDb(e.db, "mysql") }

type xUser struct {
	ID        int64           `db:"id"`
	Name      string          `db:"name"`
	Email     sql.NullString  `db:"email"`
	Age       sql.NullInt64   `db:"age"`
	Balance   sql.NullFloat64 `db:"balance"`
	CreatedAt sql.NullTime    `db:"created_at"`
}

func (u xUser) String() string {
	return fmt.Sprintf("%d %s %v %v %v %s", u.ID, u.Name, u.Email, u.Age, u.Balance, fmtTime(u.CreatedAt))
}

func sqlxMigration(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	db.MustExecContext(ctxT(t), "ALTER TABLE "+users+" ADD COLUMN nickname VARCHAR(20) NULL")
	rows, err := db.QueryxContext(ctxT(t), "SELECT * FROM "+users+" LIMIT 0")
	require.NoError(t, err)
	cols, err := rows.Columns()
	require.NoError(t, err)
	require.NoError(t, rows.Close())
	return []string{obsf("columns", "%q", cols)}
}

func sqlxCRUD(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	ctx := ctxT(t)
	res, err := db.NamedExecContext(ctx, "INSERT INTO "+users+" (name, email, age, created_at) VALUES (:name, :email, :age, :created_at)",
		xUser{Name: "Ada", Email: sql.NullString{String: "ada@example.com", Valid: true}, Age: sql.NullInt64{Int64: 36, Valid: true},
			CreatedAt: sql.NullTime{Time: refTime, Valid: true}})
	require.NoError(t, err)
	id, _ := res.LastInsertId()
	var u xUser
	require.NoError(t, db.GetContext(ctx, &u, "SELECT * FROM "+users+" WHERE id = ?", id))
	obs := []string{obsf("get", "%s", u)}
	u.Age.Int64++
	res, err = db.NamedExecContext(ctx, "UPDATE "+users+" SET age = :age WHERE id = :id", u)
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	obs = append(obs, obsf("update.affected", "%d", n))
	var list []xUser
	require.NoError(t, db.SelectContext(ctx, &list, "SELECT * FROM "+users+" ORDER BY id"))
	obs = append(obs, obsf("select", "%v", list))
	res = db.MustExecContext(ctx, "DELETE FROM "+users+" WHERE id = ?", id)
	n, _ = res.RowsAffected()
	obs = append(obs, obsf("delete.affected", "%d", n))
	err = db.GetContext(ctx, &u, "SELECT * FROM "+users+" WHERE id = ?", id)
	return append(obs, obsf("get_deleted", "%v", err))
}

func sqlxTransactions(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	ctx := ctxT(t)
	tx := db.MustBeginTx(ctx, nil)
	tx.MustExecContext(ctx, "INSERT INTO "+users+" (name) VALUES (?)", "rolled back")
	require.NoError(t, tx.Rollback())
	tx = db.MustBeginTx(ctx, nil)
	_, err := tx.NamedExecContext(ctx, "INSERT INTO "+users+" (name, age) VALUES (:name, :age)", []xUser{
		{Name: "a", Age: sql.NullInt64{Int64: 1, Valid: true}}, {Name: "b"}})
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	var names []string
	require.NoError(t, db.SelectContext(ctx, &names, "SELECT name FROM "+users+" ORDER BY name"))
	return []string{obsf("names", "%q", names)}
}

func sqlxNulls(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	ctx := ctxT(t)
	db.MustExecContext(ctx, "INSERT INTO "+users+" (name) VALUES ('nulls')")
	var u xUser
	require.NoError(t, db.GetContext(ctx, &u, "SELECT * FROM "+users+" WHERE name = ?", "nulls"))
	m := map[string]any{}
	require.NoError(t, db.QueryRowxContext(ctx, "SELECT email, age FROM "+users+" WHERE name = ?", "nulls").MapScan(m))
	return []string{obsf("struct", "%s", u), obsf("mapscan", "%v %v", m["email"], m["age"])}
}

func sqlxTime(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	ctx := ctxT(t)
	db.MustExecContext(ctx, "INSERT INTO "+users+" (name, created_at) VALUES (?, ?)", "t", refTime)
	var got struct {
		CreatedAt time.Time `db:"created_at"`
	}
	require.NoError(t, db.GetContext(ctx, &got, "SELECT created_at FROM "+users+" WHERE name = ?", "t"))
	var count int
	require.NoError(t, db.GetContext(ctx, &count, "SELECT COUNT(*) FROM "+users+" WHERE created_at BETWEEN ? AND ?",
		refTime.Add(-time.Second), refTime.Add(time.Second)))
	return []string{obsf("created_at", "%s", got.CreatedAt.Format(time.RFC3339Nano)), obsf("between", "%d", count)}
}

func sqlxBatch(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	users := createUsers(t, e)
	ctx := ctxT(t)
	batch := make([]xUser, 50)
	for i := range batch {
		batch[i] = xUser{Name: fmt.Sprintf("u%02d", i), Age: sql.NullInt64{Int64: int64(i), Valid: i%2 == 0}}
	}
	res, err := db.NamedExecContext(ctx, "INSERT INTO "+users+" (name, age) VALUES (:name, :age)", batch)
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	q, args, err := sqlx.In("SELECT name FROM "+users+" WHERE age IN (?) ORDER BY name", []int{0, 2, 4, 5})
	require.NoError(t, err)
	var names []string
	require.NoError(t, db.SelectContext(ctx, &names, db.Rebind(q), args...))
	return []string{obsf("affected", "%d", n), obsf("in", "%q", names)}
}

func sqlxJoins(t *testing.T, e *env) []string {
	db := sqlxDB(e)
	customers, orders := createShop(t, e)
	var rows []struct {
		Name   string         `db:"name"`
		City   sql.NullString `db:"city"`
		Orders int            `db:"orders"`
		Total  float64        `db:"total"`
	}
	require.NoError(t, db.SelectContext(ctxT(t), &rows, `SELECT c.name, c.city, COUNT(o.id) AS orders, COALESCE(SUM(o.amount), 0) AS total
		FROM `+customers+` c LEFT JOIN `+orders+` o ON o.customer_id = c.id GROUP BY c.id, c.name, c.city ORDER BY c.id`))
	return []string{obsf("rows", "%v", rows)}
}

// TestSqlxBindDriver opens sqlx by driver name: rawmysql's bind type is registered as "?" first.
func TestSqlxBindDriver(t *testing.T) {
	sqlx.BindDriver("rawmysql", sqlx.QUESTION)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			db, err := sqlx.Open("rawmysql", srv.dsn(t))
			require.NoError(t, err)
			defer db.Close()
			require.Equal(t, sqlx.QUESTION, sqlx.BindType(db.DriverName()))
			q, args, err := sqlx.In("SELECT COUNT(*) FROM (SELECT 1 AS v UNION ALL SELECT 2 UNION ALL SELECT 3) t WHERE v IN (?)", []int{1, 3})
			require.NoError(t, err)
			var n int
			require.NoError(t, db.GetContext(ctxT(t), &n, db.Rebind(q), args...))
			require.Equal(t, 2, n)
		})
	}
}
