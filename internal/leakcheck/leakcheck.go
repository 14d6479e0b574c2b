// Package leakcheck finds goroutines left running after a test binary's tests, for TestMain.
//
// Use it through testserver.Main:
//
//	func TestMain(m *testing.M) { testserver.Main(m, leakcheck.Check) }
//
// Check waits a little for goroutines that are still winding down (a closed connection's reader, a context
// watcher) and reports the stacks of those that remain.
package leakcheck

import (
	"errors"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Wait is how long Check waits for goroutines to end before reporting them.
var Wait = 5 * time.Second

// ignored names stack frames of goroutines that belong to the runtime or the test framework and outlive the
// tests by design.
var ignored = []string{
	"testing.(*M).",
	"testing.runFuzzing",
	"testing.tRunner.func",
	"testing.(*T).Run",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"runtime/trace.Start",
	// internal/testserver forks servers from one goroutine locked to its thread for the life of the process
	// (so that Pdeathsig fires only when the test binary dies).
	"internal/testserver.startProcess",
}

// Check returns an error listing the goroutines (other than the caller's) still running after Wait, or nil.
func Check() error {
	deadline := time.Now().Add(Wait)
	for {
		left := leftovers()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(left)
			return errors.New("rawmysql: leakcheck: " + itoa(len(left)) + " goroutine(s) still running after the tests:\n\n" + strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leftovers returns the stacks of goroutines other than the current one that are not ignored.
func leftovers() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	blocks := strings.Split(string(buf), "\n\n")
	var out []string
	for i, b := range blocks {
		if i == 0 || strings.TrimSpace(b) == "" {
			continue // the first block is the calling goroutine
		}
		if isIgnored(b) {
			continue
		}
		out = append(out, b)
	}
	return out
}

func isIgnored(stack string) bool {
	for _, s := range ignored {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
