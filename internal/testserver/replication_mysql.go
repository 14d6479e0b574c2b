package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MySQLReplicationImage is the Docker image StartMySQLReplication runs (built by images/build.sh; `make images`).
const MySQLReplicationImage = "rawmysql-test/mysql-9.7"

// mysqlReadyTimeout bounds a container's start (mysqld on a pre-initialised datadir: seconds).
const mysqlReadyTimeout = 2 * time.Minute

// StartMySQLReplication starts, with the docker command, an Oracle MySQL primary and opts.Replicas replicas from
// MySQLReplicationImage on a private Docker network: binary log, gtid_mode=ON, enforce_gtid_consistency, each
// with its own server_id and server_uuid; replicas follow the primary with SOURCE_AUTO_POSITION=1 and their
// SOURCE_DELAY from opts.Delays, read_only=ON. Every server's MySQL port is published on 127.0.0.1 only. Skips t
// when docker or the image is missing (fails when CI or RAWMYSQL_REQUIRE_SERVER=1 is set). The containers and
// the network are removed by t.Cleanup.
func StartMySQLReplication(t testing.TB, opts ReplicationOptions) *Replication {
	t.Helper()
	requireClientTB(t)
	docker, err := exec.LookPath("docker")
	if err == nil {
		err = exec.Command(docker, "image", "inspect", MySQLReplicationImage).Run()
	}
	if err != nil {
		noServer(t, []string{"MySQL replication needs docker and the image " + MySQLReplicationImage + " (make images)"})
	}
	n := opts.Replicas
	if n <= 0 {
		n = 1
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	prefix := "rawmysql-repl-" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command(docker, "network", "create", prefix).CombinedOutput(); err != nil {
		t.Fatalf("rawmysql: testserver: docker network create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(docker, "network", "rm", prefix).Run() })

	servers := startServers(t, n+1, func(i int) (*Server, error) {
		return startMySQLContainer(docker, prefix, i, opts.ExtraArgs)
	})
	r := &Replication{Primary: servers[0], Replicas: servers[1:]}
	for i, rep := range r.Replicas {
		var delay time.Duration
		if i < len(opts.Delays) {
			delay = opts.Delays[i]
		}
		_, err := rep.Exec(fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='%s-0', SOURCE_PORT=3306, "+
			"SOURCE_USER='root', SOURCE_PASSWORD='', SOURCE_AUTO_POSITION=1, SOURCE_DELAY=%d, "+
			"SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1; START REPLICA", prefix, int(delay/time.Second)))
		if err != nil {
			t.Fatalf("rawmysql: testserver: replica %s: %v", rep.Addr, err)
		}
	}
	for _, rep := range r.Replicas {
		if err := rep.waitRunning(time.Minute); err != nil {
			t.Fatalf("%v", err)
		}
	}
	t.Logf("rawmysql: testserver: MySQL replication (%s): primary %s, replicas %s", r.Primary.Version,
		r.Primary.Addr, r.replicaAddrs())
	return r
}

// startMySQLContainer runs server i of a replication set (0: the primary) and waits until it accepts root over
// TCP.
func startMySQLContainer(docker, prefix string, i int, extra []string) (*Server, error) {
	began := time.Now()
	name := prefix + "-" + strconv.Itoa(i)
	args := []string{"--no-defaults", "--user=root", "--datadir=/var/lib/rawmysql", "--bind-address=0.0.0.0",
		"--port=3306", "--socket=/tmp/mysqld.sock", "--log-error=/tmp/error.log", "--mysqlx=OFF",
		"--performance-schema=OFF", "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
		"--sync-binlog=0", "--log-bin=binlog", "--server-id=" + strconv.Itoa(100+i), "--gtid-mode=ON",
		"--enforce-gtid-consistency=ON", "--skip-replica-start", "--local-infile=1",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"}
	if i > 0 {
		args = append(args, "--read-only=ON")
	}
	args = append(args, extra...)
	// The image's datadir was initialised once: its auto.cnf (server_uuid) is removed so that each container
	// gets a UUID of its own.
	script := "rm -f /var/lib/rawmysql/auto.cnf; exec /usr/sbin/mysqld " + strings.Join(args, " ")
	out, err := exec.Command(docker, "run", "-d", "--name", name, "--network", prefix, "-p", "127.0.0.1::3306",
		"--entrypoint", "sh", MySQLReplicationImage, "-c", script).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: docker run %s: %v: %s", name, err, out)
	}
	s := &Server{User: "root", DBName: "test", Kind: KindDocker, Name: "mysql-9.7"}
	s.cleanup = func() error {
		if out, err := exec.Command(docker, "rm", "-f", "-v", name).CombinedOutput(); err != nil {
			return fmt.Errorf("rawmysql: testserver: docker rm %s: %v: %s", name, err, out)
		}
		return nil
	}
	register(s)
	// Root may log in from outside the container; the statements stay out of the binary log.
	setup := "SET sql_log_bin = 0; CREATE USER IF NOT EXISTS 'root'@'%'; " +
		"GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION; CREATE DATABASE IF NOT EXISTS test"
	deadline := time.Now().Add(mysqlReadyTimeout)
	for {
		out, err = exec.Command(docker, "exec", name, "mysql", "-uroot", "-S", "/tmp/mysqld.sock", "-e", setup).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command(docker, "exec", name, "tail", "-20", "/tmp/error.log").CombinedOutput()
			return s, fmt.Errorf("rawmysql: testserver: %s not ready within %v: %v: %s\n%s", name, mysqlReadyTimeout, err, out, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err = exec.Command(docker, "port", name, "3306/tcp").CombinedOutput()
	if err != nil {
		return s, fmt.Errorf("rawmysql: testserver: docker port %s: %v: %s", name, err, out)
	}
	s.Addr = strings.TrimSpace(strings.Split(strings.TrimSpace(string(out)), "\n")[0])
	if s.Version, err = probeHandshake("tcp", s.Addr, 5*time.Second); err != nil {
		return s, fmt.Errorf("rawmysql: testserver: %s at %s: %w", name, s.Addr, err)
	}
	s.startDur = time.Since(began)
	return s, nil
}
