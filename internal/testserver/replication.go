package testserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Replication test servers: a private MariaDB primary with GTID binary logging and N private replicas that
// follow it with MASTER_USE_GTID=slave_pos, each a normal private server of this package (StartPrivate's
// launcher), so Stop/Start/DSN/Exec work on every one of them. MariaDB only: Oracle MySQL spells replication
// differently (CHANGE REPLICATION SOURCE TO, SOURCE_AUTO_POSITION) and is not started privately here.

// Replication account created on every server of a Replication (kept out of the binary log).
const (
	ReplUser     = "repl"
	ReplPassword = "replpw"
)

// ReplicationOptions configures StartReplication.
type ReplicationOptions struct {
	// Replicas is the number of replicas (default 1).
	Replicas int
	// Delays[i] is replica i's MASTER_DELAY (rounded down to whole seconds; zero or missing: no delay).
	Delays []time.Duration
	// ExtraArgs are extra server options for every server (primary and replicas).
	ExtraArgs []string
}

// Replication is a primary and its replicas, all private servers stopped by the test's cleanup.
type Replication struct {
	Primary  *Server
	Replicas []*Server
}

// serverIDs hands out server_id values unique within this process (replication needs distinct ids).
var serverIDs atomic.Int64

// replicationArgs are the options of every server of a Replication: binary log with GTIDs in strict mode, ROW
// format, replicated changes logged too (so that any replica can be promoted and followed), crash-safe replica
// positions.
func replicationArgs(readOnly bool) []string {
	id := serverIDs.Add(1)
	args := []string{
		"--server-id=" + strconv.FormatInt(id, 10),
		"--log-bin=binlog",
		"--relay-log=relay",
		"--binlog-format=ROW",
		"--log-slave-updates=ON",
		"--gtid-strict-mode=ON",
		"--skip-slave-start", // a restarted replica waits for StartReplica/ReplicateFrom
		"--sync-binlog=0",
	}
	if readOnly {
		args = append(args, "--read-only=ON")
	}
	return args
}

// mariadbBinary returns the mariadbd binary that clusters of private servers (what) are started from. It skips
// or fails t like StartPrivate when there is none, and skips when the binary found is not MariaDB's.
func mariadbBinary(t testing.TB, what string) string {
	t.Helper()
	requireClientTB(t)
	bin, err := findServerBinary()
	if err != nil {
		noServer(t, []string{err.Error()})
	}
	flavor, err := detectFlavor(bin)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if flavor != flavorMariaDB {
		t.Skipf("rawmysql: testserver: %s are started from MariaDB's mariadbd only; %s is not", what, bin)
	}
	return bin
}

// startServers starts n servers in parallel with start(i), releases each one started at t's cleanup, and fails
// t when any of them could not be started.
func startServers(t testing.TB, n int, start func(i int) (*Server, error)) []*Server {
	t.Helper()
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			servers[i], errs[i] = start(i)
		}(i)
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() {
				if err := s.release(); err != nil {
					t.Errorf("%v", err)
				}
			})
		}
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v", err)
	}
	return servers
}

// StartReplication starts a primary and opts.Replicas replicas (in parallel) and connects each replica to the
// primary, with its MASTER_DELAY when opts.Delays gives one. Replicas start replicating from the primary's
// position at that moment, with read_only=ON. Skips/fails t like StartPrivate when there is no mariadbd, and
// skips when the binary found is not MariaDB. Everything is stopped and removed by t.Cleanup.
func StartReplication(t testing.TB, opts ReplicationOptions) *Replication {
	t.Helper()
	bin := mariadbBinary(t, "replication servers")
	n := opts.Replicas
	if n <= 0 {
		n = 1
	}
	servers := startServers(t, n+1, func(i int) (*Server, error) {
		return startPrivate(bin, append(replicationArgs(i > 0), opts.ExtraArgs...))
	})
	r := &Replication{Primary: servers[0], Replicas: servers[1:]}
	for _, s := range servers {
		if err := s.createReplUser(); err != nil {
			t.Fatalf("%v", err)
		}
	}
	pos, err := r.Primary.GTIDBinlogPos()
	if err != nil {
		t.Fatalf("%v", err)
	}
	for i, rep := range r.Replicas {
		var delay time.Duration
		if i < len(opts.Delays) {
			delay = opts.Delays[i]
		}
		// Forget the replica's own (empty) history and start after what the primary has now.
		if _, err := rep.Exec(fmt.Sprintf("RESET MASTER; SET GLOBAL gtid_slave_pos = '%s'", pos)); err != nil {
			t.Fatalf("%v", err)
		}
		if err := rep.ReplicateFrom(r.Primary, delay); err != nil {
			t.Fatalf("%v", err)
		}
	}
	for _, rep := range r.Replicas {
		if err := rep.waitRunning(30 * time.Second); err != nil {
			t.Fatalf("%v", err)
		}
	}
	t.Logf("rawmysql: testserver: replication: primary %s, replicas %s", r.Primary.Addr, r.replicaAddrs())
	return r
}

// requireClientTB skips t (fails it in CI) when the command-line client needed by Exec is missing.
func requireClientTB(t testing.TB) {
	t.Helper()
	if _, err := findClient(); err != nil {
		if mustHaveServer() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func (r *Replication) replicaAddrs() string {
	var addrs []string
	for _, s := range r.Replicas {
		addrs = append(addrs, s.Addr)
	}
	return strings.Join(addrs, ", ")
}

// createReplUser creates the replication account on s, outside the binary log (every server has its own, so that
// a promoted replica can be followed).
func (s *Server) createReplUser() error {
	_, err := s.Exec(fmt.Sprintf("SET SESSION sql_log_bin = 0; "+
		"CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' IDENTIFIED BY '%s'; "+
		"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '%s'@'127.0.0.1'",
		ReplUser, ReplPassword, ReplUser))
	return err
}

// ReplicateFrom (re)points the replica s at primary with MASTER_USE_GTID=slave_pos and MASTER_DELAY=delay
// (whole seconds), and starts replication; it keeps s's replicated position (gtid_slave_pos), so it also serves
// to follow a newly promoted primary. It sets read_only=ON on s.
func (s *Server) ReplicateFrom(primary *Server, delay time.Duration) error {
	host, port, err := net.SplitHostPort(primary.Addr)
	if err != nil {
		return fmt.Errorf("rawmysql: testserver: primary address %q: %w", primary.Addr, err)
	}
	_, err = s.Exec(fmt.Sprintf("STOP SLAVE; "+
		"CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%s, MASTER_USER='%s', MASTER_PASSWORD='%s', "+
		"MASTER_USE_GTID=slave_pos, MASTER_DELAY=%d, MASTER_CONNECT_RETRY=1; "+
		"SET GLOBAL read_only = ON; START SLAVE",
		host, port, ReplUser, ReplPassword, int(delay/time.Second)))
	if err != nil {
		return fmt.Errorf("rawmysql: testserver: replicating %s from %s: %w", s.Addr, primary.Addr, err)
	}
	return nil
}

// StopReplica stops both replication threads of s (STOP SLAVE), so it falls behind until StartReplica.
func (s *Server) StopReplica() error {
	_, err := s.Exec("STOP SLAVE")
	return err
}

// StopReplicaSQLThread stops only the applier (STOP SLAVE SQL_THREAD): events keep arriving in the relay log
// but are not applied until StartReplica — a controllable lag.
func (s *Server) StopReplicaSQLThread() error {
	_, err := s.Exec("STOP " + s.replicaWord() + " SQL_THREAD")
	return err
}

// StartReplica starts the replication threads of s again (START SLAVE; START REPLICA on MySQL).
func (s *Server) StartReplica() error {
	_, err := s.Exec("START " + s.replicaWord())
	return err
}

// replicaWord is SLAVE for MariaDB (every supported version) and REPLICA for MySQL (8.4 removed SLAVE).
func (s *Server) replicaWord() string {
	if s.IsMySQL() {
		return "REPLICA"
	}
	return "SLAVE"
}

// Promote turns the replica s into a primary: replication stopped and forgotten, read_only off.
func (s *Server) Promote() error {
	_, err := s.Exec("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF")
	if err != nil {
		return fmt.Errorf("rawmysql: testserver: promoting %s: %w", s.Addr, err)
	}
	return nil
}

// Kill stops the server at once (SIGKILL), as a crash would; Start brings it back.
func (s *Server) Kill() error { return s.Stop(true) }

// GTIDBinlogPos returns s's @@gtid_binlog_pos (MariaDB): the last GTID written to its binary log per domain,
// e.g. "0-1-42" ("" when nothing was logged).
func (s *Server) GTIDBinlogPos() (string, error) {
	if s.IsMySQL() { // MySQL: the GTID set executed (gtid_executed), newlines removed
		return s.queryOne("SELECT REPLACE(@@GLOBAL.gtid_executed, CHAR(10), '')")
	}
	return s.queryOne("SELECT @@GLOBAL.gtid_binlog_pos")
}

// GTIDSlavePos returns s's @@gtid_slave_pos (MariaDB): the last GTID applied by replication per domain.
func (s *Server) GTIDSlavePos() (string, error) { return s.queryOne("SELECT @@GLOBAL.gtid_slave_pos") }

// queryOne runs a query returning one value through Exec.
func (s *Server) queryOne(q string) (string, error) {
	out, err := s.Exec(q)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(out, "\n"), nil
}

// WaitCaughtUp waits until the replica s has applied everything primary had written when it was called
// (MASTER_GTID_WAIT on the primary's gtid_binlog_pos), at most timeout (a MASTER_DELAY counts in it). The error
// names the replication state when it did not catch up.
func (s *Server) WaitCaughtUp(primary *Server, timeout time.Duration) error {
	pos, err := primary.GTIDBinlogPos()
	if err != nil {
		return err
	}
	return s.WaitGTID(pos, timeout)
}

// WaitGTID waits until the replica s has applied the GTID position pos (MASTER_GTID_WAIT), at most timeout.
func (s *Server) WaitGTID(pos string, timeout time.Duration) error {
	if pos == "" {
		return nil
	}
	secs := timeout.Seconds()
	if secs <= 0 {
		secs = 0.001
	}
	wait := "MASTER_GTID_WAIT"
	if s.IsMySQL() {
		wait = "WAIT_FOR_EXECUTED_GTID_SET"
	}
	out, err := s.queryOne(fmt.Sprintf("SELECT %s('%s', %g)", wait, pos, secs))
	if err != nil {
		return err
	}
	if out != "0" {
		st, _ := s.ReplicaStatus()
		return fmt.Errorf("rawmysql: testserver: replica %s did not reach %s within %v (IO %s, SQL %s, %q)",
			s.Addr, pos, timeout, st.get("IO_Running"), st.get("SQL_Running"), st["Last_Error"]+st["Last_IO_Error"])
	}
	return nil
}

// ReplicaStatus is SHOW SLAVE STATUS (MySQL: SHOW REPLICA STATUS) as field name → value.
type ReplicaStatus map[string]string

// get returns the field named Slave_<name> (MariaDB) or Replica_<name> (MySQL).
func (st ReplicaStatus) get(name string) string {
	if v, ok := st["Slave_"+name]; ok {
		return v
	}
	return st["Replica_"+name]
}

// ReplicaStatus returns SHOW SLAVE STATUS (SHOW REPLICA STATUS on MySQL) of s as field name → value (empty
// when s is not a replica).
func (s *Server) ReplicaStatus() (ReplicaStatus, error) {
	out, err := s.execArgs([]string{"--column-names"}, "SHOW "+s.replicaWord()+` STATUS\G`)
	if err != nil {
		return nil, err
	}
	st := ReplicaStatus{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.HasPrefix(k, "*") {
			continue
		}
		st[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return st, nil
}

// waitRunning waits until both replication threads of s run, or fails with the replica's last error.
func (s *Server) waitRunning(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.ReplicaStatus()
		if err != nil {
			return err
		}
		if st.get("IO_Running") == "Yes" && st.get("SQL_Running") == "Yes" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rawmysql: testserver: replica %s not running after %v: IO %s (%s), SQL %s (%s)",
				s.Addr, timeout, st.get("IO_Running"), st["Last_IO_Error"], st.get("SQL_Running"), st["Last_SQL_Error"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
