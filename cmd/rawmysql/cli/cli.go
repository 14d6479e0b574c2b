// Package cli is the rawmysql command-line client: a MySQL/MariaDB client built on the rawmysql driver, used by
// the rawmysql command (cmd/rawmysql) and by the demo that runs it against an embedded server
// (cmd/rawmysql/demo).
//
//	rawmysql -dsn 'user:pass@tcp(127.0.0.1:3306)/db' -e 'SELECT 1; SHOW TABLES'
//	rawmysql -dsn ... -format csv -e 'SELECT * FROM t' > t.csv
//	rawmysql -dsn ... < script.sql
//	rawmysql -dsn ... -trace -e 'SELECT 1'     # every packet, decoded, with a hex dump
//
// It follows the habits of the mysql and mariadb clients:
//
//   - statements end with ';' (or the DELIMITER set), \g, or \G for vertical output; quit, exit, \q, source
//     FILE, DELIMITER x and USE db are client commands; a stored program's BEGIN ... END body is never split;
//   - at a terminal, lines are edited and recalled with the arrow keys (github.com/peterh/liner), and the
//     history is kept in ~/.rawmysql_history ($RAWMYSQL_HISTFILE; /dev/null keeps none);
//   - Ctrl-C while a statement runs cancels that statement only (the driver sends KILL QUERY) and returns to the
//     prompt; Ctrl-C at the prompt clears the line; a second Ctrl-C before a cancelled statement ends, or
//     Ctrl-C while a script runs, exits;
//   - errors name the line their statement starts on ("ERROR 1146 (42S02) at line 3: ...", with "in file:
//     'f.sql'" for source), and a script stops at the first one unless -force is given;
//   - results stream: a table holds at most a window of rows to measure its columns, the other formats none;
//     column widths count terminal cells (CJK and emoji are two wide).
package cli

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
	"sync"
	"time"

	"github.com/rawmysql/rawmysql"
)

// Program is one run of the client, with its input and output.
type Program struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Interrupts delivers Ctrl-C (os.Interrupt); nil when the caller handles no signal.
	Interrupts <-chan os.Signal
	// Exit ends the process after a second Ctrl-C (nil: os.Exit).
	Exit func(code int)
	// NoDSN is called when neither -dsn nor $RAWMYSQL_DSN names a server. It returns the DSN to use and a
	// function releasing what it started. When nil, the client says how to name a server and exits.
	NoDSN func(ctx context.Context, stderr io.Writer) (dsn string, stop func(), err error)
}

// Main runs the client with args (the command line without the program name), on the process's standard
// streams unless p sets others, with Ctrl-C delivered to it, and exits with its status.
func Main(p Program, args []string) {
	if p.Stdin == nil {
		p.Stdin = os.Stdin
	}
	if p.Stdout == nil {
		p.Stdout = os.Stdout
	}
	if p.Stderr == nil {
		p.Stderr = os.Stderr
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt)
	p.Interrupts = sigs
	os.Exit(p.Run(context.Background(), args))
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
	quietTime bool // leave out the timings (for tests and reproducible output)
}

// Run is the whole program; it returns the exit status.
func (p *Program) Run(ctx context.Context, args []string) int {
	stdin, stdout, stderr := p.Stdin, p.Stdout, p.Stderr
	var o options
	fs := flag.NewFlagSet("rawmysql", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsnHelp := "data source name, e.g. user:pass@tcp(127.0.0.1:3306)/db (default $RAWMYSQL_DSN)"
	if p.NoDSN != nil {
		dsnHelp = "data source name, e.g. user:pass@tcp(127.0.0.1:3306)/db (default $RAWMYSQL_DSN; empty: embedded server)"
	}
	fs.StringVar(&o.dsn, "dsn", os.Getenv("RAWMYSQL_DSN"), dsnHelp)
	fs.StringVar(&o.exec, "e", "", "statements to run, separated by ';' (default: read standard input)")
	fs.StringVar(&o.format, "format", "table", "output format: table, csv, tsv or json")
	fs.BoolVar(&o.trace, "trace", false, "print every packet to standard error: direction, sequence id, kind, decoded fields, hex")
	fs.IntVar(&o.traceMax, "trace-bytes", 256, "with -trace, bytes of each payload shown in hex (0: all)")
	fs.DurationVar(&o.timeout, "timeout", 0, "time limit of each statement (0: none)")
	fs.BoolVar(&o.force, "force", false, "continue a script (-e, standard input) after an error")
	fs.BoolVar(&o.quietTime, "no-timing", false, "leave the timings out of the status lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rawmysql [-dsn DSN] [-e SQL] [-format table|csv|tsv|json] [-trace] [-force]")
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
		if p.NoDSN == nil {
			fmt.Fprintln(stderr, "rawmysql: no server given: use -dsn 'user:pass@tcp(host:3306)/db' or set $RAWMYSQL_DSN "+
				"(to try rawmysql with no server installed: make run, or go run ./cmd/rawmysql/demo)")
			return 2
		}
		var stop func()
		dsn, stop, err = p.NoDSN(ctx, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "rawmysql:", err)
			return 1
		}
		defer stop()
	}

	cfg, err := rawmysql.ParseDSN(dsn)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	// As the mysql client: several statements may be sent at once (DELIMITER // ... SELECT 1; SELECT 2 //).
	cfg.MultiStatements = true
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
		fmt.Fprintln(stderr, errorText(err, ""))
		return 1
	}
	defer conn.Close()

	s := &session{ctx: ctx, conn: conn, wire: w, f: f, timeout: o.timeout, stdout: stdout, stderr: stderr, force: o.force}
	s.exit = p.Exit
	if s.exit == nil {
		s.exit = os.Exit
	}
	if p.Interrupts != nil {
		done := make(chan struct{})
		defer close(done)
		go s.watchInterrupts(p.Interrupts, done)
	}
	if o.exec != "" {
		return s.batch(strings.NewReader(o.exec), "")
	}
	if stdin == os.Stdin && isTerminal(os.Stdin) {
		lr := newTerminalReader(stderr)
		s.setReader(lr)
		defer lr.Close()
		return s.interactive(lr)
	}
	return s.batch(stdin, "")
}

// isTerminal reports whether f is a character device (an interactive terminal).
func isTerminal(f *os.File) bool {
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
	stdout  io.Writer
	stderr  io.Writer
	force   bool
	exit    func(int)

	mu        sync.Mutex
	cancel    context.CancelFunc // cancels the running statement; nil between statements
	cancelled bool               // Ctrl-C was pressed during the running statement
	atPrompt  bool               // reading from a prompt (not a script)
	reader    lineReader         // the prompt, closed before an exit on Ctrl-C
	depth     int                // nesting of source commands
}

func (s *session) setReader(lr lineReader) {
	s.mu.Lock()
	s.reader = lr
	s.mu.Unlock()
}

// watchInterrupts handles Ctrl-C as the mariadb client does: during a statement it cancels that statement (the
// driver sends KILL QUERY on a side connection) and the session goes on; a second Ctrl-C before the statement
// ends, or one while a script runs between statements, exits. At the prompt the line editor reads Ctrl-C as a
// key (it clears the line), so no signal comes from there.
func (s *session) watchInterrupts(sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-sigs:
		}
		s.mu.Lock()
		cancel, again, atPrompt, lr := s.cancel, s.cancelled, s.atPrompt, s.reader
		if cancel != nil {
			s.cancelled = true
		}
		s.mu.Unlock()
		switch {
		case cancel != nil && !again:
			fmt.Fprintln(s.stderr, "Ctrl-C -- query killed.")
			cancel()
		case cancel != nil || !atPrompt:
			fmt.Fprintln(s.stderr, "Ctrl-C -- exit!")
			if lr != nil {
				lr.Close()
			}
			s.exit(130)
			return
		}
	}
}

// batch runs a script (standard input, -e, or a sourced file: name is its name, "" otherwise). It stops at the
// first error unless -force was given (or, for a file sourced at the prompt, always goes on as mariadb does),
// and returns 1 when any statement failed.
func (s *session) batch(r io.Reader, name string) int {
	br := bufio.NewReaderSize(r, 64<<10)
	var sp splitter
	status := 0
	goOn := s.force || (s.atPrompt && name != "")
	for {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(s.stderr, "rawmysql: reading %s: %v\n", nameOr(name, "standard input"), err)
			return 1
		}
		if line == "" && err == io.EOF {
			break
		}
		for _, st := range sp.FeedLine(strings.TrimSuffix(line, "\n")) {
			quit, failed := s.do(st, name, true)
			if failed {
				status = 1
				if !goOn {
					return status
				}
			}
			if quit {
				return status
			}
		}
		if err == io.EOF {
			break
		}
	}
	if st := sp.Rest(); st != nil {
		if _, failed := s.do(*st, name, true); failed {
			status = 1
		}
	}
	return status
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// do runs one statement or client command; located asks for the line (and file) in error messages. It reports
// whether the session should end and whether the statement failed.
func (s *session) do(st statement, file string, located bool) (quit, failed bool) {
	switch st.Kind {
	case kindQuit:
		return true, false
	case kindSource:
		return false, s.source(st, file, located)
	}
	if err := s.run(st); err != nil {
		s.report(err, st.Line, file, located)
		return false, true
	}
	return false, false
}

// maxSourceDepth bounds nested source commands (a file sourcing itself).
const maxSourceDepth = 16

// source runs the statements of a file; it reports whether one failed.
func (s *session) source(st statement, file string, located bool) bool {
	name := st.Arg
	if len(name) >= 2 && (name[0] == '\'' || name[0] == '"') && name[len(name)-1] == name[0] {
		name = name[1 : len(name)-1]
	}
	if s.depth >= maxSourceDepth {
		s.report(fmt.Errorf("rawmysql: source %s: more than %d nested source commands", name, maxSourceDepth), st.Line, file, located)
		return true
	}
	f, err := os.Open(name)
	if err != nil {
		// mariadb: "Failed to open file 'x', error: 2"
		s.report(fmt.Errorf("rawmysql: source: %w", err), st.Line, file, located)
		return true
	}
	defer f.Close()
	s.depth++
	defer func() { s.depth-- }()
	return s.batch(f, name) != 0
}

// report prints an error as the mariadb client does: "ERROR 1146 (42S02) at line 3 in file: 'x.sql': ...".
func (s *session) report(err error, line int, file string, located bool) {
	loc := ""
	if located && line > 0 {
		loc = fmt.Sprintf(" at line %d", line)
		if file != "" {
			loc += fmt.Sprintf(" in file: '%s'", file)
		}
	}
	if errors.Is(err, context.Canceled) && s.ctx.Err() == nil {
		err = errors.New("rawmysql: statement cancelled (Ctrl-C)")
	}
	fmt.Fprintln(s.stderr, errorText(err, loc))
}

// errorText formats err as the mariadb client does, with loc (" at line 3") after the numbers: "ERROR 1146
// (42S02) at line 3: Table 'test.t' doesn't exist" for a server error, "ERROR at line 3: rawmysql: ..." for
// another.
func errorText(err error, loc string) string {
	var se *rawmysql.MySQLError
	if errors.As(err, &se) {
		b := fmt.Sprintf("ERROR %d", se.Number)
		if st := se.SQLStateString(); st != "" {
			b += fmt.Sprintf(" (%s)", st)
		}
		return b + loc + ": " + se.Message
	}
	return "ERROR" + loc + ": " + err.Error()
}

// Prompts, as wide as each other.
const (
	promptFirst = "rawmysql> "
	promptMore  = "       -> "
)

// interactive reads statements at a prompt until EOF (Ctrl-D), quit or exit. Errors do not end the session.
func (s *session) interactive(lr lineReader) int {
	s.mu.Lock()
	s.atPrompt = true
	s.mu.Unlock()
	var sp splitter
	var lines []string // the input of the statement in progress, for the history
	fmt.Fprintf(s.stdout, "rawmysql: statements end with ';' (\\G: vertical). Type quit, exit or Ctrl-D to leave; Ctrl-C cancels.\n")
	for {
		prompt := promptFirst
		if !sp.Empty() {
			prompt = promptMore
		}
		line, err := lr.ReadLine(prompt)
		switch {
		case errors.Is(err, errAborted):
			// Ctrl-C at the prompt: the statement being typed is dropped, as mariadb does.
			sp.Reset()
			lines = lines[:0]
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(s.stdout)
			if st := sp.Rest(); st != nil {
				if _, failed := s.do(*st, "", false); failed {
					return 1
				}
			}
			return 0
		case err != nil:
			fmt.Fprintln(s.stderr, "rawmysql: reading the terminal:", err)
			return 1
		}
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
		stmts := sp.FeedLine(line)
		if sp.Empty() && len(lines) > 0 {
			lr.AddHistory(strings.Join(lines, " "))
			lines = lines[:0]
		}
		for _, st := range stmts {
			if quit, _ := s.do(st, "", false); quit {
				return 0
			}
		}
		if s.ctx.Err() != nil {
			return 1
		}
	}
}

// run executes one statement and prints every result it returns.
func (s *session) run(st statement) error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	if s.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	s.mu.Lock()
	s.cancel, s.cancelled = cancel, false
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel, s.cancelled = nil, false
		s.mu.Unlock()
	}()

	start := time.Now()
	rows, err := s.conn.QueryContext(ctx, st.SQL)
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
			s.f.status(statusLine(s.wire.summary(), time.Since(start), 0, false))
		} else {
			n, err := s.f.resultSet(rows, cols, st.Vertical)
			if err != nil {
				return err
			}
			s.f.status(statusLine(s.wire.summary(), time.Since(start), n, true))
		}
		if !rows.NextResultSet() {
			break
		}
		start = time.Now()
	}
	return rows.Err()
}
