package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/cmd/rawmysql/embedded"
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
	code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"SELECT 1", []string{"SELECT 1"}},
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{" ;; SELECT 1 ;\n", []string{"SELECT 1"}},
		{`SELECT 'a;b', "c;d", ` + "`e;f`" + `; SELECT 2`, []string{`SELECT 'a;b', "c;d", ` + "`e;f`", "SELECT 2"}},
		{`SELECT 'it\'s;' ; SELECT 'x'';y'`, []string{`SELECT 'it\'s;'`, `SELECT 'x'';y'`}},
		{"SELECT 1 -- a comment; still comment\n; SELECT 2", []string{"SELECT 1 -- a comment; still comment", "SELECT 2"}},
		{"SELECT 1 # hash; comment\n;", []string{"SELECT 1 # hash; comment"}},
		{"SELECT /* ; */ 1; SELECT 2", []string{"SELECT /* ; */ 1", "SELECT 2"}},
		{"SELECT 1-1; SELECT 4/2", []string{"SELECT 1-1", "SELECT 4/2"}},
		{"SELECT 1; -- trailing comment", []string{"SELECT 1"}},
		{"SELECT 1; /* only a comment */", []string{"SELECT 1"}},
		{"", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitStatements(tt.in), "%q", tt.in)
	}

	// Fed line by line, as the prompt does.
	var s splitter
	assert.Empty(t, s.Feed("SELECT 'a\n"))
	assert.False(t, s.Empty())
	assert.Equal(t, []string{"SELECT 'a\n;'"}, s.Feed(";';\n"))
	assert.True(t, s.Empty())
}

const demoQueries = `SELECT name, city FROM customers ORDER BY id;
SELECT c.name, SUM(p.price * i.quantity) AS total
  FROM customers c JOIN orders o ON o.customer_id = c.id
  JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id
  GROUP BY c.name ORDER BY total DESC;
SELECT * FROM products WHERE id > 100;
INSERT INTO products VALUES (5, 'Webcam', 59.00, 10), (6, 'Headset', 35.00, 0)`

func TestEmbeddedTableOutput(t *testing.T) {
	code, out, errOut := runCLI(t, "", "-no-timing", "-e", demoQueries)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "embedded go-mysql-server")
	// go-mysql-server sends computed DECIMAL values without trailing zeros.
	want := `+-------------------+------------+
| name              | city       |
+-------------------+------------+
| Ada Lovelace      | London     |
| Grace Hopper      | New York   |
| Alan Turing       | Manchester |
| Katherine Johnson | NULL       |
+-------------------+------------+
4 rows in set

+--------------+--------+
| name         | total  |
+--------------+--------+
| Grace Hopper | 472.97 |
| Alan Turing  |  248.5 |
| Ada Lovelace |  119.3 |
+--------------+--------+
3 rows in set

Empty set

Query OK, 2 rows affected

`
	assert.Equal(t, want, out)
}

func TestEmbeddedFormats(t *testing.T) {
	q := "SELECT id, name, email FROM customers WHERE id IN (1, 3) ORDER BY id"
	code, out, errOut := runCLI(t, "", "-no-timing", "-format", "csv", "-e", q)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "id,name,email\n1,Ada Lovelace,ada@example.com\n3,Alan Turing,\n", out)
	assert.Contains(t, errOut, "2 rows in set\n", "status lines go to stderr")

	code, out, errOut = runCLI(t, "", "-no-timing", "-format", "tsv", "-e", q+"; SELECT 'a\tb\\\\c' AS s")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "id\tname\temail\n1\tAda Lovelace\tada@example.com\n3\tAlan Turing\tNULL\ns\na\\tb\\\\c\n", out)

	code, out, errOut = runCLI(t, "", "-no-timing", "-format", "json", "-e", q)
	require.Equal(t, 0, code, errOut)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, []map[string]any{
		{"id": float64(1), "name": "Ada Lovelace", "email": "ada@example.com"},
		{"id": float64(3), "name": "Alan Turing", "email": nil},
	}, got)
	assert.True(t, strings.HasPrefix(out, "[\n  {\"id\": 1, \"name\": \"Ada Lovelace\""), out)

	code, _, errOut = runCLI(t, "", "-format", "xml", "-e", "SELECT 1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown -format "xml"`)
}

func TestStdinScriptAndErrors(t *testing.T) {
	script := "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10));\nINSERT INTO t VALUES (1, 'a;b');\nSELECT v FROM t;\nSELECT * FROM missing;\nSELECT 2 AS after_error;\n"
	code, out, errOut := runCLI(t, script, "-no-timing", "-no-sample", "-format", "tsv")
	assert.Equal(t, 1, code, "an error stops the script")
	assert.Equal(t, "v\na;b\n", out)
	assert.Contains(t, errOut, "ERROR:")
	assert.Contains(t, errOut, "missing")
	assert.NotContains(t, out, "after_error")

	code, out, _ = runCLI(t, script, "-no-timing", "-no-sample", "-format", "tsv", "-force")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "after_error\n2\n", "-force goes on after the error")
}

// TestTraceMasksAuthAndPasswords connects with a password to the embedded server (which accepts any) and checks
// that neither the password nor the scrambled auth response appears in the trace, while the packets are decoded.
func TestTraceMasksAuthAndPasswords(t *testing.T) {
	srv, err := embedded.Start("trace")
	require.NoError(t, err)
	defer srv.Close()
	const pw = "Sup3r-Secret-pw"
	dsn := fmt.Sprintf("root:%s@tcp(%s)/trace", pw, srv.Addr)
	code, out, errOut := runCLI(t, "", "-trace", "-trace-bytes", "0", "-force", "-dsn", dsn, "-e",
		"SELECT 1 AS one; CREATE USER 'bob'@'%' IDENTIFIED BY 'Hunter2-pw'; SET PASSWORD FOR 'bob'@'%' = 'Other-pw9'")
	t.Log(errOut)
	assert.Contains(t, out, "| one |")
	_ = code // CREATE USER may be refused by the embedded server; its packets are traced either way

	for _, want := range []string{"HandshakeV10", "HandshakeResponse41", `user="root"`, "auth=<20 bytes masked>",
		"COM_QUERY", `sql="SELECT 1 AS one"`, "ColumnCount  columns=1", `ColumnDefinition41  name="one"`,
		`TextRow  values="1"`, "IDENTIFIED BY '**********'", "= '*********'", "COM_QUIT", "C->S seq=1", "S->C seq=0"} {
		assert.Contains(t, errOut, want)
	}
	assert.NotContains(t, errOut, "Packet?", "every packet is recognised")
	for _, secret := range []string{pw, "Hunter2-pw", "Other-pw9"} {
		assert.NotContains(t, errOut, secret)
		assert.NotContains(t, errOut, hexSpaced([]byte(secret)[:8]), "hex of %q", secret)
	}
	// The native-password response computed from the traced scramble is not in the dump either.
	m := regexp.MustCompile(`scramble=([0-9a-f]+)`).FindStringSubmatch(errOut)
	require.NotNil(t, m)
	scramble, err := hex.DecodeString(m[1])
	require.NoError(t, err)
	resp := protocol.ScrambleNativePassword(scramble, pw)
	require.Len(t, resp, 20)
	assert.NotContains(t, errOut, hexSpaced(resp[:6]))
	assert.Contains(t, errOut, "** ** ** ** ** **", "masked bytes in the hex dump")
}

func hexSpaced(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, " ")
}

// TestMariaDBStatusLines runs against a real MariaDB: warnings, last insert id, info and multi-statements.
func TestMariaDBStatusLines(t *testing.T) {
	srv := testserver.Get(t)
	tbl := fmt.Sprintf("cli_status_%d", time.Now().UnixNano())
	script := fmt.Sprintf(`SET sql_mode = '';
CREATE TABLE %[1]s (id INT AUTO_INCREMENT PRIMARY KEY, n TINYINT);
INSERT INTO %[1]s (n) VALUES (1), (2), (3);
INSERT INTO %[1]s (n) VALUES (1000);
SELECT CAST('12abc' AS SIGNED) AS x;
UPDATE %[1]s SET n = 5 WHERE n < 3;
DROP TABLE %[1]s`, tbl)
	code, out, errOut := runCLI(t, "", "-no-timing", "-dsn", srv.DSN("multiStatements=true"), "-e", script)
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

// TestInteractivePrompt drives the prompt loop: a statement over two lines, an error that does not end the
// session, and quit.
func TestInteractivePrompt(t *testing.T) {
	srv, err := embedded.Start("prompt")
	require.NoError(t, err)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer db.Close()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var out, errOut bytes.Buffer
	f, err := newFormatter("tsv", &out, &errOut, false)
	require.NoError(t, err)
	s := &session{ctx: ctx, conn: conn, wire: &wire{}, f: f, stderr: &errOut}
	input := "SELECT 1 AS a,\n  'two' AS b;\nSELECT * FROM nope;\nSELECT 3 AS c; quit\nSELECT 4 AS never;\n"
	code := s.interactive(strings.NewReader(input), &out)
	assert.Equal(t, 0, code)
	assert.Equal(t, "rawmysql: statements end with ';'. Type quit or exit (or Ctrl-D) to leave.\n"+
		"rawmysql>        -> a\tb\n1\ttwo\nrawmysql> rawmysql> c\n3\n", out.String())
	assert.Contains(t, errOut.String(), "ERROR:")
	assert.NotContains(t, out.String(), "never")
}

func TestInteractiveQuitForms(t *testing.T) {
	for _, in := range []string{"quit\n", "exit;\n", "  \\q  \n", "QUIT\n"} {
		var out, errOut bytes.Buffer
		f, _ := newFormatter("table", &out, &errOut, false)
		s := &session{ctx: context.Background(), wire: &wire{}, f: f, stderr: &errOut}
		assert.Equal(t, 0, s.interactive(strings.NewReader(in+"SELECT 1;\n"), &out), "%q", in)
		assert.Empty(t, errOut.String(), "%q: nothing runs after quit", in)
	}
}

// TestMakeRunDemo runs the statements of the root Makefile's `make run` (DEMO_SQL) the way it does: against
// the embedded server with the sample database.
func TestMakeRunDemo(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	_, after, ok := strings.Cut(strings.ReplaceAll(string(mk), "\\\n", " "), "\nDEMO_SQL ?= ")
	require.True(t, ok, "Makefile: DEMO_SQL is missing")
	demo, _, _ := strings.Cut(after, "\n")
	require.Contains(t, string(mk), `-e "$(DEMO_SQL)"`, "make run passes DEMO_SQL with -e")
	code, out, errOut := runCLI(t, "", "-no-timing", "-e", demo)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, len(splitStatements(demo)), strings.Count(out, " in set\n")+strings.Count(out, "Query OK"), out)
	assert.NotContains(t, errOut, "ERROR")
}
