package testserver

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"testing"
)

// MainWithExamples is Main for a package whose Example functions talk to the test server. Examples print what
// the server returns, so they cannot skip themselves like tests do: when examples are selected (-run matches
// "Example") and no server can be found (and none is required, see EnvRequire), they are left out with
// -test.skip, with a note on standard error. Otherwise it is Main (with the same checks).
func MainWithExamples(m *testing.M, checks ...func() error) {
	if !flag.Parsed() {
		flag.Parse()
	}
	if examplesSelected() {
		sharedOnce.Do(func() {
			sharedServer, sharedLog, sharedErr = findShared()
		})
		if sharedServer == nil && sharedErr == nil && !mustHaveServer() {
			if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
				_ = f.Value.Set("^Example")
				fmt.Fprintln(os.Stderr, noServerMsg+": Example functions not run")
			}
		}
	}
	Main(m, checks...)
}

// examplesSelected reports whether -test.run lets Example functions run.
func examplesSelected() bool {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return true
	}
	re, err := regexp.Compile(f.Value.String())
	return err == nil && re.MatchString("Example")
}

// Shared returns the shared server Get uses, starting it on first use; nil when there is none (or it failed
// to start, with the error). For code without a testing.TB, such as Example functions.
func Shared() (*Server, error) {
	sharedOnce.Do(func() {
		sharedServer, sharedLog, sharedErr = findShared()
	})
	return sharedServer, sharedErr
}
