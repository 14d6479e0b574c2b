package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	readyTimeout    = 60 * time.Second // how long a private server may take to accept connections
	shutdownTimeout = 60 * time.Second // how long a clean shutdown may take before SIGKILL
	staleAge        = 3 * time.Minute  // leftover directories younger than this are never touched
	bindAttempts    = 5                // free-port races retried at the first start
	logTailBytes    = 4096             // how much of the error log goes into an error
	maxSocketPath   = 100              // sun_path holds 104-108 bytes depending on the OS
)

// parentDir is the fixed directory under which every private server gets its own directory, so that leftovers of
// killed test binaries can be found and removed.
func parentDir() string { return filepath.Join(os.TempDir(), "rawmysql-testserver") }

// privateProc is a mariadbd/mysqld process this package started, with everything needed to start it again.
type privateProc struct {
	bin     string   // server binary
	args    []string // full command line after bin
	dir     string   // the server's directory (removed by destroy)
	sockDir string   // a separate short directory for the socket, "" when the socket is inside dir
	addr    string   // 127.0.0.1:port
	socket  string   // unix socket path
	errLog  string   // the server's error log

	mu        sync.Mutex
	cmd       *exec.Cmd     // nil when stopped
	done      chan struct{} // closed when cmd has exited
	destroyed bool
}

// serverFlavor tells MariaDB and MySQL apart; they initialise a data directory differently.
type serverFlavor int

const (
	flavorMariaDB serverFlavor = iota
	flavorMySQL
)

// findServerBinary looks for mariadbd, then mysqld, on PATH and then in the usual sbin directories (which are
// often missing from a non-root PATH).
func findServerBinary() (string, error) {
	if runtime.GOOS == "windows" {
		return "", errors.New("private servers are not supported on Windows")
	}
	for _, name := range []string{"mariadbd", "mysqld"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin"} {
		for _, name := range []string{"mariadbd", "mysqld"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", errors.New("no mariadbd or mysqld on PATH")
}

// StartPrivate starts a NEW private mariadbd (always private, never env/docker) with extra server options
// (e.g. "--max-connections=20"); skips/fails t like Get when no binary is found. Stopped by t.Cleanup.
func StartPrivate(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	bin, err := findServerBinary()
	if err != nil {
		noServer(t, []string{err.Error()})
	}
	s, err := startPrivate(bin, extraArgs)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Logf("%s", s)
	t.Cleanup(func() {
		if err := s.release(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return s
}

// startPrivate creates a data directory, TLS files and an init file in a new directory under parentDir, starts
// the server on a free loopback port and waits until it accepts connections.
func startPrivate(bin string, extra []string) (s *Server, err error) {
	began := time.Now()
	staleOnce.Do(func() { removeStale(parentDir()) })

	flavor, err := detectFlavor(bin)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parentDir(), 0o700); err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: %w", err)
	}
	dir, err := os.MkdirTemp(parentDir(), "s")
	if err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: %w", err)
	}
	p := &privateProc{bin: bin, dir: dir, errLog: filepath.Join(dir, "error.log")}
	defer func() {
		if err != nil {
			_ = p.destroy()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerPidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: %w", err)
	}

	certs, err := writeTLSFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: generating TLS certificates: %w", err)
	}
	initFile := filepath.Join(dir, "init.sql")
	if err := os.WriteFile(initFile, []byte(initSQL), 0o600); err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	if err := initDataDir(bin, flavor, dataDir, dir); err != nil {
		return nil, err
	}

	p.socket = filepath.Join(dir, "mysqld.sock")
	if len(p.socket) > maxSocketPath {
		// A long TMPDIR (macOS) would overflow sun_path: keep the socket in a short directory under /tmp and
		// remember it, so that stale cleanup removes it too.
		p.sockDir, err = os.MkdirTemp("/tmp", "rmts")
		if err != nil {
			return nil, fmt.Errorf("rawmysql: testserver: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, sockDirFile), []byte(p.sockDir), 0o600); err != nil {
			return nil, fmt.Errorf("rawmysql: testserver: %w", err)
		}
		p.socket = filepath.Join(p.sockDir, "s")
	}

	base := []string{"--no-defaults"}
	if os.Geteuid() == 0 {
		base = append(base, "--user=root") // mariadbd and mysqld refuse to run as root otherwise
	}
	base = append(base,
		"--datadir="+dataDir,
		"--socket="+p.socket,
		"--bind-address=127.0.0.1",
		"--pid-file="+filepath.Join(dir, serverPidFile),
		"--log-error="+p.errLog,
		"--tmpdir="+dir,
		"--init-file="+initFile,
		"--ssl-ca="+certs.CA,
		"--ssl-cert="+certs.ServerCert,
		"--ssl-key="+certs.ServerKey,
		"--local-infile=1",
		"--max-allowed-packet=128M",
		"--innodb-buffer-pool-size=64M",
		"--skip-name-resolve",
		"--max-connect-errors=1000000000", // readiness probes and cut-connection tests must not block 127.0.0.1
		// The default of 151 is shared by every test of a binary, several in parallel, some opening dozens of
		// connections and cancel tests replacing hundreds: a server slowed by a loaded machine counts closed
		// connections until their threads end, and once refused a test with 1040 (Too many connections).
		"--max-connections=1000",
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_general_ci",
		"--performance-schema=OFF",
		// Small, fast, not durable against power loss (only test data lives here):
		"--innodb-flush-log-at-trx-commit=2",
		"--loose-innodb-doublewrite=OFF",
		"--skip-log-bin",
	)
	switch flavor {
	case flavorMariaDB:
		if ed := ed25519Plugin(bin); ed {
			base = append(base, "--plugin-load-add=auth_ed25519")
		}
	case flavorMySQL:
		base = append(base, "--loose-mysqlx=OFF") // X plugin would take port 33060 in every server
	}

	var lastErr error
	for attempt := 0; attempt < bindAttempts; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.args = append(append(append([]string(nil), base...), "--port="+strconv.Itoa(port)), extra...)
		version, err := p.start()
		if err == nil {
			s = &Server{
				Addr: p.addr, Socket: p.socket, User: "root", DBName: "test", Kind: KindPrivate, Version: version,
				CAFile: certs.CA, ServerCertFile: certs.ServerCert, ServerKeyFile: certs.ServerKey,
				ClientCertFile: certs.ClientCert, ClientKeyFile: certs.ClientKey,
				Dir: dir, proc: p, startDur: time.Since(began),
			}
			register(s)
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errBind) {
			break
		}
	}
	return nil, lastErr
}

// initSQL runs at every server start (--init-file), so every statement is idempotent. It is kept out of the
// binary log: on a replica of a replication test (replication.go), a restart would otherwise write GTIDs of its
// own that collide with the primary's under gtid_strict_mode.
const initSQL = `SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS test;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
`

// Files in a private server's directory.
const (
	ownerPidFile  = "owner.pid"  // pid of the test binary that started the server
	serverPidFile = "mysqld.pid" // written by the server
	sockDirFile   = "sockdir"    // path of the separate socket directory, when there is one
)

// detectFlavor runs "bin --version".
func detectFlavor(bin string) (serverFlavor, error) {
	out, err := exec.Command(bin, "--no-defaults", "--version").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("rawmysql: testserver: %s --version: %v: %s", bin, err, strings.TrimSpace(string(out)))
	}
	if strings.Contains(string(out), "MariaDB") {
		return flavorMariaDB, nil
	}
	return flavorMySQL, nil
}

// initDataDir creates the system tables in dataDir: mariadb-install-db for MariaDB, --initialize-insecure for
// MySQL. Both leave root@localhost with an empty password.
func initDataDir(bin string, flavor serverFlavor, dataDir, dir string) error {
	logPath := filepath.Join(dir, "install.log")
	var cmd *exec.Cmd
	switch flavor {
	case flavorMariaDB:
		installer, err := findInstaller(bin)
		if err != nil {
			return err
		}
		args := []string{"--no-defaults", "--datadir=" + dataDir, "--auth-root-authentication-method=normal",
			"--skip-name-resolve"}
		if installerHas(installer, "--skip-test-db") {
			args = append(args, "--skip-test-db")
		}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.Command(installer, args...)
	default:
		args := []string{"--no-defaults", "--initialize-insecure", "--datadir=" + dataDir, "--log-error=" + logPath}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.Command(bin, args...)
	}
	// Its own temporary directory: concurrent installs in a shared /tmp have failed deleting each other's
	// #sql-temptable files ("Error on delete of '/tmp/#sql-temptable-…'").
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	out, err := cmd.CombinedOutput()
	if len(out) > 0 {
		f, ferr := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if ferr == nil {
			_, _ = f.Write(out)
			_ = f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("rawmysql: testserver: initialising %s with %s failed: %v\n%s",
			dataDir, filepath.Base(cmd.Path), err, tail(logPath))
	}
	return nil
}

// findInstaller returns mariadb-install-db (or the older mysql_install_db) from PATH or next to the server.
func findInstaller(bin string) (string, error) {
	names := []string{"mariadb-install-db", "mysql_install_db"}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	binDir := filepath.Dir(bin)
	for _, dir := range []string{binDir, filepath.Join(binDir, "..", "bin"), filepath.Join(binDir, "..", "scripts")} {
		for _, n := range names {
			p := filepath.Join(dir, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("rawmysql: testserver: %s is MariaDB but mariadb-install-db was not found", bin)
}

var installerHelp struct {
	once sync.Once
	text string
}

// installerHas reports whether the installer's --help mentions option.
func installerHas(installer, option string) bool {
	installerHelp.once.Do(func() {
		out, _ := exec.Command(installer, "--help").CombinedOutput()
		installerHelp.text = string(out)
	})
	return strings.Contains(installerHelp.text, option)
}

var pluginDir struct {
	once sync.Once
	dir  string
}

// ed25519Plugin reports whether MariaDB's auth_ed25519 plugin library is installed, looking in the plugin-dir
// printed by "mariadbd --help --verbose" and in the usual places.
func ed25519Plugin(bin string) bool {
	pluginDir.once.Do(func() {
		args := []string{"--no-defaults", "--help", "--verbose"}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		out, _ := exec.Command(bin, args...).Output()
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "plugin-dir" {
				pluginDir.dir = f[1]
				break
			}
		}
	})
	candidates := []string{"/usr/lib/mysql/plugin", "/usr/lib64/mysql/plugin", "/usr/local/lib/mysql/plugin"}
	if pluginDir.dir != "" {
		candidates = append([]string{pluginDir.dir}, candidates...)
	}
	for _, dir := range candidates {
		if _, err := os.Stat(filepath.Join(dir, "auth_ed25519.so")); err == nil {
			return true
		}
	}
	return false
}

// freePort asks the kernel for a free loopback port. Another process may take it before the server binds it;
// startPrivate then retries with a new one.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("rawmysql: testserver: finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("rawmysql: testserver: finding a free port: %w", err)
	}
	return port, nil
}

// errBind marks a start that failed because the TCP port was taken.
var errBind = errors.New("rawmysql: testserver: port already in use")

// start launches the server process and waits until it answers on its socket and TCP port. It returns the
// server version from the greeting.
func (p *privateProc) start() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.destroyed {
		return "", errors.New("rawmysql: testserver: server was released")
	}
	if p.cmd != nil {
		return "", errors.New("rawmysql: testserver: server is already running")
	}
	out, err := os.OpenFile(filepath.Join(p.dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return "", fmt.Errorf("rawmysql: testserver: %w", err)
	}
	defer out.Close() // the child has its own copy of the descriptor
	logStart := fileSize(p.errLog)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := startProcess(cmd); err != nil {
		return "", fmt.Errorf("rawmysql: testserver: starting %s: %w", p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	version, err := p.waitReady(done)
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
		p.cmd, p.done = nil, nil
		log := tailFrom(p.errLog, logStart)
		if strings.Contains(log, "Bind on TCP/IP port") || strings.Contains(log, "Address already in use") {
			return "", fmt.Errorf("%w: %v\n%s", errBind, err, log)
		}
		return "", fmt.Errorf("%v\n--- %s (tail) ---\n%s", err, p.errLog, log)
	}
	return version, nil
}

// waitReady polls the unix socket, then the TCP port, until each answers with a greeting. The socket lives in
// this server's own directory, so an answer there cannot come from another process that took the port.
func (p *privateProc) waitReady(done <-chan struct{}) (string, error) {
	deadline := time.Now().Add(readyTimeout)
	var lastErr error
	for _, target := range [][2]string{{"unix", p.socket}, {"tcp", p.addr}} {
		for {
			select {
			case <-done:
				return "", fmt.Errorf("rawmysql: testserver: %s exited before accepting connections", filepath.Base(p.bin))
			default:
			}
			v, err := probeHandshake(target[0], target[1], 2*time.Second)
			if err == nil {
				if target[0] == "tcp" {
					return v, nil
				}
				break
			}
			lastErr = err
			if time.Now().After(deadline) {
				return "", fmt.Errorf("rawmysql: testserver: %s did not accept connections on %s within %v: %v",
					filepath.Base(p.bin), target[1], readyTimeout, lastErr)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return "", lastErr // not reached: the tcp target returns from the loop
}

// stop ends the process: SIGKILL when hard, else SIGTERM (a clean shutdown) falling back to SIGKILL after
// shutdownTimeout. It waits until the process has exited.
func (p *privateProc) stop(hard bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New("rawmysql: testserver: server is not running")
	}
	cmd, done := p.cmd, p.done
	var err error
	if hard {
		err = cmd.Process.Kill()
	} else {
		err = terminate(cmd.Process)
	}
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("rawmysql: testserver: signalling server: %w", err)
	}
	select {
	case <-done:
	case <-time.After(shutdownTimeout):
		_ = cmd.Process.Kill()
		<-done
	}
	p.cmd, p.done = nil, nil
	return nil
}

// destroy kills the process if it runs and removes the server's directories. Later starts fail.
func (p *privateProc) destroy() error {
	p.mu.Lock()
	p.destroyed = true
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
	var first error
	for _, d := range []string{p.sockDir, p.dir} {
		if d == "" {
			continue
		}
		if err := os.RemoveAll(d); err != nil && first == nil {
			first = fmt.Errorf("rawmysql: testserver: removing %s: %w", d, err)
		}
	}
	return first
}

// Stop kills the private server's process (SIGKILL when hard=true, else a clean shutdown) and waits for exit.
func (s *Server) Stop(hard bool) error {
	if s.proc == nil {
		return fmt.Errorf("rawmysql: testserver: Stop needs a private server, this one is %q", s.Kind)
	}
	return s.proc.stop(hard)
}

// Start starts a stopped private server again on the same port, datadir and options and waits until it is ready.
func (s *Server) Start() error {
	if s.proc == nil {
		return fmt.Errorf("rawmysql: testserver: Start needs a private server, this one is %q", s.Kind)
	}
	_, err := s.proc.start()
	return err
}

// fileSize returns the size of path, 0 if it does not exist.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// tail returns the last logTailBytes of a file.
func tail(path string) string { return tailFrom(path, 0) }

// tailFrom returns the last logTailBytes of the part of a file after offset from.
func tailFrom(path string, from int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if from > 0 && from <= int64(len(data)) {
		data = data[from:]
	}
	if len(data) > logTailBytes {
		data = data[len(data)-logTailBytes:]
	}
	return strings.TrimSpace(string(data))
}

var staleOnce sync.Once

// removeStale deletes directories under parent left by test binaries that died without cleaning up: only those
// older than staleAge whose recorded owner pid is no longer alive. A server still running from such a directory
// is killed first when the process table confirms it is that directory's server; if that cannot be confirmed,
// the directory is left alone.
func removeStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		info, err := os.Stat(filepath.Join(dir, ownerPidFile))
		if err != nil {
			info, err = os.Stat(dir)
			if err != nil {
				continue
			}
		}
		if time.Since(info.ModTime()) < staleAge {
			continue
		}
		if owner := readPid(filepath.Join(dir, ownerPidFile)); owner > 0 && pidAlive(owner) {
			continue
		}
		if srv := readPid(filepath.Join(dir, serverPidFile)); srv > 0 && pidAlive(srv) {
			cmdline, known := processCmdline(srv)
			if !known {
				continue
			}
			if strings.Contains(cmdline, dir) {
				killPid(srv)
				for i := 0; i < 100 && pidAlive(srv); i++ {
					time.Sleep(50 * time.Millisecond)
				}
				if pidAlive(srv) {
					continue
				}
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, sockDirFile)); err == nil {
			if sd := strings.TrimSpace(string(b)); strings.HasPrefix(sd, "/tmp/rmts") {
				_ = os.RemoveAll(sd)
			}
		}
		_ = os.RemoveAll(dir)
	}
}

// readPid reads a decimal pid from a file, 0 when missing or malformed.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
