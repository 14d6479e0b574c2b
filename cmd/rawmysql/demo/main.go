// Command demo runs the rawmysql command-line client (package github.com/rawmysql/rawmysql/cmd/rawmysql/cli)
// against an in-memory MySQL-compatible server started in the same process (github.com/dolthub/go-mysql-server),
// loaded with a small shop database (customers, products, orders, order_items): nothing needs to be installed.
// `make run` runs it.
//
//	go run ./cmd/rawmysql/demo                    # a prompt on the sample database
//	go run ./cmd/rawmysql/demo -e 'SELECT * FROM customers'
//	go run ./cmd/rawmysql/demo -no-sample         # an empty database
//
// It takes every flag of the rawmysql client; with -dsn it connects there and starts no server. The embedded
// server lives in this separate module so that the rawmysql client binary neither links nor initialises it.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/cli"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/demo/embedded"
)

func main() {
	args, noSample := demoFlags(os.Args[1:])
	cli.Main(program(noSample), args)
}

// demoFlags takes the demo's own flag, -no-sample, out of the client's arguments.
func demoFlags(args []string) (rest []string, noSample bool) {
	for i, a := range args {
		switch a {
		case "-no-sample", "--no-sample":
			noSample = true
			continue
		case "--":
			return append(rest, args[i:]...), noSample
		}
		rest = append(rest, a)
	}
	return rest, noSample
}

// program is the client with the embedded server as its default.
func program(noSample bool) cli.Program {
	return cli.Program{NoDSN: func(ctx context.Context, stderr io.Writer) (string, func(), error) {
		return startEmbedded(ctx, stderr, noSample)
	}}
}

// startEmbedded starts the embedded server, loads the sample database unless noSample, and returns its DSN.
func startEmbedded(ctx context.Context, stderr io.Writer, noSample bool) (string, func(), error) {
	srv, err := embedded.Start("demo")
	if err != nil {
		return "", nil, err
	}
	dsn := srv.DSN("")
	fmt.Fprintf(stderr, "rawmysql: no -dsn given: using an embedded go-mysql-server on %s, database %q\n", srv.Addr, srv.DBName)
	if !noSample {
		db, err := sql.Open(rawmysql.DriverName, dsn)
		if err == nil {
			err = embedded.LoadSample(ctx, db)
			db.Close()
		}
		if err != nil {
			srv.Close()
			return "", nil, err
		}
	}
	return dsn, func() { srv.Close() }, nil
}
