package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/cmd/rawmysql/demo/embedded"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs the program with args and stdin and returns its exit status, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	args, noSample := demoFlags(args)
	p := program(noSample)
	p.Stdin, p.Stdout, p.Stderr = strings.NewReader(stdin), &out, &errOut
	code := p.Run(ctx, args)
	return code, out.String(), errOut.String()
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

// TestMakeRunDemo runs the statements of the root Makefile's `make run` (DEMO_SQL) the way it does: against
// the embedded server with the sample database.
func TestMakeRunDemo(t *testing.T) {
	mk, err := os.ReadFile("../../../Makefile")
	require.NoError(t, err)
	_, after, ok := strings.Cut(strings.ReplaceAll(string(mk), "\\\n", " "), "\nDEMO_SQL ?= ")
	require.True(t, ok, "Makefile: DEMO_SQL is missing")
	demo, _, _ := strings.Cut(after, "\n")
	require.Contains(t, string(mk), `-e "$(DEMO_SQL)"`, "make run passes DEMO_SQL with -e")
	code, out, errOut := runCLI(t, "", "-no-timing", "-e", demo)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, strings.Count(demo, ";")+1, strings.Count(out, " in set\n")+strings.Count(out, "Query OK"), out)
	assert.NotContains(t, errOut, "ERROR")
}
