package rawmysql_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/rawmysql/rawmysql"
)

// CopyFrom streams rows into a table (LOAD DATA LOCAL from memory, or multi-row INSERTs when the server does
// not allow it). The rows here come from a function; CopyFromRows takes a [][]any and CopyFromChan a channel.
func ExampleCopyFrom() {
	db, err := sql.Open("rawmysql", exampleDSN("parseTime=true"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	// A temporary table lives in one session: use one connection for the whole example.
	conn, err := db.Conn(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE measurements (id INT PRIMARY KEY, sensor VARCHAR(20), value DOUBLE, at DATETIME, note TEXT)"); err != nil {
		log.Fatal(err)
	}

	start := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	i := 0
	n, err := rawmysql.CopyFrom(ctx, conn, "measurements", []string{"id", "sensor", "value", "at", "note"},
		rawmysql.CopyFromFunc(func() ([]any, error) {
			if i == 1000 {
				return nil, nil // end of the rows
			}
			i++
			var note any // NULL
			if i%100 == 0 {
				note = "tab\there, newline\nthere"
			}
			return []any{i, fmt.Sprintf("s%d", i%3), float64(i) / 4, start.Add(time.Duration(i) * time.Minute), note}, nil
		}))
	fmt.Println(n, err)

	var sum float64
	var notes int
	var last time.Time
	err = conn.QueryRowContext(ctx, "SELECT SUM(value), COUNT(note), MAX(at) FROM measurements").Scan(&sum, &notes, &last)
	fmt.Println(sum, notes, last.Format(time.DateTime), err)
	// Output:
	// 1000 <nil>
	// 125125 10 2024-05-02 04:40:00 <nil>
}

// SendBatch sends statements pipelined (one round trip for the lot) and reports each statement's result in
// order; a failing statement does not stop the others.
func ExampleSendBatch() {
	db, err := sql.Open("rawmysql", exampleDSN(""))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE TEMPORARY TABLE accounts (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) UNIQUE, balance INT)"); err != nil {
		log.Fatal(err)
	}

	b := &rawmysql.Batch{DisableBulk: true} // each INSERT on its own (MariaDB would combine them otherwise)
	b.Queue("INSERT INTO accounts (name, balance) VALUES (?, ?)", "alice", 100)
	b.Queue("INSERT INTO accounts (name, balance) VALUES (?, ?)", "bob", 50)
	b.Queue("INSERT INTO accounts (name, balance) VALUES (?, ?)", "alice", 7) // duplicate name
	b.Queue("UPDATE accounts SET balance = balance + ? WHERE name = ?", 25, "bob")
	for i, r := range rawmysql.SendBatch(ctx, conn, b) {
		var me *rawmysql.MySQLError
		if errors.As(r.Err, &me) {
			fmt.Println(i, "error", me.Number)
			continue
		}
		fmt.Println(i, r.RowsAffected, r.LastInsertId, r.Err)
	}
	// Output:
	// 0 1 1 <nil>
	// 1 1 2 <nil>
	// 2 error 1062
	// 3 1 0 <nil>
}
