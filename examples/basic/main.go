// Command basic connects with rawmysql and prints a few query results.
//
//	go run ./examples/basic -dsn 'root@tcp(127.0.0.1:3306)/test'
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"

	_ "github.com/rawmysql/rawmysql"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("RAWMYSQL_DSN"), "data source name")
	flag.Parse()
	if *dsn == "" {
		*dsn = "root@tcp(127.0.0.1:3306)/test?parseTime=true"
	}
	db, err := sql.Open("rawmysql", *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		log.Fatal(err)
	}
	fmt.Println("server:", version)

	rows, err := db.Query("SELECT 1 AS n, 'hello' AS s, NOW(6) AS t, NULL AS z UNION ALL SELECT 2, 'world', NOW(6), NULL")
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.ColumnTypes()
	for _, c := range cols {
		fmt.Printf("%s:%s ", c.Name(), c.DatabaseTypeName())
	}
	fmt.Println()
	for rows.Next() {
		var n int64
		var s string
		var t any
		var z sql.NullString
		if err := rows.Scan(&n, &s, &t, &z); err != nil {
			log.Fatal(err)
		}
		fmt.Println(n, s, t, z.Valid)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
}
