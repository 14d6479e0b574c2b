// Command testenv runs a MySQL or MariaDB server in a Docker container for rawmysql's tests, through
// github.com/ory/dockertest/v3. It is a module of its own so that the driver's module (and so every user's
// go.sum) never lists Docker modules: internal/testserver starts it as a separate process and receives a
// description of the server on its standard output.
//
// Usage:
//
//	testenv serve NAME            start a container, print one JSON line describing the server (Description),
//	                              keep it running until standard input closes or SIGINT/SIGTERM, then purge it
//	testenv run NAME -- CMD ARGS  start a container, run CMD with RAWMYSQL_TEST_DSN, RAWMYSQL_TEST_CERTS and
//	                              RAWMYSQL_TEST_SOCKET set, purge the container, exit with CMD's status
//	testenv build NAME            build the image rawmysql-test/NAME:latest if it is missing
//	testenv purge                 remove containers left by testenv processes that no longer run
//
// NAME is one of mysql-9.7, mariadb-10.5, mariadb-10.11, mariadb-11.8. A missing image is built first with
// internal/testserver/images/build.sh (debootstrap + docker import, cached per machine). The server's port is
// published on 127.0.0.1 only; its TLS files and unix socket live in a temporary host directory mounted into
// the container.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"

	"github.com/rawmysql/rawmysql/internal/testserver"
)

// Servers are the names testenv accepts, each built into the image rawmysql-test/NAME:latest.
var Servers = []string{"mysql-9.7", "mariadb-10.5", "mariadb-10.11", "mariadb-11.8"}

const (
	imageRepo    = "rawmysql-test/"
	labelOwner   = "rawmysql-testenv.pid"  // pid of the testenv process that owns the container
	labelHost    = "rawmysql-testenv.host" // its host name (pids of other machines/namespaces are not checked)
	labelDir     = "rawmysql-testenv.dir"  // the host directory mounted at /rawmysql (removed with the container)
	readyTimeout = 3 * time.Minute         // a loaded machine, and the data directory is initialised in the image
)

// Description is what `testenv serve` prints, as one JSON line, once the server accepts connections.
type Description struct {
	Name       string `json:"name"`       // e.g. "mysql-9.7"
	Version    string `json:"version"`    // from the server's greeting
	Addr       string `json:"addr"`       // 127.0.0.1:port
	Socket     string `json:"socket"`     // unix socket on the host
	User       string `json:"user"`       // root, empty password
	DBName     string `json:"dbname"`     // test
	CertDir    string `json:"certDir"`    // ca.pem, client-cert.pem, client-key.pem, server-*.pem
	Container  string `json:"container"`  // container id
	StartedIn  string `json:"startedIn"`  // time from start to first greeting
	ImageBuilt bool   `json:"imageBuilt"` // the image was built by this call
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "serve":
		err = serve(arg(2))
	case "run":
		code, err = run(arg(2), os.Args[3:])
	case "build":
		_, err = ensureImage(arg(2))
	case "purge":
		var pool *dockertest.Pool
		if pool, err = newPool(); err == nil {
			err = purgeStale(pool, true)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: testenv serve NAME | run NAME -- CMD [ARG...] | build NAME | purge\nNAME: %s\n",
		strings.Join(Servers, ", "))
	os.Exit(2)
}

func arg(i int) string {
	if len(os.Args) <= i {
		usage()
	}
	return os.Args[i]
}

// checkName rejects unknown server names.
func checkName(name string) error {
	for _, s := range Servers {
		if s == name {
			return nil
		}
	}
	return fmt.Errorf("unknown server %q (want one of %s)", name, strings.Join(Servers, ", "))
}

// buildScript finds internal/testserver/images/build.sh: $RAWMYSQL_IMAGES_DIR, else next to this source file.
func buildScript() (string, error) {
	dir := os.Getenv("RAWMYSQL_IMAGES_DIR")
	if dir == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", errors.New("cannot locate internal/testserver/images: set RAWMYSQL_IMAGES_DIR")
		}
		dir = filepath.Join(filepath.Dir(file), "..", "testserver", "images")
	}
	p := filepath.Join(dir, "build.sh")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("image build script: %w (set RAWMYSQL_IMAGES_DIR)", err)
	}
	return p, nil
}

// ensureImage runs build.sh, which builds rawmysql-test/NAME:latest when it is missing or was built from another
// entrypoint.sh, and returns at once otherwise. Without the script (testenv built elsewhere), an image the
// engine already has is used as it is. It reports whether the image was missing before.
func ensureImage(name string) (bool, error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	missing := true
	if pool, err := newPool(); err == nil {
		if _, err := pool.Client.InspectImage(imageRepo + name + ":latest"); err == nil {
			missing = false
		}
	}
	script, err := buildScript()
	if err != nil {
		if !missing {
			return false, nil
		}
		return false, err
	}
	if missing {
		fmt.Fprintf(os.Stderr, "testenv: image %s%s:latest is missing, building it with %s (minutes, once per machine)\n",
			imageRepo, name, script)
	}
	cmd := exec.Command("bash", script, name)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if missing {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Run(); err != nil {
		return false, fmt.Errorf("building image %s: %w\n%s", name, err, out.String())
	}
	return missing, nil
}

// newPool connects to the Docker engine (DOCKER_HOST or the local socket) and checks that it answers.
func newPool() (*dockertest.Pool, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Client.PingWithContext(ctx); err != nil {
		return nil, fmt.Errorf("no Docker engine answers (%w); internal/testserver/images/build.sh starts one as root", err)
	}
	pool.MaxWait = readyTimeout
	return pool, nil
}

// env is a started container.
type env struct {
	pool *dockertest.Pool
	res  *dockertest.Resource
	dir  string
	desc Description
}

// start builds the image if needed, purges containers of dead testenv processes, and runs a container of NAME
// until it greets on both its TCP port and its unix socket.
func start(name string) (*env, error) {
	began := time.Now()
	built, err := ensureImage(name)
	if err != nil {
		return nil, err
	}
	pool, err := newPool()
	if err != nil {
		return nil, err
	}
	_ = purgeStale(pool, false)

	dir, err := os.MkdirTemp("", "rawmysql-testenv-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the server in the container reads the certificates
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if _, err := testserver.WriteTLSFiles(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("TLS files: %w", err)
	}
	host, _ := os.Hostname()
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository:   imageRepo + name,
		Tag:          "latest",
		Mounts:       []string{dir + ":/rawmysql"},
		ExposedPorts: []string{"3306/tcp"},
		PortBindings: map[docker.Port][]docker.PortBinding{"3306/tcp": {{HostIP: "127.0.0.1", HostPort: "0"}}},
		Labels:       map[string]string{labelOwner: strconv.Itoa(os.Getpid()), labelHost: host, labelDir: dir},
	}, func(hc *docker.HostConfig) {
		hc.PublishAllPorts = false // only the 127.0.0.1 binding above
		hc.AutoRemove = false      // Purge removes it; its log stays readable until then
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting a container of %s%s: %w", imageRepo, name, err)
	}
	e := &env{pool: pool, res: res, dir: dir}
	addr := res.GetHostPort("3306/tcp")
	if addr == "" {
		e.purge()
		return nil, errors.New("the container publishes no port 3306")
	}
	socket := filepath.Join(dir, "mysqld.sock")
	var version string
	err = pool.Retry(func() error {
		if c, err := pool.Client.InspectContainer(res.Container.ID); err == nil && !c.State.Running {
			return backoff.Permanent(fmt.Errorf("the container exited (status %d)", c.State.ExitCode))
		}
		v, err := testserver.ProbeVersion("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		if _, err := testserver.ProbeVersion("unix", socket, 2*time.Second); err != nil {
			return err
		}
		version = v
		return nil
	})
	if err != nil {
		logs := e.logs()
		e.purge()
		return nil, fmt.Errorf("%s did not accept connections on %s: %v\n--- container log (tail) ---\n%s",
			name, addr, err, logs)
	}
	e.desc = Description{
		Name: name, Version: version, Addr: addr, Socket: socket, User: "root", DBName: "test", CertDir: dir,
		Container: res.Container.ID, StartedIn: time.Since(began).Round(time.Millisecond).String(), ImageBuilt: built,
	}
	return e, nil
}

// logs returns the tail of the container's output.
func (e *env) logs() string {
	var b strings.Builder
	_ = e.pool.Client.Logs(docker.LogsOptions{
		Container: e.res.Container.ID, OutputStream: &b, ErrorStream: &b, Stdout: true, Stderr: true, Tail: "30",
	})
	return strings.TrimSpace(b.String())
}

// purge removes the container and the host directory.
func (e *env) purge() {
	if err := e.pool.Purge(e.res); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: removing container %.12s: %v\n", e.res.Container.ID, err)
	}
	_ = os.RemoveAll(e.dir)
}

// environ is the environment internal/testserver reads to use this server.
func (d Description) environ() []string {
	return []string{
		"RAWMYSQL_TEST_DSN=" + d.User + "@tcp(" + d.Addr + ")/" + d.DBName,
		"RAWMYSQL_TEST_CERTS=" + d.CertDir,
		"RAWMYSQL_TEST_SOCKET=" + d.Socket,
		"RAWMYSQL_TEST_FLAVOR=" + d.Name,
	}
}

// serve starts NAME, prints its description and keeps it until stdin closes or a signal arrives.
func serve(name string) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	e, err := start(name)
	if err != nil {
		return err
	}
	defer e.purge()
	line, err := json.Marshal(e.desc)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(os.Stdout, "%s\n", line); err != nil {
		return err
	}
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		close(eof)
	}()
	select {
	case <-eof:
	case <-sigs:
	}
	return nil
}

// run starts NAME, runs argv (after an optional "--") with the server's environment and purges the container
// whatever argv's outcome. It returns argv's exit status.
func run(name string, argv []string) (int, error) {
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	}
	if len(argv) == 0 {
		usage()
	}
	// The command gets SIGINT from the terminal itself; testenv waits for it and cleans up. SIGTERM/SIGHUP are
	// passed on.
	signal.Ignore(syscall.SIGINT)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	e, err := start(name)
	if err != nil {
		return 1, err
	}
	defer e.purge()
	fmt.Fprintf(os.Stderr, "testenv: %s %s at %s (socket %s), started in %s\n",
		name, e.desc.Version, e.desc.Addr, e.desc.Socket, e.desc.StartedIn)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(withoutTestEnv(os.Environ()), e.desc.environ()...)
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			_ = cmd.Process.Signal(s)
		case err := <-done:
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				if code := exit.ExitCode(); code > 0 {
					return code, nil
				}
				return 1, nil
			}
			if err != nil {
				return 1, err
			}
			return 0, nil
		}
	}
}

// withoutTestEnv drops variables that would make internal/testserver start another container or use another
// server.
func withoutTestEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "RAWMYSQL_TEST_DSN", "RAWMYSQL_TEST_SERVER", "RAWMYSQL_TEST_CERTS", "RAWMYSQL_TEST_SOCKET",
			"RAWMYSQL_TEST_FLAVOR":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// purgeStale removes containers labelled by a testenv process of this host that no longer runs (or, with all,
// every testenv container that no running testenv owns).
func purgeStale(pool *dockertest.Pool, all bool) error {
	list, err := pool.Client.ListContainers(docker.ListContainersOptions{
		All: true, Filters: map[string][]string{"label": {labelOwner}},
	})
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	var first error
	for _, c := range list {
		pid, _ := strconv.Atoi(c.Labels[labelOwner])
		if c.Labels[labelHost] != host && !all {
			continue
		}
		if pid > 0 && c.Labels[labelHost] == host && alive(pid) {
			continue
		}
		err := pool.Client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true})
		if err != nil && first == nil {
			first = err
		}
		if err != nil {
			continue
		}
		if d := c.Labels[labelDir]; c.Labels[labelHost] == host &&
			strings.HasPrefix(filepath.Base(d), "rawmysql-testenv-") && filepath.Dir(d) == filepath.Clean(os.TempDir()) {
			_ = os.RemoveAll(d)
		}
		if all {
			fmt.Fprintf(os.Stderr, "testenv: removed container %.12s of testenv pid %d\n", c.ID, pid)
		}
	}
	return first
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
