package main

import (
	"fmt"
	"os"

	"github.com/rawmysql/rawmysql/internal/testserver"
)

// Where the benchmarks find a server, in this order: the -dsn flag, RAWMYSQL_BENCH_DSN, a private server
// started by internal/testserver (a fresh machine with MariaDB installed needs nothing else), then the usual
// local default.
const (
	envDSN     = "RAWMYSQL_BENCH_DSN"
	defaultDSN = "root@tcp(127.0.0.1:3306)/test"
)

// privateArgs are the server options the workloads need on top of testserver's: room for the 16 MiB value,
// a larger buffer pool and enough connections for the cancel storm.
var privateArgs = []string{"--max-allowed-packet=256M", "--innodb-buffer-pool-size=128M", "--max-connections=500"}

// server is the MariaDB/MySQL server the live workloads run against.
type server struct {
	dsn  string // go-sql-driver grammar, understood by both drivers
	desc string
	stop func() // stops a private server; nil otherwise
}

// findServer returns the server named by dsn or the environment, or starts a private server, or falls back
// to defaultDSN.
func findServer(dsn string) (*server, error) {
	if dsn == "" {
		dsn = os.Getenv(envDSN)
	}
	if dsn != "" {
		return &server{dsn: dsn, desc: "server from DSN"}, nil
	}
	s, err := testserver.Launch(privateArgs...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: no private server (%v); using %s\n", err, defaultDSN)
		return &server{dsn: defaultDSN, desc: "default local server"}, nil
	}
	stop := func() {
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	// tls=false: the private server offers TLS, which rawmysql uses by default (preferred) and go-sql-driver
	// does not; both drivers are measured on the same plaintext transport, and the replay recorder can read it.
	return &server{dsn: s.DSN("tls=false"), desc: s.String(), stop: stop}, nil
}
