package rawmysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
)

// exampleDSN is the DSN of the test server (internal/testserver) with params. The examples run against it;
// without a server they are left out (testserver.MainWithExamples).
func exampleDSN(params string) string {
	srv, err := testserver.Shared()
	if err != nil || srv == nil {
		log.Fatalf("no test server: %v", err)
	}
	return srv.DSN(params)
}

// Example_readme is the example of the README, word for word except for the DSN (TestREADMEExample checks it).
func Example_readme() {
	dsn := exampleDSN("parseTime=true")

	db, err := sql.Open("rawmysql", dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var greeting string
	err = db.QueryRow("SELECT CONCAT('Hello, ', ?)", "MySQL").Scan(&greeting)
	fmt.Println(greeting, err)
	// Output: Hello, MySQL <nil>
}

// Opening a database: the driver name is "rawmysql", the DSN that of go-sql-driver/mysql.
func Example_openDB() {
	// "user:password@tcp(127.0.0.1:3306)/dbname?parseTime=true&timeout=5s"
	db, err := sql.Open("rawmysql", exampleDSN("parseTime=true&timeout=5s"))
	if err != nil {
		log.Fatal(err) // a malformed DSN is reported here; nothing is dialed yet
	}
	defer db.Close()
	db.SetMaxOpenConns(10)
	db.SetConnMaxLifetime(5 * time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		log.Fatal(err)
	}
	var sum int
	var day time.Time
	if err := db.QueryRowContext(ctx, "SELECT 40 + 2, DATE('2024-02-29')").Scan(&sum, &day); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum, day.Format("Mon 2 Jan 2006"))
	// Output: 42 Thu 29 Feb 2024
}

// A Connector built from a Config: for settings without a DSN form (Logger, Tracer, DialFunc, TLS) or to
// build the configuration in code.
func ExampleNewConnector() {
	cfg, err := rawmysql.ParseDSN(exampleDSN("")) // or rawmysql.NewConfig() and set User, Addr, DBName ...
	if err != nil {
		log.Fatal(err)
	}
	cfg.ParseTime = true
	cfg.Timeout = 5 * time.Second
	cfg.Params = map[string]string{"time_zone": "'+00:00'"} // session variables, set after connecting

	connector, err := rawmysql.NewConnector(cfg) // keeps its own copy of cfg
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	var tz string
	if err := db.QueryRow("SELECT @@session.time_zone").Scan(&tz); err != nil {
		log.Fatal(err)
	}
	fmt.Println("time_zone:", tz)
	// Output: time_zone: +00:00
}

// Transactions: BeginTx, then Commit or Rollback.
func Example_transactions() {
	db, err := sql.Open("rawmysql", exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	mustExec(db, "DROP TABLE IF EXISTS example_accounts")
	mustExec(db, "CREATE TABLE example_accounts (name VARCHAR(10) PRIMARY KEY, balance INT NOT NULL) ENGINE=InnoDB")
	mustExec(db, "INSERT INTO example_accounts VALUES ('alice', 100), ('bob', 0)")

	transfer := func(amount int) error {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
		if err != nil {
			return err
		}
		defer tx.Rollback() // no effect after Commit
		var balance int
		if err := tx.QueryRowContext(ctx, "SELECT balance FROM example_accounts WHERE name = 'alice' FOR UPDATE").Scan(&balance); err != nil {
			return err
		}
		if balance < amount {
			return errors.New("insufficient funds")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE example_accounts SET balance = balance - ? WHERE name = 'alice'", amount); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE example_accounts SET balance = balance + ? WHERE name = 'bob'", amount); err != nil {
			return err
		}
		return tx.Commit()
	}
	fmt.Println(transfer(30))
	fmt.Println(transfer(500))

	rows, err := db.QueryContext(ctx, "SELECT name, balance FROM example_accounts ORDER BY name")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var balance int
		if err := rows.Scan(&name, &balance); err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, balance)
	}
	mustExec(db, "DROP TABLE example_accounts")
	// Output:
	// <nil>
	// insufficient funds
	// alice 70
	// bob 30
}

// Prepared statements: prepared once on each connection that runs them, then executed with the binary protocol.
// Queries with arguments are prepared (and cached per connection) without calling Prepare, too.
func Example_preparedStatements() {
	db, err := sql.Open("rawmysql", exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	mustExec(db, "DROP TABLE IF EXISTS example_items")
	mustExec(db, "CREATE TABLE example_items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(6,2))")

	insert, err := db.Prepare("INSERT INTO example_items VALUES (?, ?, ?)")
	if err != nil {
		log.Fatal(err)
	}
	defer insert.Close()
	for i, name := range []string{"tea", "coffee", "cocoa"} {
		if _, err := insert.Exec(i+1, name, 2.5+float64(i)); err != nil {
			log.Fatal(err)
		}
	}

	var name string
	var price float64
	if err := db.QueryRow("SELECT name, price FROM example_items WHERE price > ? ORDER BY price LIMIT 1", 3).Scan(&name, &price); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %.2f\n", name, price)
	mustExec(db, "DROP TABLE example_items")
	// Output: coffee 3.50
}

// Several statements in one query (multiStatements=true), each with its own result set.
func ExampleConfig_multiStatements() {
	db, err := sql.Open("rawmysql", exampleDSN("multiStatements=true"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	rows, err := db.Query("SELECT 1 AS a; SELECT 'x' AS b, 'y' AS c")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for set := 1; ; set++ {
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("result %d: %v = %s\n", set, cols, vals)
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// result 1: [a] = [1]
	// result 2: [b c] = [x y]
}

// LOAD DATA LOCAL INFILE from any io.Reader, registered under a name and loaded as 'Reader::<name>'.
func ExampleRegisterReaderHandler() {
	db, err := sql.Open("rawmysql", exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	mustExec(db, "DROP TABLE IF EXISTS example_cities")
	mustExec(db, "CREATE TABLE example_cities (name VARCHAR(20), population INT)")

	csv := "Lisbon,545923\nPorto,231800\nBraga,193333\n"
	rawmysql.RegisterReaderHandler("cities", func() io.Reader { return strings.NewReader(csv) })
	defer rawmysql.DeregisterReaderHandler("cities")

	res, err := db.Exec("LOAD DATA LOCAL INFILE 'Reader::cities' INTO TABLE example_cities FIELDS TERMINATED BY ','")
	if err != nil {
		log.Fatal(err)
	}
	n, _ := res.RowsAffected()
	var total int
	if err := db.QueryRow("SELECT SUM(population) FROM example_cities").Scan(&total); err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "rows loaded, population", total)
	mustExec(db, "DROP TABLE example_cities")
	// Output: 3 rows loaded, population 971056
}

// printTracer prints the statements the driver runs: a Tracer (queries and execs) without the optional
// PrepareTracer and ConnectTracer.
type printTracer struct{ mu sync.Mutex }

// A compile-time check that printTracer is a Tracer: a misspelt method fails the build here instead of
// tracing nothing. Assert the optional interfaces the same way (var _ rawmysql.PrepareTracer = ...).
var _ rawmysql.Tracer = (*printTracer)(nil)

func (p *printTracer) TraceQueryStart(ctx context.Context, d rawmysql.TraceQueryStartData) context.Context {
	return ctx
}

func (p *printTracer) TraceQueryEnd(_ context.Context, d rawmysql.TraceQueryEndData) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Printf("query %q: %d rows, err=%v\n", d.SQL, d.Rows, d.Err)
}

func (p *printTracer) TraceExecStart(ctx context.Context, d rawmysql.TraceExecStartData) context.Context {
	return ctx
}

func (p *printTracer) TraceExecEnd(_ context.Context, d rawmysql.TraceExecEndData) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Printf("exec %q: %d affected, err=%v\n", d.SQL, d.RowsAffected, d.Err)
}

// Tracing: Config.Tracer sees every query, exec, prepare and connect with its duration, rows and error (here
// only queries and execs). See examples/tracing for metrics and OpenTelemetry-style spans.
func ExampleTracer() {
	cfg, err := rawmysql.ParseDSN(exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	cfg.Tracer = &printTracer{}
	connector, err := rawmysql.NewConnector(cfg)
	if err != nil {
		log.Fatal(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()

	if _, err := db.Exec("DO SLEEP(0)"); err != nil {
		log.Fatal(err)
	}
	rows, err := db.Query("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
	if err != nil {
		log.Fatal(err)
	}
	for rows.Next() {
	}
	rows.Close() // the query's trace ends here, with the row count
	// Output:
	// exec "DO SLEEP(0)": 0 affected, err=<nil>
	// query "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3": 3 rows, err=<nil>
}

// ParseDSN and FormatDSN: a DSN parsed into a Config and written back.
func ExampleParseDSN() {
	cfg, err := rawmysql.ParseDSN("app:secret@tcp(db.internal)/shop?parseTime=true&loc=Europe%2FParis&sql_mode=TRADITIONAL")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.User, cfg.Net, cfg.Addr, cfg.DBName, cfg.ParseTime, cfg.Loc, cfg.Params)
	cfg.Passwd = ""
	fmt.Println(cfg.FormatDSN())
	// Output:
	// app tcp db.internal:3306 shop true Europe/Paris map[sql_mode:TRADITIONAL]
	// app@tcp(db.internal:3306)/shop?loc=Europe%2FParis&parseTime=true&sql_mode=TRADITIONAL
}

// Server errors are *MySQLError values with the error number and SQLSTATE.
func ExampleMySQLError() {
	db, err := sql.Open("rawmysql", exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	_, err = db.Exec("SELECT * FROM no_such_table_here")
	var me *rawmysql.MySQLError
	if errors.As(err, &me) {
		fmt.Println(me.Number, me.SQLStateString())
		fmt.Println(strings.HasPrefix(err.Error(), "Error 1146 (42S02): Table ")) // go-sql-driver's text
	}
	fmt.Println(errors.Is(err, &rawmysql.MySQLError{Number: 1146}))
	// Output:
	// 1146 42S02
	// true
	// true
}

func mustExec(db *sql.DB, q string) {
	if _, err := db.Exec(q); err != nil {
		log.Fatal(err)
	}
}
