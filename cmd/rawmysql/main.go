// Command rawmysql is a MySQL/MariaDB command-line client built on the rawmysql driver (see package
// github.com/rawmysql/rawmysql/cmd/rawmysql/cli for what it does).
//
//	rawmysql -dsn 'user:pass@tcp(127.0.0.1:3306)/db'              # a prompt with line editing and history
//	rawmysql -dsn ... -e 'SELECT 1; SHOW TABLES'
//	rawmysql -dsn ... -format csv -e 'SELECT * FROM t' > t.csv
//	rawmysql -dsn ... < script.sql
//	rawmysql -dsn ... -trace -e 'SELECT 1'                         # every packet, decoded, with a hex dump
//
// This binary links no server: to try the client with nothing installed, run the demo (cmd/rawmysql/demo, or
// `make run`), which starts an embedded go-mysql-server with a sample database and runs this same client on it.
package main

import (
	"os"

	"github.com/rawmysql/rawmysql/cmd/rawmysql/cli"
)

func main() { cli.Main(cli.Program{}, os.Args[1:]) }
