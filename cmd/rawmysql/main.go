// Command rawmysql is a small MySQL/MariaDB command-line client built on the rawmysql driver.
//
//	rawmysql -dsn 'user:pass@tcp(127.0.0.1:3306)/db' -e 'SELECT 1; SHOW TABLES'
//	rawmysql -dsn ... -format csv -e 'SELECT * FROM t' > t.csv
//	rawmysql -dsn ... < script.sql
//	rawmysql -dsn ... -trace -e 'SELECT 1'     # every packet, decoded, with a hex dump
//	rawmysql                                    # an embedded in-memory server with a sample database
//
// Statements are separated by ';' (outside quotes and comments). Without -e they are read from standard input,
// with a prompt when it is a terminal. Results print as an aligned table (or csv, tsv, json) followed by the row
// count, the rows affected, the last insert id, the warnings and the time taken, as the mysql client does.
//
// With no -dsn, rawmysql starts an in-memory MySQL-compatible server (github.com/dolthub/go-mysql-server) on a
// loopback port, loads a small shop database into it (customers, products, orders, order_items) and runs
// against it: nothing needs to be installed.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/embedded"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	dsn       string
	exec      string
	format    string
	trace     bool
	traceMax  int
	timeout   time.Duration
	force     bool
	noSample  bool
	quietTime bool // leave out the timings (for tests and reproducible output)
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("rawmysql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dsn, "dsn", os.Getenv("RAWMYSQL_DSN"), "data source name, e.g. user:pass@tcp(127.0.0.1:3306)/db (default $RAWMYSQL_DSN; empty: embedded server)")
	fs.StringVar(&o.exec, "e", "", "statements to run, separated by ';' (default: read standard input)")
	fs.StringVar(&o.format, "format", "table", "output format: table, csv, tsv or json")
	fs.BoolVar(&o.trace, "trace", false, "print every packet to standard error: direction, sequence id, kind, decoded fields, hex")
	fs.IntVar(&o.traceMax, "trace-bytes", 256, "with -trace, bytes of each payload shown in hex (0: all)")
	fs.DurationVar(&o.timeout, "timeout", 0, "time limit of each statement (0: none)")
	fs.BoolVar(&o.force, "force", false, "continue after an error")
	fs.BoolVar(&o.noSample, "no-sample", false, "embedded server: start with an empty database")
	fs.BoolVar(&o.quietTime, "no-timing", false, "leave the timings out of the status lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rawmysql [-dsn DSN] [-e SQL] [-format table|csv|tsv|json] [-trace]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rawmysql: unexpected arguments %q (SQL goes after -e)\n", fs.Args())
		return 2
	}
	f, err := newFormatter(o.format, stdout, stderr, !o.quietTime)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}

	dsn := o.dsn
	if dsn == "" {
		srv, err := embedded.Start("demo")
		if err != nil {
			fmt.Fprintln(stderr, "rawmysql:", err)
			return 1
		}
		defer srv.Close()
		dsn = srv.DSN("")
		fmt.Fprintf(stderr, "rawmysql: no -dsn given: using an embedded go-mysql-server on %s, database %q\n", srv.Addr, srv.DBName)
		if !o.noSample {
			db, err := sql.Open(rawmysql.DriverName, dsn)
			if err == nil {
				err = embedded.LoadSample(ctx, db)
				db.Close()
			}
			if err != nil {
				fmt.Fprintln(stderr, "rawmysql:", err)
				return 1
			}
		}
	}

	cfg, err := rawmysql.ParseDSN(dsn)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	w := &wire{maxBytes: o.traceMax}
	if o.trace {
		w.out = stderr
	}
	cfg.PacketTrace = w.Trace
	connector, err := rawmysql.NewConnector(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1) // one session: SET, USE and transactions carry over between statements
	conn, err := db.Conn(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer conn.Close()

	s := &session{ctx: ctx, conn: conn, wire: w, f: f, timeout: o.timeout, stderr: stderr}
	if o.exec != "" {
		return s.runAll(splitStatements(o.exec), o.force)
	}
	if isTerminal(stdin) {
		return s.interactive(stdin, stdout)
	}
	data, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintln(stderr, "rawmysql: reading standard input:", err)
		return 1
	}
	return s.runAll(splitStatements(string(data)), o.force)
}

// isTerminal reports whether r is a character device (an interactive terminal).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// session runs statements on one connection.
type session struct {
	ctx     context.Context
	conn    *sql.Conn
	wire    *wire
	f       formatter
	timeout time.Duration
	stderr  io.Writer
}

func (s *session) runAll(stmts []string, force bool) int {
	status := 0
	for _, q := range stmts {
		if err := s.run(q); err != nil {
			fmt.Fprintln(s.stderr, "ERROR:", err)
			status = 1
			if !force {
				return status
			}
		}
	}
	return status
}

// interactive reads statements at a prompt until EOF, "quit" or "exit".
func (s *session) interactive(stdin io.Reader, stdout io.Writer) int {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var sp splitter
	fmt.Fprintln(stdout, "rawmysql: statements end with ';'. Type quit or exit (or Ctrl-D) to leave.")
	for {
		if sp.Empty() {
			fmt.Fprint(stdout, "rawmysql> ")
		} else {
			fmt.Fprint(stdout, "       -> ")
		}
		if !sc.Scan() {
			fmt.Fprintln(stdout)
			break
		}
		for _, q := range sp.Feed(sc.Text() + "\n") {
			if isQuit(q) {
				return 0
			}
			if err := s.run(q); err != nil {
				fmt.Fprintln(s.stderr, "ERROR:", err)
			}
		}
		if isQuit(sp.buf.String()) {
			return 0
		}
		if s.ctx.Err() != nil {
			return 1
		}
	}
	if rest := sp.Rest(); rest != "" {
		if err := s.run(rest); err != nil {
			fmt.Fprintln(s.stderr, "ERROR:", err)
			return 1
		}
	}
	return 0
}

// isQuit reports whether a statement is the quit command (quit, exit or \q).
func isQuit(stmt string) bool {
	switch strings.ToLower(strings.TrimSpace(stmt)) {
	case "quit", "exit", `\q`:
		return true
	}
	return false
}

// run executes one statement and prints every result it returns.
func (s *session) run(q string) error {
	ctx := s.ctx
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	start := time.Now()
	rows, err := s.conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for {
		cols, err := rows.ColumnTypes()
		if err != nil {
			return err
		}
		if len(cols) == 0 {
			// A statement without a result set: its OK packet has the counts.
			last := s.wire.last
			s.f.status(statusLine(last, time.Since(start), 0, false))
		} else {
			n, err := s.f.resultSet(rows, cols)
			if err != nil {
				return err
			}
			s.f.status(statusLine(s.wire.last, time.Since(start), n, true))
		}
		if !rows.NextResultSet() {
			break
		}
		start = time.Now()
	}
	return rows.Err()
}
