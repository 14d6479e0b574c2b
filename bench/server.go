package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Where the benchmarks find a server, in this order: the -dsn flag, RAWMYSQL_BENCH_DSN, a private mariadbd
// started here (a fresh machine with MariaDB installed needs nothing else), then the usual local default.
const (
	envDSN     = "RAWMYSQL_BENCH_DSN"
	defaultDSN = "root@tcp(127.0.0.1:3306)/test"
)

// server is the MariaDB/MySQL server the live workloads run against.
type server struct {
	dsn  string // go-sql-driver grammar, understood by both drivers
	desc string
	stop func() // stops a private server; nil otherwise
}

// findServer returns the server named by dsn or the environment, or starts a private mariadbd, or falls back
// to defaultDSN.
func findServer(dsn string) (*server, error) {
	if dsn == "" {
		dsn = os.Getenv(envDSN)
	}
	if dsn != "" {
		return &server{dsn: dsn, desc: "server from DSN"}, nil
	}
	s, err := startPrivate()
	if err == nil {
		return s, nil
	}
	fmt.Fprintf(os.Stderr, "bench: no private server (%v); using %s\n", err, defaultDSN)
	return &server{dsn: defaultDSN, desc: "default local server"}, nil
}

// startPrivate initialises a data directory in a temporary directory and starts mariadbd on a free loopback
// port, with max_allowed_packet large enough for the 16 MiB workload.
func startPrivate() (*server, error) {
	bin, err := lookBin("mariadbd")
	if err != nil {
		return nil, err
	}
	installer, err := lookBin("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rawmysql-bench-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	data := filepath.Join(dir, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	if out, err := exec.Command(installer, args...).CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("%s: %v: %s", installer, err, lastBytes(out, 2000))
	}
	initFile := filepath.Join(dir, "init.sql")
	initSQL := "CREATE DATABASE IF NOT EXISTS test;\nCREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n" +
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n"
	if err := os.WriteFile(initFile, []byte(initSQL), 0o600); err != nil {
		cleanup()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sargs := []string{"--no-defaults"}
	if os.Geteuid() == 0 {
		sargs = append(sargs, "--user=root")
	}
	sargs = append(sargs, "--datadir="+data, "--socket="+filepath.Join(dir, "s.sock"), "--port="+strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--skip-name-resolve", "--init-file="+initFile, "--log-error="+filepath.Join(dir, "error.log"),
		"--pid-file="+filepath.Join(dir, "mysqld.pid"), "--max-allowed-packet=256M", "--innodb-buffer-pool-size=128M",
		"--innodb-flush-log-at-trx-commit=2", "--skip-log-bin", "--performance-schema=OFF", "--max-connections=500",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci")
	cmd := exec.Command(bin, sargs...)
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cleanup()
	}
	dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/test", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", dsn)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			db.Close()
		}
		if err == nil {
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			cleanup()
			return nil, fmt.Errorf("mariadbd exited: %s", lastBytes(log, 2000))
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("mariadbd did not accept connections within 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &server{dsn: dsn, desc: "private mariadbd on port " + strconv.Itoa(port), stop: stop}, nil
}

func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New(name + " not found")
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
