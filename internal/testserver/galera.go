package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Galera test clusters: N private MariaDB servers (StartPrivate's launcher) joined into one Galera cluster over
// loopback. The first node bootstraps the cluster (--wsrep-new-cluster); the others join it one at a time and
// receive their data by rsync SST. Each node gets its own free ports for the group communication (gcomm), IST
// and SST, so several clusters and the other private servers of a test run can coexist.

// GaleraProvider is the Galera library loaded by the nodes (the Debian/Ubuntu galera-4 package's path);
// RAWMYSQL_GALERA_PROVIDER overrides it.
const GaleraProvider = "/usr/lib/galera/libgalera_smm.so"

// Galera is a running test cluster; every node is a private Server (Stop/Start/Exec/DSN work on each).
type Galera struct {
	Nodes   []*Server
	cluster string // gcomm:// address of every node
}

// galeraProvider returns the provider path, or why a cluster cannot be started.
func galeraProvider() (string, error) {
	p := os.Getenv("RAWMYSQL_GALERA_PROVIDER")
	if p == "" {
		p = GaleraProvider
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no Galera provider at %s (install galera-4, or set RAWMYSQL_GALERA_PROVIDER)", p)
	}
	if _, err := exec.LookPath("rsync"); err != nil {
		return "", fmt.Errorf("rsync is needed for the Galera state transfer: %v", err)
	}
	if _, err := exec.LookPath("wsrep_sst_rsync"); err != nil {
		return "", fmt.Errorf("wsrep_sst_rsync (mariadb-server) is needed for the Galera state transfer: %v", err)
	}
	return p, nil
}

// StartGalera starts an n-node Galera cluster (n >= 1) and waits until every node is Synced. It skips t with a
// one-line reason when mariadbd, the Galera provider or rsync is missing (fails it in CI). Everything is stopped
// and removed by t.Cleanup.
func StartGalera(t testing.TB, n int) *Galera {
	t.Helper()
	bin := mariadbBinary(t, "Galera clusters")
	provider, err := galeraProvider()
	if err != nil {
		if mustHaveServer() {
			t.Fatalf("rawmysql: testserver: %v", err)
		}
		t.Skipf("rawmysql: testserver: %v", err)
	}
	sstMethod := "rsync"
	if os.Geteuid() == 0 {
		rsyncAsRoot(t)
		sstMethod = rootSSTMethod
	}
	type ports struct{ gcomm, ist, sst int }
	ps := make([]ports, n)
	var peers []string
	for i := range ps {
		for _, p := range []*int{&ps[i].gcomm, &ps[i].ist, &ps[i].sst} {
			if *p, err = freePort(); err != nil {
				t.Fatalf("%v", err)
			}
		}
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(ps[i].gcomm))
	}
	g := &Galera{cluster: "gcomm://" + strings.Join(peers, ",")}
	name := "rawmysql-" + strconv.Itoa(os.Getpid()) + "-" + strconv.Itoa(ps[0].gcomm)
	for i := range ps {
		args := []string{
			"--wsrep-on=ON",
			"--wsrep-provider=" + provider,
			"--wsrep-cluster-name=" + name,
			"--wsrep-cluster-address=" + g.cluster,
			"--wsrep-node-name=node" + strconv.Itoa(i+1),
			"--wsrep-node-address=127.0.0.1:" + strconv.Itoa(ps[i].gcomm),
			"--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:" + strconv.Itoa(ps[i].gcomm) +
				";ist.recv_addr=127.0.0.1:" + strconv.Itoa(ps[i].ist) + ";gcache.size=32M",
			"--wsrep-sst-method=" + sstMethod,
			"--wsrep-sst-receive-address=127.0.0.1:" + strconv.Itoa(ps[i].sst),
			"--binlog-format=ROW",
			"--default-storage-engine=InnoDB",
			"--innodb-autoinc-lock-mode=2",
			"--wsrep-slave-threads=1",
		}
		if i == 0 {
			args = append(args, "--wsrep-new-cluster")
		}
		began := time.Now()
		s, err := startPrivate(bin, args)
		if s != nil {
			t.Cleanup(func() {
				if err := s.release(); err != nil {
					t.Errorf("%v", err)
				}
			})
		}
		if err != nil {
			for j, prev := range g.Nodes {
				data, _ := os.ReadFile(prev.proc.errLog)
				var sst []string
				for _, line := range strings.Split(string(data), "\n") {
					if strings.Contains(line, "SST") || strings.Contains(line, "ERROR") {
						sst = append(sst, line)
					}
				}
				t.Logf("--- Galera node %d (%s) error log, SST and ERROR lines ---\n%s", j+1, prev.Addr, strings.Join(sst, "\n"))
			}
			t.Fatalf("rawmysql: testserver: Galera node %d: %v", i+1, err)
		}
		if err := s.WaitGaleraSynced(2 * time.Minute); err != nil {
			t.Fatalf("%v", err)
		}
		t.Logf("rawmysql: testserver: Galera node %d at %s synced in %v", i+1, s.Addr, time.Since(began).Round(time.Millisecond))
		g.Nodes = append(g.Nodes, s)
	}
	return g
}

// GaleraState returns the node's wsrep_ready and wsrep_local_state (4 is Synced, 2 Donor/Desynced).
func (s *Server) GaleraState() (ready, state string, err error) {
	out, err := s.Exec("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state')")
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "\t")
		switch strings.ToLower(k) {
		case "wsrep_ready":
			ready = v
		case "wsrep_local_state":
			state = v
		}
	}
	return ready, state, nil
}

// WaitGaleraSynced waits until the node is ready and Synced, at most timeout.
func (s *Server) WaitGaleraSynced(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready, state, err := s.GaleraState()
		if err == nil && ready == "ON" && state == "4" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rawmysql: testserver: Galera node %s not Synced within %v (wsrep_ready=%q, wsrep_local_state=%q, err=%v)",
				s.Addr, timeout, ready, state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Restart starts the stopped node i again, joining the running cluster (IST or SST from a live node), and
// waits until it is Synced.
func (g *Galera) Restart(i int) error {
	// The first node bootstrapped the cluster; started again it must join it instead.
	p := g.Nodes[i].proc
	p.mu.Lock()
	p.args = slices.DeleteFunc(slices.Clone(p.args), func(a string) bool { return a == "--wsrep-new-cluster" })
	p.mu.Unlock()
	if err := g.Nodes[i].Start(); err != nil {
		return err
	}
	return g.Nodes[i].WaitGaleraSynced(2 * time.Minute)
}

// rootSSTMethod is the SST method of the nodes when the tests run as root: a wrapper of wsrep_sst_rsync whose
// rsync daemon keeps running as root. Started by root without a uid setting, rsync's daemon drops to "nobody",
// which cannot write into the private servers' root-only directories; and mariadbd puts the system
// directories first in the PATH of the SST script, so the wrapper sets its own PATH.
const rootSSTMethod = "rawmysql_rsync"

// rsyncAsRoot writes the rootSSTMethod script and its rsync wrapper into a directory put first in PATH (for
// the servers this test starts).
func rsyncAsRoot(t testing.TB) {
	real, err := exec.LookPath("rsync")
	if err != nil {
		t.Skipf("rawmysql: testserver: %v", err)
	}
	sst, err := exec.LookPath("wsrep_sst_rsync")
	if err != nil {
		t.Skipf("rawmysql: testserver: %v", err)
	}
	dir := t.TempDir()
	rsync := "#!/bin/sh\n" +
		"for a in \"$@\"; do\n" +
		"  if [ \"$a\" = --daemon ]; then exec " + real + " \"$@\" --dparam=uid=0 --dparam=gid=0; fi\n" +
		"done\n" +
		"exec " + real + " \"$@\"\n"
	method := "#!/bin/sh\nPATH=" + dir + ":$PATH\nexport PATH\nexec " + sst + " \"$@\"\n"
	for name, text := range map[string]string{"rsync": rsync, "wsrep_sst_" + rootSSTMethod: method} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatalf("rawmysql: testserver: %v", err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}
