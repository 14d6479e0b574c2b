package main

import (
	"bytes"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	_ "github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain runs the program itself when the terminal test starts this test binary as the client.
func TestMain(m *testing.M) {
	if os.Getenv("RAWMYSQL_CLI_TEST_MAIN") == "1" {
		main()
		return
	}
	testserver.Main(m)
}

// screen collects what the client writes to its terminal.
type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// TestTerminal drives the client in a pseudo-terminal as a user would: line editing, history recall with the
// Up arrow, \G, DELIMITER, Ctrl-C at the prompt (drops the statement being typed), Ctrl-C during a statement
// (cancels it on the server and returns to the prompt), quit, and the history file.
func TestTerminal(t *testing.T) {
	srv := testserver.Get(t)
	admin, err := sql.Open("rawmysql", srv.DSN(""))
	require.NoError(t, err)
	defer admin.Close()

	hist := filepath.Join(t.TempDir(), "history")
	cmd := exec.Command(os.Args[0], "-dsn", srv.DSN(""), "-no-timing")
	cmd.Env = append(os.Environ(), "RAWMYSQL_CLI_TEST_MAIN=1", "RAWMYSQL_HISTFILE="+hist, "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 200})
	require.NoError(t, err)
	defer ptmx.Close()
	var scr screen
	copied := make(chan struct{})
	go func() {
		io.Copy(&scr, ptmx)
		close(copied)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	// expect waits until s appears at least n times on the screen.
	expect := func(s string, n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(scr.String(), s) < n {
			if time.Now().After(deadline) {
				t.Fatalf("waited for %d× %q; the screen:\n%s", n, s, scr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	typeKeys := func(keys string) {
		t.Helper()
		_, err := ptmx.Write([]byte(keys))
		require.NoError(t, err)
	}

	expect("\nrawmysql> ", 1)
	typeKeys("SELECT 'ab' AS q;\r")
	expect("| ab |", 1)
	expect("\nrawmysql> ", 2)

	// History: Up recalls the last statement, Enter runs it again.
	typeKeys("\x1b[A")
	time.Sleep(100 * time.Millisecond)
	typeKeys("\r")
	expect("| ab |", 2)
	expect("\nrawmysql> ", 3)

	// Editing: the cursor moves left before the ';' and a character is inserted there.
	typeKeys("SELECT 4 AS ;")
	typeKeys("\x1b[D")
	typeKeys("yz\x7f\r") // "yz", then Backspace removes the z
	expect("| y |", 1)
	expect("\nrawmysql> ", 4)

	// \G
	typeKeys("SELECT 1 AS a, 'x' AS bb\\G\r")
	expect("*************************** 1. row ***************************", 1)
	expect(" a: 1", 1)
	expect("bb: x", 1)
	expect("\nrawmysql> ", 5)

	// DELIMITER: two statements sent as one up to //.
	typeKeys("DELIMITER //\r")
	expect("\nrawmysql> ", 6)
	typeKeys("SELECT 5 AS five; SELECT 6 AS six //\r")
	expect("| five |", 1)
	expect("| six |", 1)
	expect("\nrawmysql> ", 7)
	typeKeys("DELIMITER ;\r")
	expect("\nrawmysql> ", 8)

	// Ctrl-C at the prompt drops the statement being typed (it would otherwise run with the next line).
	typeKeys("SELECT 7 AS seven\r")
	expect("\n       -> ", 1)
	typeKeys("\x03")
	expect("\nrawmysql> ", 9)
	typeKeys("SELECT 8 AS eight;\r")
	expect("| eight |", 1)
	assert.NotContains(t, scr.String(), "| seven")
	assert.NotContains(t, scr.String(), "ERROR")
	expect("\nrawmysql> ", 10)

	// Ctrl-C during a statement cancels it on the server (KILL QUERY) and the session goes on.
	typeKeys("SELECT SLEEP(60) AS slept;\r")
	running := func() bool {
		var n int
		require.NoError(t, admin.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(60) AS slept'").Scan(&n))
		return n > 0
	}
	require.Eventually(t, running, 20*time.Second, 20*time.Millisecond, "the statement runs on the server")
	typeKeys("\x03")
	expect("Ctrl-C -- query killed.", 1)
	expect("ERROR: rawmysql: statement cancelled (Ctrl-C)", 1)
	expect("\nrawmysql> ", 11)
	// The driver returns at once and sends KILL QUERY in the background (docs/reliability.md): the statement
	// is gone from the server shortly after, not necessarily before the prompt.
	assert.Eventually(t, func() bool { return !running() }, 10*time.Second, 20*time.Millisecond,
		"the server no longer runs the statement")
	select {
	case err := <-exited:
		t.Fatalf("the client exited on Ctrl-C: %v\n%s", err, scr.String())
	default:
	}
	typeKeys("SELECT 9 AS nine;\r")
	expect("| nine |", 1)
	expect("\nrawmysql> ", 12)

	// Ctrl-C at an empty prompt: a new prompt, as mariadb does; quit ends the session.
	typeKeys("\x03")
	expect("\nrawmysql> ", 13)
	typeKeys("quit\r")
	select {
	case err := <-exited:
		require.NoError(t, err, scr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("quit did not end the client:\n%s", scr.String())
	}
	<-copied

	h, err := os.ReadFile(hist)
	require.NoError(t, err)
	assert.Equal(t, "SELECT 'ab' AS q;\nSELECT 4 AS y;\nSELECT 1 AS a, 'x' AS bb\\G\nDELIMITER //\nSELECT 5 AS five; SELECT 6 AS six //\n"+
		"DELIMITER ;\nSELECT 8 AS eight;\nSELECT SLEEP(60) AS slept;\nSELECT 9 AS nine;\nquit\n", string(h))
}

// TestClientLinksNoServer: the embedded go-mysql-server (and go-icu-regex, which took 0.7-1.2 s to initialise
// at every start) is in the demo module only, not in the client binary this test binary is built from.
func TestClientLinksNoServer(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	require.True(t, ok)
	var mods []string
	for _, m := range bi.Deps {
		mods = append(mods, m.Path)
		assert.NotContains(t, m.Path, "dolthub", "the client links %s", m.Path)
	}
	assert.Contains(t, mods, "github.com/peterh/liner")
}
