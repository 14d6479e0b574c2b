package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testserver.Main(m) }

// runCLI runs the program with args and stdin and returns its exit status, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	p := Program{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut}
	code := p.Run(ctx, args)
	return code, out.String(), errOut.String()
}

func uniqueName(prefix string) string { return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano()) }

func TestNoServerGiven(t *testing.T) {
	t.Setenv("RAWMYSQL_DSN", "")
	code, _, errOut := runCLI(t, "", "-e", "SELECT 1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "no server given: use -dsn")
	assert.Contains(t, errOut, "cmd/rawmysql/demo")
}

// TestMariaDBStatusLines runs against a real MariaDB: warnings, last insert id, info and multi-statements.
func TestMariaDBStatusLines(t *testing.T) {
	srv := testserver.Get(t)
	tbl := uniqueName("cli_status")
	script := fmt.Sprintf(`SET sql_mode = '';
CREATE TABLE %[1]s (id INT AUTO_INCREMENT PRIMARY KEY, n TINYINT);
INSERT INTO %[1]s (n) VALUES (1), (2), (3);
INSERT INTO %[1]s (n) VALUES (1000);
SELECT CAST('12abc' AS SIGNED) AS x;
UPDATE %[1]s SET n = 5 WHERE n < 3;
DROP TABLE %[1]s`, tbl)
	code, out, errOut := runCLI(t, "", "-no-timing", "-dsn", srv.DSN(""), "-e", script)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Query OK, 3 rows affected\nLast insert id: 1\nRecords: 3  Duplicates: 0  Warnings: 0\n")
	assert.Contains(t, out, "Query OK, 1 row affected, 1 warning\nLast insert id: 4\n", "out-of-range value clipped with a warning")
	assert.Contains(t, out, "| 12 |\n+----+\n1 row in set, 1 warning\n")
	assert.Contains(t, out, "Query OK, 2 rows affected\nRows matched: 2  Changed: 2  Warnings: 0\n")

	// A procedure's result set is followed by the CALL's own OK (two results of one statement).
	proc := "cli_proc_" + tbl
	code, out, errOut = runCLI(t, "", "-no-timing", "-dsn", srv.DSN(""), "-e",
		"CREATE PROCEDURE "+proc+"() SELECT 7 AS seven; CALL "+proc+"(); DROP PROCEDURE "+proc)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "| seven |\n+-------+\n|     7 |\n+-------+\n1 row in set\n\nQuery OK, 0 rows affected\n")
}

// TestScriptErrorsCarryLineNumbers: a script stops at its first error, which names the line its statement
// starts on as mariadb prints it; -force goes on and the exit status still says something failed.
func TestScriptErrorsCarryLineNumbers(t *testing.T) {
	srv := testserver.Get(t)
	tbl := uniqueName("cli_lines")
	script := fmt.Sprintf("-- a comment\nCREATE TABLE %[1]s (id INT PRIMARY KEY, v VARCHAR(10));\n\nINSERT INTO %[1]s VALUES (1, 'a;b');\nSELECT v FROM %[1]s; SELECT *\n  FROM missing_%[1]s;\nSELECT 2 AS after_error;\nSELECT * FROM other_missing_%[1]s;\nDROP TABLE %[1]s;\n", tbl)
	code, out, errOut := runCLI(t, script, "-no-timing", "-format", "tsv", "-dsn", srv.DSN(""))
	assert.Equal(t, 1, code, "an error stops the script")
	assert.Equal(t, "v\na;b\n", out)
	assert.Equal(t, fmt.Sprintf("Query OK, 0 rows affected\nQuery OK, 1 row affected\n1 row in set\n"+
		"ERROR 1146 (42S02) at line 5: Table 'test.missing_%s' doesn't exist\n", tbl), errOut, "status lines and errors go to stderr in tsv")

	code, out, errOut = runCLI(t, script, "-no-timing", "-format", "tsv", "-force", "-dsn", srv.DSN(""))
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "after_error\n2\n", "-force goes on after the error")
	assert.Contains(t, errOut, "ERROR 1146 (42S02) at line 5: Table 'test.missing_")
	assert.Contains(t, errOut, "ERROR 1146 (42S02) at line 8: Table 'test.other_missing_")

	// -e is a script too.
	code, _, errOut = runCLI(t, "", "-dsn", srv.DSN(""), "-e", "SELECT 1;\nSELECT nosuchcolumn")
	assert.Equal(t, 1, code)
	// The context after "in" differs by server ('SELECT' on MariaDB 10.11+, 'field list' on MariaDB 10.5 and MySQL).
	assert.Contains(t, errOut, "ERROR 1054 (42S22) at line 2: Unknown column 'nosuchcolumn' in '")
}

// TestForceNeverRunsAProcedureBodyAtTopLevel: with -force and no DELIMITER, the statements inside a procedure
// body used to be cut at their ';' and the SELECT of the body ran on its own. The body is one statement now,
// and with DELIMITER too.
func TestForceNeverRunsAProcedureBodyAtTopLevel(t *testing.T) {
	srv := testserver.Get(t)
	proc := uniqueName("cli_body")
	for _, script := range []string{
		fmt.Sprintf("CREATE PROCEDURE %[1]s()\nBEGIN\n  SELECT 'from the body' AS b;\n  SELECT 2 AS c;\nEND;\nCALL %[1]s();\nDROP PROCEDURE %[1]s;\n", proc),
		fmt.Sprintf("DELIMITER //\nCREATE PROCEDURE %[1]s()\nBEGIN\n  SELECT 'from the body' AS b;\n  SELECT 2 AS c;\nEND //\nDELIMITER ;\nCALL %[1]s();\nDROP PROCEDURE %[1]s;\n", proc),
	} {
		code, out, errOut := runCLI(t, script, "-no-timing", "-format", "tsv", "-force", "-dsn", srv.DSN(""))
		assert.Equal(t, 0, code, errOut)
		assert.NotContains(t, errOut, "ERROR")
		assert.Equal(t, 1, strings.Count(out, "from the body"), "the body's SELECT ran once, from CALL:\n%s", out)
		assert.Equal(t, "b\nfrom the body\nc\n2\n", out)
	}
}

// TestSourceCommand runs source at the prompt: errors name the file and line, the file goes on (as mariadb does
// at the prompt), DELIMITER works inside, and a missing file is an error that does not end the session.
func TestSourceCommand(t *testing.T) {
	srv := testserver.Get(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "script.sql")
	require.NoError(t, os.WriteFile(file, []byte("SELECT 1 AS one;\n\nSELECT\n * FROM\n nosuch_src_tbl;\nDELIMITER //\nSELECT 2 AS two; SELECT 3 AS three //\n"), 0o600))
	out, errOut := prompt(t, srv.DSN("multiStatements=true"), "source "+file+"\nSELECT 4 AS four;\n\\. "+filepath.Join(dir, "missing.sql")+"\nSELECT 5 AS five;\n")
	assert.Contains(t, errOut, "ERROR 1146 (42S02) at line 3 in file: '"+file+"': Table 'test.nosuch_src_tbl' doesn't exist\n")
	for _, want := range []string{"one\n1\n", "two\n2\n", "three\n3\n", "four\n4\n", "five\n5\n"} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, errOut, "ERROR: rawmysql: source: open "+filepath.Join(dir, "missing.sql")+": no such file or directory")

	// In a script, an error in a sourced file stops everything (without -force).
	code, out, errOut := runCLI(t, "source "+file+"\nSELECT 4 AS four;\n", "-no-timing", "-format", "tsv", "-dsn", srv.DSN(""))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "at line 3 in file: '"+file+"'")
	assert.NotContains(t, out, "four")

	// A file sourcing itself stops at a depth limit instead of recursing forever.
	self := filepath.Join(dir, "self.sql")
	require.NoError(t, os.WriteFile(self, []byte("source "+self+"\n"), 0o600))
	code, _, errOut = runCLI(t, "source "+self+"\n", "-dsn", srv.DSN(""))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "nested source commands")
}

// prompt drives the interactive loop with lines (no terminal) in tsv format and returns stdout and stderr.
func prompt(t *testing.T, dsn, input string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sql.Open("rawmysql", dsn)
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var out, errOut bytes.Buffer
	f, err := newFormatter("tsv", &out, &errOut, false)
	require.NoError(t, err)
	w := &wire{}
	s := &session{ctx: ctx, conn: conn, wire: w, f: f, stdout: &out, stderr: &errOut}
	s.interactive(newPlainReader(strings.NewReader(input), &out))
	return out.String(), errOut.String()
}

// TestInteractivePrompt drives the prompt loop: a statement over two lines, an error that does not end the
// session (and has no line number, as typed statements have none in mariadb), and quit.
func TestInteractivePrompt(t *testing.T) {
	srv := testserver.Get(t)
	out, errOut := prompt(t, srv.DSN(""), "SELECT 1 AS a,\n  'two' AS b;\nSELECT * FROM nope;\nSELECT 3 AS c; quit\nSELECT 4 AS never;\n")
	assert.Equal(t, "rawmysql: statements end with ';' (\\G: vertical). Type quit, exit or Ctrl-D to leave; Ctrl-C cancels.\n"+
		"rawmysql>        -> a\tb\n1\ttwo\nrawmysql> rawmysql> c\n3\n", out)
	assert.Equal(t, "1 row in set\nERROR 1146 (42S02): Table 'test.nope' doesn't exist\n1 row in set\n", errOut)
	assert.NotContains(t, out, "never")
}

func TestInteractiveQuitForms(t *testing.T) {
	for _, in := range []string{"quit\n", "exit;\n", "  \\q  \n", "QUIT\n"} {
		var out, errOut bytes.Buffer
		f, _ := newFormatter("table", &out, &errOut, false)
		s := &session{ctx: context.Background(), wire: &wire{}, f: f, stdout: &out, stderr: &errOut}
		assert.Equal(t, 0, s.interactive(newPlainReader(strings.NewReader(in+"SELECT 1;\n"), &out)), "%q", in)
		assert.Empty(t, errOut.String(), "%q: nothing runs after quit", in)
	}
}

// TestVerticalOutput: \G prints each row as "column: value" lines under a row banner, names right-aligned.
func TestVerticalOutput(t *testing.T) {
	srv := testserver.Get(t)
	code, out, errOut := runCLI(t, "", "-no-timing", "-dsn", srv.DSN(""), "-e",
		`SELECT 1 AS a, NULL AS longer_name, 'x' AS b UNION ALL SELECT 2, 'y', 'z'\G SELECT 1 AS a FROM DUAL WHERE 0\G`)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `*************************** 1. row ***************************
          a: 1
longer_name: NULL
          b: x
*************************** 2. row ***************************
          a: 2
longer_name: y
          b: z
2 rows in set

Empty set

`, out)
}

// TestDisplayWidth: CJK characters take two terminal cells and a combining mark none, so the table lines up
// on screen (it counted runes before).
func TestDisplayWidth(t *testing.T) {
	srv := testserver.Get(t)
	code, out, errOut := runCLI(t, "", "-no-timing", "-dsn", srv.DSN(""), "-e",
		"SELECT '日本語' AS name, 1 AS n UNION ALL SELECT 'abc', 22 UNION ALL SELECT 'e\u0301te\u0301', 3 UNION ALL SELECT '🙂x', 4")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, `+--------+----+
| name   | n  |
+--------+----+
| 日本語 |  1 |
| abc    | 22 |
| `+"e\u0301te\u0301"+`    |  3 |
| 🙂x    |  4 |
+--------+----+
4 rows in set

`, out)
}

// TestTableStreamsPastWindow: a result set longer than the measuring window prints the window's widths and
// streams the rest; a later wider value is printed whole and widens its column from there, after a border.
func TestTableStreamsPastWindow(t *testing.T) {
	srv := testserver.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT seq AS n, REPEAT('x', seq) AS s FROM "+testserver.SeqTable(5)+" t ORDER BY seq")
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	require.NoError(t, err)
	var out bytes.Buffer
	tf := &tableFormatter{out: &out, window: 2, windowBytes: 1 << 20}
	n, err := tf.resultSet(rows, cols, false)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	assert.Equal(t, `+---+----+
| n | s  |
+---+----+
| 1 | x  |
| 2 | xx |
+---+-----+
| 3 | xxx |
+---+------+
| 4 | xxxx |
+---+-------+
| 5 | xxxxx |
+---+-------+
`, out.String())
}

// TestStreamingOutputIsIncremental: every format writes rows while it reads them: with a window of 1, the first
// rows are out before the statement ends. The statement is SELECT ... SLEEP on the last row, and the test
// reads stdout while it sleeps.
func TestStreamingOutputIsIncremental(t *testing.T) {
	srv := testserver.Get(t)
	// A table read in primary-key order streams (a derived table with ORDER BY would be sorted, SLEEP included,
	// before the first row is sent).
	admin, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer admin.Close()
	tbl := uniqueName("cli_stream")
	_, err = admin.Exec("CREATE TABLE " + tbl + " (seq INT PRIMARY KEY)")
	require.NoError(t, err)
	defer admin.Exec("DROP TABLE " + tbl)
	_, err = admin.Exec("INSERT INTO " + tbl + " SELECT seq FROM " + testserver.SeqTable(5001) + " t")
	require.NoError(t, err)
	for _, format := range []string{"table", "tsv", "csv", "json"} {
		t.Run(format, func(t *testing.T) {
			pr := newSyncBuffer()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan int, 1)
			go func() {
				p := Program{Stdin: strings.NewReader(""), Stdout: pr, Stderr: &bytes.Buffer{}}
				done <- p.Run(ctx, []string{"-dsn", srv.DSN(""), "-format", format, "-e",
					// 5000 rows of 200 bytes, then a row that waits until the test saw the first ones.
					"SELECT seq, REPEAT('r', 200) AS pad, IF(seq = 5001, SLEEP(20), 0) AS z FROM " + tbl + " ORDER BY seq"})
			}()
			require.Eventually(t, func() bool { return strings.Count(pr.String(), "rrrrr") >= 1000 }, 15*time.Second, 20*time.Millisecond,
				"rows are printed before the result set ends")
			cancel()
			<-done
		})
	}
}

// TestTraceKeepsMaskingSecretsOfSideConnections: cancelling a statement makes the driver open a second
// connection (KILL QUERY). Its login must never reach the trace in clear (it used to be decoded as a command of
// the first connection and dumped): the driver keeps the side connection out of PacketTrace altogether, and
// the client's own login is masked.
func TestTraceKeepsMaskingSecretsOfSideConnections(t *testing.T) {
	srv := testserver.Get(t)
	admin, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer admin.Close()
	user, pw := uniqueName("cli_tr"), "S3cret-side-conn"
	_, err = admin.Exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw))
	require.NoError(t, err)
	defer admin.Exec(fmt.Sprintf("DROP USER '%s'@'%%'", user))
	cfg, err := rawmysql.ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	_, err = admin.Exec(fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%'", cfg.DBName, user))
	require.NoError(t, err)

	dsn := regexp.MustCompile(`^[^:@]*(:[^@]*)?@`).ReplaceAllString(srv.DSN(""), user+":"+pw+"@")
	stderr := newSyncBuffer()
	interrupts := make(chan os.Signal, 1)
	p := Program{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: stderr, Interrupts: interrupts}
	done := make(chan int, 1)
	go func() {
		done <- p.Run(context.Background(), []string{"-trace", "-trace-bytes", "0", "-dsn", dsn, "-e", "SELECT SLEEP(30); SELECT 'after' AS a"})
	}()
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), `sql="SELECT SLEEP(30)"`) }, 15*time.Second, 10*time.Millisecond, "%s", stderr)
	interrupts <- os.Interrupt
	var code int
	select {
	case code = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Ctrl-C did not end the statement")
	}
	trace := stderr.String()
	t.Log(trace)
	assert.Equal(t, 1, code)
	assert.Contains(t, trace, "Ctrl-C -- query killed.")
	// The driver never traces its KILL QUERY side connection (docs/reliability.md, defect 6 of issue 10): only
	// the client's own login appears, masked. Interleaved connections in a trace are covered by
	// TestWireRoutesInterleavedConnections.
	assert.Equal(t, 1, strings.Count(trace, "HandshakeV10"), "only the client's own connection is traced")
	// 20 bytes with mysql_native_password (MariaDB), 32 with caching_sha2_password (MySQL).
	assert.Len(t, regexp.MustCompile(`auth=<(20|32) bytes masked>`).FindAllString(trace, -1), 1, "its handshake response is decoded and masked")
	assert.NotContains(t, trace, "conn=2")
	assert.NotContains(t, trace, "KILL QUERY")
	assert.NotContains(t, trace, "Packet?", "every packet is recognised")
	assert.NotContains(t, trace, pw)
	for _, m := range regexp.MustCompile(`scramble=([0-9a-f]+)`).FindAllStringSubmatch(trace, -1) {
		resp := nativeScramble(t, m[1], pw)
		assert.NotContains(t, trace, hexSpaced(resp[:6]), "auth response for scramble %s", m[1])
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func hexSpaced(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, " ")
}

// nativeScramble computes the mysql_native_password response to a traced scramble (hex).
func nativeScramble(t *testing.T, scrambleHex, pw string) []byte {
	t.Helper()
	scramble, err := hex.DecodeString(scrambleHex)
	require.NoError(t, err)
	resp := protocol.ScrambleNativePassword(scramble, pw)
	require.Len(t, resp, 20)
	return resp
}
