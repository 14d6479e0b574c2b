//go:build ha

package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cluster tests (build tag ha, `make test-ha`): private MariaDB servers in replication and a Galera cluster.

// haDSN is a DSN over the given servers' TCP addresses (user root, database test).
func haDSN(user string, params string, servers ...*testserver.Server) string {
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.Addr
	}
	dsn := user + "@tcp(" + strings.Join(addrs, ",") + ")/test"
	if params != "" {
		dsn += "?" + params
	}
	return dsn
}

// haOpen opens a *sql.DB on dsn, closed by t.Cleanup.
func haOpen(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("rawmysql", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// portOf returns the port of the server db's next connection reaches.
func portOf(t testing.TB, db *sql.DB) string {
	t.Helper()
	var port string
	require.NoError(t, db.QueryRow("SELECT @@port").Scan(&port))
	return port
}

func port(s *testserver.Server) string { return s.Addr[strings.LastIndexByte(s.Addr, ':')+1:] }

// TestHATargetServer: a primary and a read-only replica; each target finds its kind, whatever the order.
func TestHATargetServer(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 1})
	p, rep := r.Primary, r.Replicas[0]
	dead := &testserver.Server{Addr: deadAddr(t)}

	for _, tt := range []struct {
		target  string
		servers []*testserver.Server
		want    *testserver.Server
	}{
		{TargetPrimary, []*testserver.Server{rep, p}, p},
		{TargetReplica, []*testserver.Server{p, rep}, rep},
		{TargetPreferReplica, []*testserver.Server{p, rep}, rep},
		{TargetPreferPrimary, []*testserver.Server{rep, p}, p},
		{TargetPreferReplica, []*testserver.Server{dead, p}, p}, // no replica: the primary
		{TargetPreferPrimary, []*testserver.Server{rep, dead}, rep},
		{TargetAny, []*testserver.Server{rep, p}, rep},
	} {
		db := haOpen(t, haDSN("root", "targetServer="+tt.target, tt.servers...))
		assert.Equal(t, port(tt.want), portOf(t, db), "%s over %v", tt.target, tt.servers)
	}

	// No server of the kind: one error naming each host and why.
	db := haOpen(t, haDSN("root", "targetServer=replica", p, dead))
	err := db.Ping()
	require.Error(t, err)
	var he *HostsError
	require.True(t, errors.As(err, &he), "%v", err)
	assert.Contains(t, err.Error(), p.Addr+": server is read-write (targetServer=replica)")
	assert.Contains(t, err.Error(), dead.Addr+": ")

	// One host: a strict target refuses the other kind.
	db = haOpen(t, haDSN("root", "targetServer=primary", rep))
	err = db.Ping()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "server is read-only (targetServer=primary)")
}

// TestHATargetRecheck: roles swap under a pool (the primary is demoted, the replica promoted). The re-check on
// reuse moves a connection of targetServer=primary to the new primary; a write refused with 1290 by the
// demoted primary is retried by database/sql on a new connection, which reaches the new primary.
func TestHATargetRecheck(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 1})
	p, rep := r.Primary, r.Replicas[0]
	// An account without READ ONLY ADMIN / SUPER, so that read_only applies to it.
	_, err := p.Exec("CREATE USER 'app'@'127.0.0.1'; GRANT ALL ON test.* TO 'app'@'127.0.0.1'; CREATE TABLE test.ha_recheck (id INT PRIMARY KEY)")
	require.NoError(t, err)
	require.NoError(t, rep.WaitCaughtUp(p, time.Minute))
	swap := func(newPrimary, old *testserver.Server) {
		t.Helper()
		_, err := old.Exec("SET GLOBAL read_only = ON")
		require.NoError(t, err)
		_, err = newPrimary.Exec("SET GLOBAL read_only = OFF")
		require.NoError(t, err)
	}

	// Re-check at every reuse.
	db := haOpen(t, haDSN("root", "targetServer=primary&targetRecheck=0s", p, rep))
	db.SetMaxOpenConns(1)
	assert.Equal(t, port(p), portOf(t, db))
	swap(rep, p)
	assert.Equal(t, port(rep), portOf(t, db), "the pooled connection on the demoted primary is left")
	swap(p, rep)
	assert.Equal(t, port(p), portOf(t, db))

	// No re-check for an hour: the refused write (1290) closes the connection and is retried elsewhere.
	db = haOpen(t, haDSN("app", "targetServer=primary&targetRecheck=1h", p, rep))
	db.SetMaxOpenConns(1)
	_, err = db.Exec("INSERT INTO ha_recheck VALUES (1)")
	require.NoError(t, err)
	require.NoError(t, rep.WaitCaughtUp(p, time.Minute))
	swap(rep, p)
	_, err = db.Exec("INSERT INTO ha_recheck VALUES (2)")
	require.NoError(t, err, "the write refused by the demoted primary runs on the new one")
	assert.Equal(t, port(rep), portOf(t, db))
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM ha_recheck").Scan(&n))
	assert.Equal(t, 2, n)
}

// TestHAGalera: a three-node Galera cluster; a desynced node and a killed node are skipped, for new
// connections and for pooled ones (re-check on reuse).
func TestHAGalera(t *testing.T) {
	g := testserver.StartGalera(t, 3)
	n1, n2, n3 := g.Nodes[0], g.Nodes[1], g.Nodes[2]
	// Failover order n2, n1, n3; no backoff, so that a node that comes back is used at once.
	dsn := haDSN("root", "hostBackoff=0s&targetRecheck=0s", n2, n1, n3)
	db := haOpen(t, dsn)
	db.SetMaxOpenConns(1)
	assert.Equal(t, port(n2), portOf(t, db))

	// Desync n2. wsrep_desync=ON moves a Synced node to Donor/Desynced (2) in Galera 4; if a provider
	// version leaves it Synced while nothing is replicated, a global read lock held on n2 desyncs it.
	_, err := n2.Exec("SET GLOBAL wsrep_desync = ON")
	require.NoError(t, err)
	ready, state, err := n2.GaleraState()
	require.NoError(t, err)
	t.Logf("n2 after SET GLOBAL wsrep_desync=ON: wsrep_ready=%s wsrep_local_state=%s", ready, state)
	if state == "4" {
		lock := haOpen(t, n2.DSN(""))
		lc, err := lock.Conn(context.Background())
		require.NoError(t, err)
		_, err = lc.ExecContext(context.Background(), "FLUSH TABLES WITH READ LOCK")
		require.NoError(t, err)
		defer lc.Close()
		ready, state, err = n2.GaleraState()
		require.NoError(t, err)
		t.Logf("n2 after FLUSH TABLES WITH READ LOCK: wsrep_ready=%s wsrep_local_state=%s", ready, state)
	}
	require.NotEqual(t, "4", state, "n2 must not be Synced for this test")

	assert.Equal(t, port(n1), portOf(t, db), "the pooled connection on desynced n2 is left for n1")
	c := haConnector(t, dsn)
	dc, err := c.Connect(context.Background())
	require.NoError(t, err)
	assert.Equal(t, n1.Addr, dc.(*conn).cfg.Addr)
	dc.Close()

	// Kill n1: new connections go to n3 (n2 still desynced).
	require.NoError(t, n1.Kill())
	assert.Equal(t, port(n3), portOf(t, db))

	// n2 resyncs: new connections go to it first again (the pooled one on n3 stays, n3 is fine).
	_, err = n2.Exec("SET GLOBAL wsrep_desync = OFF")
	require.NoError(t, err)
	require.NoError(t, n2.WaitGaleraSynced(time.Minute))
	dc, err = c.Connect(context.Background())
	require.NoError(t, err)
	assert.Equal(t, n2.Addr, dc.(*conn).cfg.Addr)
	dc.Close()
	assert.Equal(t, port(n3), portOf(t, db))

	// Writes through the pool land on the cluster.
	_, err = db.Exec("CREATE TABLE ha_galera (id INT PRIMARY KEY)")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO ha_galera VALUES (1)")
	require.NoError(t, err)

	// n1 comes back and rejoins.
	require.NoError(t, g.Restart(0))
	var n int
	require.NoError(t, haOpen(t, n1.DSN("")).QueryRow("SELECT COUNT(*) FROM ha_galera").Scan(&n))
	assert.Equal(t, 1, n)
}

// haConnector returns a Connector for dsn, closed by t.Cleanup.
func haConnector(t testing.TB, dsn string) *Connector {
	t.Helper()
	cfg, err := ParseDSN(dsn)
	require.NoError(t, err)
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestHAPromoteUnderWriteLoad: writers insert through a pool with targetServer=primary over a primary and two
// replicas (semi-synchronous replication: a commit is acknowledged only once a replica has it). The primary
// is killed; the test promotes the replica that received the most. New connections find the new primary; no
// acknowledged write is lost and none is applied twice. The failover time (kill → first successful write on
// the new primary) is logged.
func TestHAPromoteUnderWriteLoad(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 2})
	p := r.Primary
	// Semi-synchronous replication, turned on once the replicas run: the primary acknowledges a commit only
	// once a replica has it in its relay log (AFTER_SYNC), so a promoted replica can hold every acknowledged
	// write. (Plain asynchronous replication may lose the last ones with the primary, whatever the driver does.)
	_, err := p.Exec("SET GLOBAL rpl_semi_sync_master_wait_point = AFTER_SYNC; SET GLOBAL rpl_semi_sync_master_timeout = 60000; SET GLOBAL rpl_semi_sync_master_enabled = ON")
	require.NoError(t, err)
	for _, rep := range r.Replicas {
		_, err := rep.Exec("SET GLOBAL rpl_semi_sync_slave_enabled = ON; STOP SLAVE IO_THREAD; START SLAVE IO_THREAD")
		require.NoError(t, err)
	}
	semiClients := func() string {
		out, err := p.Exec("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'")
		require.NoError(t, err)
		return strings.TrimSpace(out)
	}
	for deadline := time.Now().Add(time.Minute); !strings.HasSuffix(semiClients(), "\t2") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	require.True(t, strings.HasSuffix(semiClients(), "\t2"), "semi-sync replicas: %q", semiClients())
	_, err = p.Exec("CREATE TABLE test.ha_writes (seq BIGINT AUTO_INCREMENT PRIMARY KEY, k BIGINT NOT NULL, KEY (k))")
	require.NoError(t, err)
	for _, rep := range r.Replicas {
		require.NoError(t, rep.WaitCaughtUp(p, time.Minute))
	}

	dsn := haDSN("root", "targetServer=primary&hostBackoff=200ms&timeout=2s&targetRecheck=1s",
		p, r.Replicas[0], r.Replicas[1])
	db := haOpen(t, dsn)
	db.SetMaxOpenConns(8)

	const writers = 4
	var (
		next     atomic.Int64
		mu       sync.Mutex
		acked    []int64
		unknown  int
		firstNew atomic.Int64 // unix nanos of the first write acknowledged by the new primary
		killedAt atomic.Int64
		newPort  atomic.Value
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				k := next.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				conn, err := db.Conn(ctx)
				if err != nil {
					cancel()
					mu.Lock()
					unknown++ // nothing was sent: k is simply never written
					mu.Unlock()
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var port string
				_, err = conn.ExecContext(ctx, "INSERT INTO ha_writes (k) VALUES (?)", k)
				if err == nil {
					err = conn.QueryRowContext(ctx, "SELECT @@port").Scan(&port)
				}
				conn.Close()
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, k)
					if np, ok := newPort.Load().(string); ok && port == np {
						firstNew.CompareAndSwap(0, time.Now().UnixNano())
					}
				} else {
					unknown++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	// Let the load run, then kill the primary.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, err := p.Exec("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'")
	require.NoError(t, err)
	require.Contains(t, st, "ON", "semi-sync still on before the kill")
	killedAt.Store(time.Now().UnixNano())
	require.NoError(t, p.Kill())
	t.Logf("primary %s killed", p.Addr)

	// Promote the replica that received the most (Gtid_IO_Pos), once it applied all it received.
	best, bestSeq := r.Replicas[0], int64(-1)
	for _, rep := range r.Replicas {
		st, err := rep.ReplicaStatus()
		require.NoError(t, err)
		pos := st["Gtid_IO_Pos"]
		var d, s, seq int64
		if _, err := fmt.Sscanf(pos, "%d-%d-%d", &d, &s, &seq); err == nil && seq > bestSeq {
			best, bestSeq = rep, seq
		}
		t.Logf("replica %s: Gtid_IO_Pos=%s", rep.Addr, pos)
	}
	bst, err := best.ReplicaStatus()
	require.NoError(t, err)
	require.NoError(t, best.WaitGTID(bst["Gtid_IO_Pos"], time.Minute))
	newPort.Store(port(best))
	promoteAt := time.Now()
	require.NoError(t, best.Promote())
	for _, rep := range r.Replicas {
		if rep != best {
			require.NoError(t, rep.ReplicateFrom(best, 0))
		}
	}

	// Wait for writes on the new primary, then a few more.
	deadline := time.Now().Add(2 * time.Minute)
	for firstNew.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NotZero(t, firstNew.Load(), "no write reached the new primary")
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	failover := time.Duration(firstNew.Load() - killedAt.Load())
	t.Logf("failover: primary killed → first successful write on the new primary %s: %v (of which promotion by the test → first write: %v)",
		best.Addr, failover.Round(time.Millisecond), time.Unix(0, firstNew.Load()).Sub(promoteAt).Round(time.Millisecond))

	// Every acknowledged write is on the new primary exactly once; no key is there twice.
	check := haOpen(t, best.DSN(""))
	counts := map[int64]int{}
	rows, err := check.Query("SELECT k, COUNT(*) FROM ha_writes GROUP BY k")
	require.NoError(t, err)
	for rows.Next() {
		var k int64
		var c int
		require.NoError(t, rows.Scan(&k, &c))
		counts[k] = c
	}
	require.NoError(t, rows.Err())
	mu.Lock()
	defer mu.Unlock()
	lost := 0
	for _, k := range acked {
		if counts[k] != 1 {
			lost++
		}
	}
	twice := 0
	for _, c := range counts {
		if c > 1 {
			twice++
		}
	}
	t.Logf("%d writes acknowledged, %d failed or unknown, %d rows on the new primary", len(acked), unknown, len(counts))
	assert.Zero(t, lost, "acknowledged writes missing on the new primary")
	assert.Zero(t, twice, "keys applied twice")
}
