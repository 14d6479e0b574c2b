package rawmysql_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeDSN is the DSN written in the README's example; Example_readme uses the test server's instead.
const readmeDSN = `"root@tcp(127.0.0.1:3306)/test?parseTime=true"`

// TestREADMEExample checks that the README's example is Example_readme (which runs against the test server and
// checks its output) statement for statement: the README's code compiles and prints what it says.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(readme), "TestREADMEExample checks it. -->\n```go\n")
	require.True(t, ok, "README.md: the example block after its marker comment is missing")
	block, _, ok := strings.Cut(after, "```")
	require.True(t, ok)
	want := strings.TrimSpace(strings.ReplaceAll(block, readmeDSN, "dsn"))

	src, err := os.ReadFile("example_test.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	require.NoError(t, err)
	var body string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Example_readme" {
			body = string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset])
		}
	}
	require.NotEmpty(t, body, "example_test.go: Example_readme is missing")
	var lines []string
	for i, line := range strings.Split(strings.TrimSpace(body), "\n") {
		line = strings.TrimPrefix(line, "\t")
		if i == 0 {
			require.True(t, strings.HasPrefix(line, "dsn := "), "Example_readme starts by choosing the DSN")
			continue
		}
		if strings.HasPrefix(line, "// Output:") {
			break
		}
		lines = append(lines, line)
	}
	require.Equal(t, want, strings.TrimSpace(strings.Join(lines, "\n")), "README.md's example and Example_readme differ")
}
