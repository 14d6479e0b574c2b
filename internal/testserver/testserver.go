// Package testserver finds or starts a real MySQL/MariaDB server for rawmysql's tests.
//
// Get looks for a server in this order:
//
//  1. the DSN in the environment variable RAWMYSQL_TEST_DSN (go-sql-driver grammar), with optional TLS files
//     (RAWMYSQL_TEST_CERTS) and unix socket (RAWMYSQL_TEST_SOCKET);
//  2. a Docker container of the server named by RAWMYSQL_TEST_SERVER (mysql-9.7, mariadb-10.5, mariadb-10.11,
//     mariadb-11.8), started through dockertest by the separate module internal/testenv (so that the driver's
//     module does not depend on Docker modules); its image is built on first use by images/build.sh;
//  3. a private server started from mariadbd (or mysqld) found on PATH, in a temporary directory, on a free
//     loopback port, with generated TLS certificates — the quick default;
//  4. none: the test is skipped, or failed when CI is set or RAWMYSQL_REQUIRE_SERVER=1.
//
// The server found by Get is shared by all tests of one test binary; the package's TestMain must call Main so
// that it is stopped (and a container removed) at the end. This package never imports the driver under test:
// admin statements go through the mariadb/mysql command-line client (Server.Exec).
package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	// EnvDSN names a server to use instead of starting one (go-sql-driver DSN grammar).
	EnvDSN = "RAWMYSQL_TEST_DSN"
	// EnvServer selects a server run in Docker through internal/testenv (one of Servers).
	EnvServer = "RAWMYSQL_TEST_SERVER"
	// EnvCerts names a directory with ca.pem, client-cert.pem and client-key.pem for the EnvDSN server.
	EnvCerts = "RAWMYSQL_TEST_CERTS"
	// EnvSocket is the unix socket of the EnvDSN server, when it has one on this machine.
	EnvSocket = "RAWMYSQL_TEST_SOCKET"
	// EnvFlavor names the EnvDSN server as in Servers (set by `testenv run`); informational.
	EnvFlavor = "RAWMYSQL_TEST_FLAVOR"
	// EnvTestenv is a prebuilt internal/testenv binary (else it is run with `go run`).
	EnvTestenv = "RAWMYSQL_TESTENV"
	// EnvRequire, when "1", turns "no server" into a test failure instead of a skip (as CI does).
	EnvRequire = "RAWMYSQL_REQUIRE_SERVER"
)

// noServerMsg is the one line printed when no server can be found.
const noServerMsg = "rawmysql: testserver: no MySQL/MariaDB server for this test: " +
	"set RAWMYSQL_TEST_DSN or RAWMYSQL_TEST_SERVER, or install mariadbd/mysqld"

// Server describes a MySQL/MariaDB server for tests.
type Server struct {
	Addr     string // host:port (TCP)
	Socket   string // unix socket path, "" if unknown
	User     string
	Password string
	DBName   string
	Kind     string // "env", "private", "docker"
	Name     string // for docker servers (and env servers started by `testenv run`): the EnvServer name
	Version  string // server version string if known (may be filled lazily; "" ok)
	// TLS material (private and docker servers; env servers with RAWMYSQL_TEST_CERTS; "" otherwise):
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string

	Dir string // the datadir parent (private only)

	params   string        // extra DSN parameters from RAWMYSQL_TEST_DSN
	startDur time.Duration // how long starting it took (private and docker)

	proc        *privateProc  // private servers: the mariadbd process and how to restart it
	docker      *dockerHandle // docker servers: the container
	cleanup     func() error  // other servers started by this package (StartMySQLReplication's containers)
	once        sync.Once     // guards release
	versionOnce sync.Once     // guards the lazy Version lookup
	relErr      error         // result of release
}

// Kinds of Server.
const (
	KindEnv     = "env"
	KindPrivate = "private"
	KindDocker  = "docker"
)

var (
	sharedOnce    sync.Once
	sharedServer  *Server
	sharedErr     error // a real failure (found a way to get a server, but it broke)
	sharedLog     []string
	sharedLogOnce sync.Once

	registryMu sync.Mutex
	registry   []*Server // every private/docker server started by this process, for Main
)

// Get returns the package's shared server, starting it on first use (once per test binary);
// skips or fails t as described when there is none.
func Get(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() {
		sharedServer, sharedLog, sharedErr = findShared()
	})
	if sharedErr != nil {
		t.Fatalf("%v", sharedErr)
	}
	if sharedServer == nil {
		noServer(t, sharedLog)
	}
	sharedLogOnce.Do(func() { t.Logf("%s", sharedServer) })
	return sharedServer
}

// String describes the server in one line (kind, version, address, start time), for test logs.
func (s *Server) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rawmysql: testserver: %s server", s.Kind)
	if s.Version != "" {
		fmt.Fprintf(&b, " %s", s.Version)
	}
	if s.Addr != "" {
		fmt.Fprintf(&b, " at %s", s.Addr)
	}
	if s.Socket != "" {
		fmt.Fprintf(&b, " (socket %s)", s.Socket)
	}
	if s.startDur > 0 {
		fmt.Fprintf(&b, ", started in %v", s.startDur.Round(time.Millisecond))
	}
	return b.String()
}

// findShared looks for a server in the documented order. It returns (nil, notes, nil) when there is none.
func findShared() (*Server, []string, error) {
	if dsn, ok := os.LookupEnv(EnvDSN); ok && dsn != "" {
		s, err := parseEnvDSN(dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("%w (in %s)", err, EnvDSN)
		}
		s.setCerts(os.Getenv(EnvCerts))
		if sock := os.Getenv(EnvSocket); sock != "" {
			s.Socket = sock
		}
		s.Name = os.Getenv(EnvFlavor)
		if s.Addr != "" {
			if v, err := probeHandshake("tcp", s.Addr, 3*time.Second); err == nil {
				s.Version = v
			}
		} else if v, err := probeHandshake("unix", s.Socket, 3*time.Second); err == nil && s.Socket != "" {
			s.Version = v
		}
		return s, nil, nil
	}
	if name := os.Getenv(EnvServer); name != "" {
		s, err := startDocker(name)
		if err != nil {
			return nil, nil, err
		}
		return s, nil, nil
	}
	bin, err := findServerBinary()
	if err != nil {
		return nil, []string{err.Error()}, nil
	}
	s, err := startPrivate(bin, nil)
	if err != nil {
		return nil, nil, err
	}
	return s, nil, nil
}

// mustHaveServer reports whether "no server" must fail the test rather than skip it.
func mustHaveServer() bool {
	return os.Getenv("CI") != "" || os.Getenv(EnvRequire) == "1"
}

// noServer skips t, or fails it in CI, with the one-line hint.
func noServer(t testing.TB, notes []string) {
	t.Helper()
	msg := noServerMsg
	if len(notes) > 0 {
		msg += " (" + strings.Join(notes, "; ") + ")"
	}
	if mustHaveServer() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// register records s so that Main stops it.
func register(s *Server) {
	registryMu.Lock()
	registry = append(registry, s)
	registryMu.Unlock()
}

// Main is for TestMain: runs m.Run(), then stops every server this package started, then runs the checks
// (e.g. leakcheck.Check), and exits with the code — 1 if a check failed.
func Main(m *testing.M, checks ...func() error) {
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// stopAll releases every server this process started (killing private servers and removing their directories,
// purging containers) and returns the first error.
func stopAll() error {
	registryMu.Lock()
	list := registry
	registry = nil
	registryMu.Unlock()
	var first error
	for _, s := range list {
		if err := s.release(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// release stops s for good and removes what it left behind. Safe to call more than once.
func (s *Server) release() error {
	s.once.Do(func() {
		switch {
		case s.proc != nil:
			s.relErr = s.proc.destroy()
		case s.docker != nil:
			s.relErr = s.docker.purge()
		case s.cleanup != nil:
			s.relErr = s.cleanup()
		}
	})
	return s.relErr
}

// DSN returns "user:pass@tcp(addr)/dbname" plus "?"+params when params != "".
// Parameters given in RAWMYSQL_TEST_DSN come first, so params can override them. A server known only by its
// unix socket (an env DSN with unix(...)) gets "unix(socket)" instead of "tcp(addr)".
func (s *Server) DSN(params string) string {
	if s.Addr == "" && s.Socket != "" {
		return s.format("unix", s.Socket, params)
	}
	return s.format("tcp", s.Addr, params)
}

// SocketDSN returns "user:pass@unix(socket)/dbname?params" (skips t if no socket).
func (s *Server) SocketDSN(t testing.TB, params string) string {
	t.Helper()
	if s.Socket == "" {
		t.Skipf("rawmysql: testserver: the %s server has no known unix socket", s.Kind)
	}
	return s.format("unix", s.Socket, params)
}

// format builds a go-sql-driver style DSN.
func (s *Server) format(network, addr, params string) string {
	var b strings.Builder
	b.WriteString(s.User)
	if s.Password != "" {
		b.WriteByte(':')
		b.WriteString(s.Password)
	}
	b.WriteByte('@')
	b.WriteString(network)
	b.WriteByte('(')
	b.WriteString(addr)
	b.WriteString(")/")
	b.WriteString(s.DBName)
	all := s.params
	if params != "" {
		if all != "" {
			all += "&"
		}
		all += params
	}
	if all != "" {
		b.WriteByte('?')
		b.WriteString(all)
	}
	return b.String()
}

// Exec runs a SQL statement as the admin user through the `mariadb`/`mysql` command-line client found on PATH
// (`--protocol=tcp -h host -P port -u user`) — so tests can do admin setup (CREATE USER …) without depending on
// the driver under test. The client runs in batch mode without column names, so "SELECT 1" returns "1\n"; a
// server known only by its unix socket (RAWMYSQL_TEST_DSN with unix(...)) is reached through the socket.
// Returns the client's stdout; the error includes stderr.
func (s *Server) Exec(sql string) (string, error) {
	return s.execArgs(nil, sql)
}

// execArgs is Exec with extra client options (for example TLS options).
func (s *Server) execArgs(extra []string, sql string) (string, error) {
	client, err := findClient()
	if err != nil {
		return "", err
	}
	args := []string{"--no-defaults"}
	if s.Addr == "" && s.Socket != "" {
		args = append(args, "--protocol=socket", "--socket="+s.Socket)
	} else {
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil {
			return "", fmt.Errorf("rawmysql: testserver: server address %q: %w", s.Addr, err)
		}
		args = append(args, "--protocol=tcp", "-h", host, "-P", port)
	}
	args = append(args, "-u", s.User, "--batch", "--skip-column-names")
	if s.Password != "" {
		args = append(args, "--password="+s.Password)
	}
	args = append(args, extra...)
	if s.DBName != "" {
		args = append(args, "-D", s.DBName)
	}
	cmd := exec.Command(client, args...)
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("rawmysql: testserver: %s: %v: %s", client, err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// findClient returns the path of the mariadb or mysql command-line client.
func findClient() (string, error) {
	for _, name := range []string{"mariadb", "mysql"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("rawmysql: testserver: neither mariadb nor mysql client found on PATH")
}
