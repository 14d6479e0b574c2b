package testserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

// requireClient skips t when the mariadb/mysql command-line client is missing (fails in CI).
func requireClient(t *testing.T) {
	t.Helper()
	if _, err := findClient(); err != nil {
		if mustHaveServer() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// privateShared returns Get's server, skipping unless it is a private one (RAWMYSQL_TEST_DSN or Docker in use).
func privateShared(t *testing.T) *Server {
	t.Helper()
	s := Get(t)
	if s.Kind != KindPrivate {
		t.Skipf("the shared server is %q, this test needs a private one", s.Kind)
	}
	requireClient(t)
	return s
}

// tlsClientArgs returns the client options for a TLS connection that verifies the server certificate against
// caFile and the host name: MariaDB's client and MySQL's spell them differently.
func tlsClientArgs(t *testing.T, caFile string) []string {
	t.Helper()
	client, err := findClient()
	require.NoError(t, err)
	out, err := exec.Command(client, "--version").CombinedOutput()
	require.NoError(t, err, "%s --version: %s", client, out)
	if strings.Contains(string(out), "MariaDB") {
		return []string{"--ssl", "--ssl-ca=" + caFile, "--ssl-verify-server-cert"}
	}
	return []string{"--ssl-mode=VERIFY_IDENTITY", "--ssl-ca=" + caFile}
}

// statusValue returns the value of "name\tvalue" batch output.
func statusValue(t *testing.T, out, name string) string {
	t.Helper()
	line := strings.TrimSpace(out)
	got, value, ok := strings.Cut(line, "\t")
	require.Truef(t, ok, "unexpected SHOW STATUS output %q", out)
	require.Equal(t, name, got)
	return value
}

func TestPrivateServer(t *testing.T) {
	s := privateShared(t)
	t.Logf("private server start took %v (install-db, certificates and first greeting)", s.startDur)

	assert.Equal(t, "root", s.User)
	assert.Equal(t, "test", s.DBName)
	assert.Contains(t, s.Addr, "127.0.0.1:")
	assert.NotEmpty(t, s.Version)
	for _, f := range []string{s.CAFile, s.ServerCertFile, s.ServerKeyFile, s.ClientCertFile, s.ClientKeyFile} {
		assert.FileExists(t, f)
	}
	assert.True(t, strings.HasPrefix(s.Dir, parentDir()), "dir %s not under %s", s.Dir, parentDir())
	assert.Equal(t, strconv.Itoa(os.Getpid()), readFileTrim(t, filepath.Join(s.Dir, ownerPidFile)))

	out, err := s.Exec("SELECT 1")
	require.NoError(t, err)
	assert.Equal(t, "1\n", out)

	out, err = s.Exec("SELECT DATABASE(), CURRENT_USER(), @@character_set_server, @@local_infile, @@max_allowed_packet")
	require.NoError(t, err)
	assert.Equal(t, "test\troot@127.0.0.1\tutf8mb4\t1\t134217728\n", out)

	// The unix socket answers with the same server.
	v, err := probeHandshake("unix", s.Socket, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, s.Version, v)

	t.Run("TLS", func(t *testing.T) {
		// The client verifies the server certificate against our CA and the address 127.0.0.1.
		tlsArgs := tlsClientArgs(t, s.CAFile)
		out, err := s.execArgs(tlsArgs, "SHOW STATUS LIKE 'Ssl_cipher'")
		require.NoError(t, err)
		assert.NotEmpty(t, statusValue(t, out, "Ssl_cipher"), "connection is not encrypted")

		// The generated client certificate is accepted by an account that requires one.
		_, err = s.Exec("DROP USER IF EXISTS 'x509user'@'127.0.0.1'; CREATE USER 'x509user'@'127.0.0.1' REQUIRE X509")
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = s.Exec("DROP USER IF EXISTS 'x509user'@'127.0.0.1'") })
		x509 := &Server{Addr: s.Addr, User: "x509user"}
		_, err = x509.execArgs(tlsArgs, "SELECT 1")
		require.Error(t, err, "an account with REQUIRE X509 accepted a client without certificate")
		out, err = x509.execArgs(append(tlsArgs, "--ssl-cert="+s.ClientCertFile, "--ssl-key="+s.ClientKeyFile),
			"SELECT CURRENT_USER()")
		require.NoError(t, err)
		assert.Equal(t, "x509user@127.0.0.1\n", out)
	})

	t.Run("StopStart", func(t *testing.T) {
		_, err := s.Exec("CREATE TABLE IF NOT EXISTS testserver_restart (v INT) ENGINE=InnoDB;" +
			"DELETE FROM testserver_restart; INSERT INTO testserver_restart VALUES (42)")
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = s.Exec("DROP TABLE IF EXISTS testserver_restart") })

		for _, hard := range []bool{true, false} {
			require.NoError(t, s.Stop(hard))
			_, err = s.Exec("SELECT 1")
			require.Errorf(t, err, "server answers after Stop(%v)", hard)
			require.Error(t, s.Stop(hard), "Stop of a stopped server")

			require.NoError(t, s.Start())
			require.Error(t, s.Start(), "Start of a running server")
			out, err := s.Exec("SELECT v FROM testserver_restart")
			require.NoError(t, err, "after Stop(%v)+Start", hard)
			assert.Equal(t, "42\n", out, "committed row lost after Stop(%v)", hard)
		}
		_, err = probeHandshake("unix", s.Socket, 5*time.Second)
		require.NoError(t, err, "socket after restart")
	})
}

func readFileTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func TestStartPrivate(t *testing.T) {
	requireClient(t)
	var dir string
	t.Run("server", func(t *testing.T) {
		s := StartPrivate(t, "--max-connections=23")
		dir = s.Dir
		assert.Equal(t, KindPrivate, s.Kind)
		out, err := s.Exec("SELECT @@max_connections")
		require.NoError(t, err)
		assert.Equal(t, "23\n", out)
		if ed25519Plugin(s.proc.bin) {
			out, err := s.Exec("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'ed25519'")
			require.NoError(t, err)
			assert.Equal(t, "ACTIVE\n", out)
		}
	})
	// t.Cleanup of the subtest stopped the server and removed its directory.
	require.NotEmpty(t, dir)
	assert.NoDirExists(t, dir)
}

func TestNotPrivate(t *testing.T) {
	for _, s := range []*Server{{Kind: KindEnv}, {Kind: KindDocker}} {
		assert.Error(t, s.Stop(true))
		assert.Error(t, s.Start())
	}
}

func TestParseEnvDSN(t *testing.T) {
	type want struct{ User, Password, Addr, Socket, DBName, params string }
	tests := []struct {
		dsn  string
		want want
	}{
		{"root@tcp(127.0.0.1:3306)/test",
			want{User: "root", Addr: "127.0.0.1:3306", DBName: "test"}},
		{"u:p@tcp(db.example:3307)/d?tls=skip-verify&parseTime=true",
			want{User: "u", Password: "p", Addr: "db.example:3307", DBName: "d", params: "tls=skip-verify&parseTime=true"}},
		// The first ':' splits user and password, the last '@' ends them.
		{"u:p:a@ss@tcp(h:1)/d", want{User: "u", Password: "p:a@ss", Addr: "h:1", DBName: "d"}},
		{"/", want{Addr: "127.0.0.1:3306"}},
		{"tcp/db", want{Addr: "127.0.0.1:3306", DBName: "db"}},
		{"u@tcp(localhost)/", want{User: "u", Addr: "localhost:3306"}},
		{"u@tcp([::1])/x", want{User: "u", Addr: "[::1]:3306", DBName: "x"}},
		{"u@tcp6([::1]:3310)/x", want{User: "u", Addr: "[::1]:3310", DBName: "x"}},
		{"u@unix(/run/mysqld/mysqld.sock)/x?a=b", want{User: "u", Socket: "/run/mysqld/mysqld.sock", DBName: "x", params: "a=b"}},
		{"u@unix/x", want{User: "u", Socket: "/tmp/mysql.sock", DBName: "x"}},
		// The last '/' starts the database name; an unescaped '/' in a parameter value moves it.
		{"u@tcp(h:1)/d?loc=Europe%2FBerlin", want{User: "u", Addr: "h:1", DBName: "d", params: "loc=Europe%2FBerlin"}},
		// Read as the driver reads it (internal/dsnparse): unescaped slashes in a parameter value, as the driver's
		// own docs allow for tls-ca, and a path-escaped database name.
		{"u:p@tcp(h:1)/d?tls-ca=/etc/mysql/ca.pem", want{User: "u", Password: "p", Addr: "h:1", DBName: "d", params: "tls-ca=/etc/mysql/ca.pem"}},
		{"u@tcp(h:1)/my%2Fdb", want{User: "u", Addr: "h:1", DBName: "my/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			got, err := parseEnvDSN(tt.dsn)
			require.NoError(t, err)
			assert.Equal(t, tt.want.User, got.User)
			assert.Equal(t, tt.want.Password, got.Password)
			assert.Equal(t, tt.want.Addr, got.Addr)
			assert.Equal(t, tt.want.Socket, got.Socket)
			assert.Equal(t, tt.want.DBName, got.DBName)
			assert.Equal(t, tt.want.params, got.params)
			assert.Equal(t, KindEnv, got.Kind)
		})
	}

	for _, bad := range []string{
		"",
		"root@tcp(127.0.0.1:3306)",     // no '/'
		"root@tcp(127.0.0.1:3306/test", // unterminated address
		"root@127.0.0.1:3306/test",     // address without net(...)
		"root@pipe(x)/test",            // unsupported network
	} {
		_, err := parseEnvDSN(bad)
		if assert.Errorf(t, err, "%q", bad) {
			assert.True(t, strings.HasPrefix(err.Error(), "rawmysql: "), err.Error())
		}
	}
}

func TestDSN(t *testing.T) {
	s := &Server{User: "root", Addr: "127.0.0.1:3306", Socket: "/tmp/s.sock", DBName: "test"}
	assert.Equal(t, "root@tcp(127.0.0.1:3306)/test", s.DSN(""))
	assert.Equal(t, "root@tcp(127.0.0.1:3306)/test?parseTime=true", s.DSN("parseTime=true"))
	assert.Equal(t, "root@unix(/tmp/s.sock)/test?a=1", s.SocketDSN(t, "a=1"))

	s.Password = "pw"
	assert.Equal(t, "root:pw@tcp(127.0.0.1:3306)/test", s.DSN(""))

	// Parameters from RAWMYSQL_TEST_DSN come first and round-trip through the parser.
	env, err := parseEnvDSN("u:p@tcp(h:3307)/d?tls=true")
	require.NoError(t, err)
	assert.Equal(t, "u:p@tcp(h:3307)/d?tls=true", env.DSN(""))
	assert.Equal(t, "u:p@tcp(h:3307)/d?tls=true&parseTime=true", env.DSN("parseTime=true"))

	// A database name that needs escaping goes back into the DSN escaped.
	esc, err := parseEnvDSN("u@tcp(h:1)/my%2Fdb?tls-ca=/etc/ca.pem")
	require.NoError(t, err)
	assert.Equal(t, "u@tcp(h:1)/my%2Fdb?tls-ca=/etc/ca.pem", esc.DSN(""))

	// A server known only by its socket.
	sock, err := parseEnvDSN("u@unix(/x.sock)/d")
	require.NoError(t, err)
	assert.Equal(t, "u@unix(/x.sock)/d", sock.DSN(""))
	assert.Equal(t, "u@unix(/x.sock)/d?a=b", sock.SocketDSN(t, "a=b"))
}

func TestParseGreeting(t *testing.T) {
	// Handshake v10 start: protocol version 10, NUL-terminated version, then the rest (not read).
	v, err := parseGreeting(append([]byte("\x0a8.4.3\x00"), 1, 0, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, "8.4.3", v)

	// MariaDB < 11 prefixes "5.5.5-".
	v, err = parseGreeting([]byte("\x0a5.5.5-10.11.6-MariaDB-0+deb12u1\x00"))
	require.NoError(t, err)
	assert.Equal(t, "10.11.6-MariaDB-0+deb12u1", v)

	// ERR packet instead of a greeting: 0xff, code 1040 (0x0410) little-endian, message.
	_, err = parseGreeting([]byte("\xff\x10\x04Too many connections"))
	require.ErrorContains(t, err, "1040")
	require.ErrorContains(t, err, "Too many connections")

	for _, bad := range [][]byte{nil, {0xff}, {9, 'x', 0}, []byte("\x0a8.4.3")} {
		_, err := parseGreeting(bad)
		assert.Errorf(t, err, "%q", bad)
	}
}

func TestVersionNumbers(t *testing.T) {
	for _, c := range []struct {
		version             string
		mariadb             bool
		major, minor, patch int
		flavor              string
	}{
		{"5.5.5-10.11.6-MariaDB-0+deb12u1", true, 10, 11, 6, "MariaDB 10.11.6"},
		{"11.8.3-MariaDB-0+deb13u1 from Debian", true, 11, 8, 3, "MariaDB 11.8.3"},
		{"10.5.26-MariaDB-0+deb11u2", true, 10, 5, 26, "MariaDB 10.5.26"},
		{"9.7.4-2", false, 9, 7, 4, "MySQL 9.7.4"},
		{"8.0.36", false, 8, 0, 36, "MySQL 8.0.36"},
		{"8.4", false, 8, 4, 0, "MySQL 8.4.0"},
	} {
		s := &Server{Version: c.version}
		major, minor, patch := s.VersionNumbers()
		assert.Equal(t, [3]int{c.major, c.minor, c.patch}, [3]int{major, minor, patch}, c.version)
		assert.Equal(t, c.mariadb, s.IsMariaDB(), c.version)
		assert.Equal(t, !c.mariadb, s.IsMySQL(), c.version)
		assert.Equal(t, c.flavor, s.Flavor(), c.version)
		assert.True(t, s.AtLeast(c.major, c.minor), c.version)
		assert.False(t, s.AtLeast(c.major, c.minor+1), c.version)
		assert.False(t, s.AtLeast(c.major+1, 0), c.version)
	}
}

// The environment `testenv run` sets (RAWMYSQL_TEST_DSN plus certificates, socket and server name) describes
// the server completely, so tests that need TLS files or the socket run against it too.
func TestEnvServerWithCertsAndSocket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing answers: the version stays unknown
	dir := t.TempDir()
	t.Setenv(EnvDSN, "root@tcp("+addr+")/test?parseTime=true")
	t.Setenv(EnvCerts, dir)
	t.Setenv(EnvSocket, filepath.Join(dir, "mysqld.sock"))
	t.Setenv(EnvFlavor, "mysql-9.7")
	t.Setenv(EnvServer, "mariadb-11.8") // the DSN wins: no container is started

	s, notes, err := findShared()
	require.NoError(t, err)
	require.Empty(t, notes)
	assert.Equal(t, KindEnv, s.Kind)
	assert.Equal(t, "mysql-9.7", s.Name)
	assert.Equal(t, addr, s.Addr)
	assert.Equal(t, filepath.Join(dir, "mysqld.sock"), s.Socket)
	assert.Equal(t, filepath.Join(dir, "ca.pem"), s.CAFile)
	assert.Equal(t, filepath.Join(dir, "client-cert.pem"), s.ClientCertFile)
	assert.Equal(t, filepath.Join(dir, "client-key.pem"), s.ClientKeyFile)
	assert.Equal(t, "root@tcp("+addr+")/test?parseTime=true&tls=true", s.DSN("tls=true"))

	// Without the optional variables a unix(...) DSN keeps its own socket.
	t.Setenv(EnvCerts, "")
	t.Setenv(EnvSocket, "")
	t.Setenv(EnvDSN, "root@unix(/tmp/x.sock)/test")
	s, _, err = findShared()
	require.NoError(t, err)
	assert.Equal(t, "/tmp/x.sock", s.Socket)
	assert.Empty(t, s.CAFile)
}

func TestUnknownDockerServer(t *testing.T) {
	_, err := startDocker("mysql-5.1")
	require.ErrorContains(t, err, "mysql-9.7")
	require.ErrorContains(t, err, EnvServer)
}

// dockerShared returns Get's server, skipping unless it runs in Docker (RAWMYSQL_TEST_SERVER).
func dockerShared(t *testing.T) *Server {
	t.Helper()
	s := Get(t)
	if s.Kind != KindDocker {
		t.Skipf("the shared server is %q; set %s to test the Docker backend", s.Kind, EnvServer)
	}
	requireClient(t)
	return s
}

func TestDockerServer(t *testing.T) {
	s := dockerShared(t)
	t.Logf("container start took %v", s.startDur)
	assert.Equal(t, os.Getenv(EnvServer), s.Name)
	assert.Equal(t, "root", s.User)
	assert.Equal(t, "test", s.DBName)
	assert.Contains(t, s.Addr, "127.0.0.1:", "published on the loopback address only")
	major, minor, _ := s.VersionNumbers()
	assert.Contains(t, s.Name, fmt.Sprintf("-%d.%d", major, minor), "server %s", s.Version)
	assert.Equal(t, strings.HasPrefix(s.Name, "mariadb"), s.IsMariaDB())

	out, err := s.Exec("SELECT @@local_infile, DATABASE()")
	require.NoError(t, err)
	assert.Equal(t, "1\ttest\n", out)

	// The unix socket in the mounted directory reaches the same server.
	v, err := probeHandshake("unix", s.Socket, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, s.Version, v)

	// TLS with the generated certificates, the server's name verified against the CA.
	out, err = s.execArgs(tlsClientArgs(t, s.CAFile), "SHOW SESSION STATUS LIKE 'Ssl_version'")
	require.NoError(t, err)
	assert.Contains(t, statusValue(t, out, "Ssl_version"), "TLS")
}

func TestDockerRelease(t *testing.T) {
	shared := dockerShared(t)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("needs the docker command to inspect containers")
	}
	s, err := startDocker(shared.Name)
	require.NoError(t, err)
	running := func() bool {
		return exec.Command(docker, "inspect", "--type=container", s.docker.id).Run() == nil
	}
	require.True(t, running(), "container %s", s.docker.id)
	require.NotEqual(t, shared.Addr, s.Addr, "a second container gets its own port")
	_, err = s.Exec("CREATE TABLE rm_release_check (id INT)")
	require.NoError(t, err)

	require.NoError(t, s.release())
	assert.False(t, running(), "the container is removed")
	assert.NoFileExists(t, s.CAFile, "the certificate directory is removed")
	_, err = probeHandshake("tcp", s.Addr, time.Second)
	assert.Error(t, err)
}

// deadPid returns the pid of a process that has exited and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	require.False(t, pidAlive(cmd.Process.Pid))
	return cmd.Process.Pid
}

func TestRemoveStale(t *testing.T) {
	if _, ok := processCmdline(os.Getpid()); !ok {
		t.Skip("needs /proc to tell a server from an unrelated process")
	}
	parent := t.TempDir()
	old := time.Now().Add(-2 * staleAge)
	mk := func(name string, owner, server int, age time.Time) string {
		dir := filepath.Join(parent, name)
		require.NoError(t, os.Mkdir(dir, 0o700))
		if server > 0 {
			require.NoError(t, os.WriteFile(filepath.Join(dir, serverPidFile), []byte(strconv.Itoa(server)), 0o600))
		}
		if owner > 0 {
			p := filepath.Join(dir, ownerPidFile)
			require.NoError(t, os.WriteFile(p, []byte(strconv.Itoa(owner)+"\n"), 0o600))
			require.NoError(t, os.Chtimes(p, age, age))
		}
		require.NoError(t, os.Chtimes(dir, age, age))
		return dir
	}
	dead := deadPid(t)

	// A "server" still running from a dead owner's directory: its command line names the directory.
	orphanDir := filepath.Join(parent, "orphan")
	orphan := exec.Command("sh", "-c", "while :; do sleep 1; done", orphanDir)
	require.NoError(t, orphan.Start())
	exited := make(chan struct{})
	go func() { _ = orphan.Wait(); close(exited) }() // reap it, as init would for a real orphan
	t.Cleanup(func() { _ = orphan.Process.Kill(); <-exited })

	deadOld := mk("deadold", dead, 0, old)
	deadNew := mk("deadnew", dead, 0, time.Now())
	alive := mk("alive", os.Getpid(), 0, old)
	noOwner := mk("noowner", 0, 0, old)
	mk("orphan", dead, orphan.Process.Pid, old)
	// The recorded server pid now belongs to an unrelated process (this test binary): remove, don't kill.
	reused := mk("reused", dead, os.Getpid(), old)

	removeStale(parent)

	assert.NoDirExists(t, deadOld)
	assert.DirExists(t, deadNew, "younger than staleAge")
	assert.DirExists(t, alive, "owner alive")
	assert.NoDirExists(t, noOwner)
	assert.NoDirExists(t, orphanDir)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the orphaned server process was not killed")
	}
	assert.NoDirExists(t, reused)
}
