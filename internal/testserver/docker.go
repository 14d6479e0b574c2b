package testserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Servers lists the names RAWMYSQL_TEST_SERVER accepts: Docker images built by images/build.sh and run by
// internal/testenv.
var Servers = []string{"mysql-9.7", "mariadb-10.5", "mariadb-10.11", "mariadb-11.8"}

const (
	// testenvStartTimeout bounds compiling internal/testenv (first use), building a missing image (debootstrap:
	// minutes on a fresh machine) and starting the container.
	testenvStartTimeout = 20 * time.Minute
	testenvStopTimeout  = time.Minute
)

// testenvDesc is the JSON line `testenv serve` prints (internal/testenv's Description).
type testenvDesc struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Addr      string `json:"addr"`
	Socket    string `json:"socket"`
	User      string `json:"user"`
	DBName    string `json:"dbname"`
	CertDir   string `json:"certDir"`
	Container string `json:"container"`
}

// dockerHandle is a `testenv serve` process; the container lives until its standard input closes.
type dockerHandle struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}
	log   *lockedBuffer // testenv's standard error
	id    string        // container id
}

// purge closes testenv's standard input, which makes it remove the container, and waits for it to exit.
func (d *dockerHandle) purge() error {
	_ = d.stdin.Close()
	select {
	case <-d.done:
	case <-time.After(testenvStopTimeout):
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("rawmysql: testserver: testenv did not remove its container within %v:\n%s",
			testenvStopTimeout, d.log)
	}
	if d.cmd.ProcessState != nil && !d.cmd.ProcessState.Success() {
		return fmt.Errorf("rawmysql: testserver: testenv: %v:\n%s", d.cmd.ProcessState, d.log)
	}
	return nil
}

// testenvCommand returns the command that runs internal/testenv: the binary named by RAWMYSQL_TESTENV (the
// Makefile builds it once), else `go run` in the testenv module next to this package's source.
func testenvCommand(args ...string) (*exec.Cmd, error) {
	if bin := os.Getenv(EnvTestenv); bin != "" {
		return exec.Command(bin, args...), nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("rawmysql: testserver: cannot locate internal/testenv; set %s", EnvTestenv)
	}
	dir := filepath.Join(filepath.Dir(file), "..", "testenv")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: internal/testenv not found (%v); set %s", err, EnvTestenv)
	}
	// `go test` puts its own GOROOT/bin first on the test binary's PATH, so "go" is the toolchain running the
	// tests.
	cmd := exec.Command("go", append([]string{"run", "."}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd, nil
}

// startDocker starts a container of the named server through `testenv serve` and waits for its description.
func startDocker(name string) (*Server, error) {
	known := false
	for _, s := range Servers {
		known = known || s == name
	}
	if !known {
		return nil, fmt.Errorf("rawmysql: testserver: %s=%q: want one of %s", EnvServer, name, strings.Join(Servers, ", "))
	}
	began := time.Now()
	cmd, err := testenvCommand("serve", name)
	if err != nil {
		return nil, err
	}
	h := &dockerHandle{cmd: cmd, done: make(chan struct{}), log: &lockedBuffer{}}
	cmd.Stderr = h.log
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: starting testenv: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(h.done)
	}()

	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		got <- result{line, err}
	}()
	var r result
	select {
	case r = <-got:
	case <-time.After(testenvStartTimeout):
		r.err = fmt.Errorf("no server within %v", testenvStartTimeout)
	}
	var d testenvDesc
	if r.err == nil {
		r.err = json.Unmarshal([]byte(r.line), &d)
	}
	if r.err != nil {
		_ = h.stdin.Close()
		_ = cmd.Process.Kill()
		<-h.done
		return nil, fmt.Errorf("rawmysql: testserver: %s through internal/testenv: %v\n%s", name, r.err, h.log)
	}
	h.id = d.Container
	s := &Server{
		Addr: d.Addr, Socket: d.Socket, User: d.User, DBName: d.DBName, Kind: KindDocker, Version: d.Version,
		Name: name, docker: h, startDur: time.Since(began),
	}
	s.setCerts(d.CertDir)
	register(s)
	return s, nil
}

// setCerts fills the TLS file names from a directory written by WriteTLSFiles.
func (s *Server) setCerts(dir string) {
	if dir == "" {
		return
	}
	s.CAFile = filepath.Join(dir, "ca.pem")
	s.ServerCertFile = filepath.Join(dir, "server-cert.pem")
	s.ServerKeyFile = filepath.Join(dir, "server-key.pem")
	s.ClientCertFile = filepath.Join(dir, "client-cert.pem")
	s.ClientKeyFile = filepath.Join(dir, "client-key.pem")
}

// lockedBuffer collects a child's standard error.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}
