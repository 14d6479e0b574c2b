//go:build ha

package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gtidPools is a primary pool that tracks GTIDs and two pools on the replica, one with causal reads and one
// without, all sharing one watermark.
type gtidPools struct {
	primary, causal, plain *sql.DB
	primaryConn            *Connector
	w                      *GTIDWatermark
	waits                  *atomic.Int64 // causal waits sent (MASTER_GTID_WAIT / WAIT_FOR_EXECUTED_GTID_SET)
}

func openGTIDPools(t *testing.T, primary, replica *testserver.Server, replicaParams string) *gtidPools {
	t.Helper()
	p := &gtidPools{w: NewGTIDWatermark(), waits: new(atomic.Int64)}
	open := func(dsn string, trace bool) (*sql.DB, *Connector) {
		cfg, err := ParseDSN(dsn)
		require.NoError(t, err)
		cfg.GTIDWatermark = p.w
		if trace {
			cfg.PacketTrace = func(dir byte, _ uint8, payload []byte) {
				if dir == '>' && len(payload) > 0 && payload[0] == 0x03 && strings.Contains(string(payload), "GTID") {
					p.waits.Add(1)
				}
			}
		}
		c, err := NewConnector(cfg)
		require.NoError(t, err)
		db := sql.OpenDB(c)
		t.Cleanup(func() { db.Close() })
		db.SetMaxOpenConns(200)
		db.SetMaxIdleConns(200)
		return db, c
	}
	p.primary, p.primaryConn = open(primary.DSN("trackGTID=true"), false)
	p.causal, _ = open(replica.DSN(joinParams("causalReads=true", replicaParams)), true)
	p.plain, _ = open(replica.DSN(""), false)
	return p
}

// writeThenRead runs n INSERT-on-primary / SELECT-on-replica pairs on `workers` goroutines and returns how
// many reads did not find the row just written.
func writeThenRead(t *testing.T, primary, replica *sql.DB, table string, first, n, workers int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var missed atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	next.Store(int64(first))
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := next.Add(1) - 1
				if id >= int64(first+n) {
					return
				}
				if _, err := primary.ExecContext(ctx, "INSERT INTO "+table+" (id) VALUES (?)", id); err != nil {
					errs <- err
					return
				}
				var got int
				if err := replica.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table+" WHERE id = ?", id).Scan(&got); err != nil {
					errs <- err
					return
				}
				if got != 1 {
					missed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return missed.Load()
}

var mariaGTIDPattern = regexp.MustCompile(`^\d+-\d+-\d+$`)

// Read-your-writes over 1,000 write-then-read pairs against a replica delayed by MASTER_DELAY=1: every read
// with causalReads finds its row; the same loop without it misses rows (the lag is real).
// causalBeatsPlain runs 1,000 write-then-read pairs through the causal replica pool, which must miss none, then
// 1,000 through the plain replica pool, which must miss some (else the replica's lag is not visible).
func causalBeatsPlain(t *testing.T, p *gtidPools, table string) {
	t.Helper()
	const pairs, workers = 1000, 100
	began := time.Now()
	missed := writeThenRead(t, p.primary, p.causal, table, 1, pairs, workers)
	t.Logf("causal: %d pairs on %d goroutines in %v, %d reads missed, %d waits sent", pairs, workers,
		time.Since(began).Round(time.Millisecond), missed, p.waits.Load())
	assert.Zero(t, missed, "reads with causalReads=true missed their own writes")
	assert.Positive(t, p.waits.Load())

	began = time.Now()
	missed = writeThenRead(t, p.primary, p.plain, table, 1+pairs, pairs, workers)
	t.Logf("without causal reads: %d pairs in %v, %d reads missed", pairs, time.Since(began).Round(time.Millisecond), missed)
	assert.Positive(t, missed, "no read missed without causal reads: the replica's delay is not visible, so the test proves nothing")
}

func TestCausalReadsMariaDB(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 1, Delays: []time.Duration{time.Second},
		ExtraArgs: []string{"--max-connections=600"}})
	primary, replica := r.Primary, r.Replicas[0]
	p := openGTIDPools(t, primary, replica, "")
	const table = "gtid_pairs"
	_, err := p.primary.Exec("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY) ENGINE=InnoDB")
	require.NoError(t, err)
	require.NoError(t, replica.WaitCaughtUp(primary, time.Minute))

	causalBeatsPlain(t, p, table)

	// The watermark holds the primary's last GTID once every write is done.
	pos, err := primary.GTIDBinlogPos()
	require.NoError(t, err)
	assert.Equal(t, pos, p.primaryConn.LastGTID())
	assert.Equal(t, pos, p.w.Position())
}

// The GTID of a write is reported by the statement's result and the connection; a read-only statement and a
// statement inside a transaction report none, COMMIT does.
func TestGTIDResultMariaDB(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 1})
	primary, replica := r.Primary, r.Replicas[0]
	p := openGTIDPools(t, primary, replica, "")
	ctx := context.Background()
	conn, err := p.primary.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()

	execRaw := func(q string) string {
		var gtid string
		require.NoError(t, conn.Raw(func(dc any) error {
			res, err := dc.(driver.ExecerContext).ExecContext(ctx, q, nil)
			if err != nil {
				return err
			}
			gtid = res.(GTIDResult).LastGTID()
			return nil
		}))
		return gtid
	}
	connGTID := func() string {
		var g string
		require.NoError(t, conn.Raw(func(dc any) error { g = dc.(GTIDConn).LastGTID(); return nil }))
		return g
	}

	g1 := execRaw("CREATE TABLE gtid_result (id INT PRIMARY KEY) ENGINE=InnoDB")
	assert.Regexp(t, mariaGTIDPattern, g1)
	g2 := execRaw("INSERT INTO gtid_result VALUES (1)")
	assert.Regexp(t, mariaGTIDPattern, g2)
	assert.NotEqual(t, g1, g2)
	pos, err := primary.GTIDBinlogPos()
	require.NoError(t, err)
	assert.Equal(t, pos, g2, "the INSERT's GTID is the primary's binlog position")
	assert.Equal(t, g2, connGTID())

	assert.Empty(t, execRaw("DO 1"), "a statement that commits nothing")
	assert.Empty(t, execRaw("UPDATE gtid_result SET id = 1 WHERE id = 1"), "an UPDATE that changed nothing")
	assert.Equal(t, g2, connGTID())

	assert.Empty(t, execRaw("START TRANSACTION"))
	assert.Empty(t, execRaw("INSERT INTO gtid_result VALUES (2)"), "inside a transaction")
	g3 := execRaw("COMMIT")
	assert.Regexp(t, mariaGTIDPattern, g3)
	assert.NotEqual(t, g2, g3)
	assert.Equal(t, g3, connGTID())
	assert.Equal(t, g3, p.primaryConn.LastGTID())

	// Through database/sql: a Tx's commit advances the watermark.
	tx, err := p.primary.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("INSERT INTO gtid_result VALUES (3)")
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	pos, err = primary.GTIDBinlogPos()
	require.NoError(t, err)
	assert.Equal(t, pos, p.w.Position())
	assert.NotEqual(t, g3, pos)
}

// A causal connection waits once per watermark move: reads without a write in between send no wait; a
// replica that does not apply in time fails the read with ErrCausalTimeout, bounded by causalWaitTimeout and
// by the context's deadline; a transaction waits once, at BEGIN.
func TestCausalWaitsMariaDB(t *testing.T) {
	r := testserver.StartReplication(t, testserver.ReplicationOptions{Replicas: 1})
	primary, replica := r.Primary, r.Replicas[0]
	p := openGTIDPools(t, primary, replica, "causalWaitTimeout=300ms")
	p.causal.SetMaxOpenConns(1) // one connection: its waits are counted exactly
	_, err := p.primary.Exec("CREATE TABLE gtid_waits (id INT PRIMARY KEY) ENGINE=InnoDB")
	require.NoError(t, err)

	count := func() (n int) {
		require.NoError(t, p.causal.QueryRow("SELECT COUNT(*) FROM gtid_waits").Scan(&n))
		return n
	}
	assert.Equal(t, 0, count())
	waits := p.waits.Load()
	assert.Equal(t, int64(1), waits, "the first read waits for the CREATE TABLE")
	assert.Equal(t, 0, count())
	assert.Equal(t, 0, count())
	assert.Equal(t, waits, p.waits.Load(), "reads without a new write wait no more")

	_, err = p.primary.Exec("INSERT INTO gtid_waits VALUES (1)")
	require.NoError(t, err)
	assert.Equal(t, 1, count())
	assert.Equal(t, waits+1, p.waits.Load())

	// A transaction waits at BEGIN, not at its statements.
	_, err = p.primary.Exec("INSERT INTO gtid_waits VALUES (2)")
	require.NoError(t, err)
	tx, err := p.causal.Begin()
	require.NoError(t, err)
	var n int
	require.NoError(t, tx.QueryRow("SELECT COUNT(*) FROM gtid_waits").Scan(&n))
	assert.Equal(t, 2, n)
	_, err = p.primary.Exec("INSERT INTO gtid_waits VALUES (3)")
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow("SELECT COUNT(*) FROM gtid_waits").Scan(&n))
	require.NoError(t, tx.Commit())
	assert.Equal(t, waits+2, p.waits.Load())

	// The replica stops applying: the read fails after causalWaitTimeout with ErrCausalTimeout.
	require.NoError(t, replica.StopReplicaSQLThread())
	_, err = p.primary.Exec("INSERT INTO gtid_waits VALUES (4)")
	require.NoError(t, err)
	began := time.Now()
	err = p.causal.QueryRow("SELECT COUNT(*) FROM gtid_waits").Scan(&n)
	require.ErrorIs(t, err, ErrCausalTimeout)
	assert.Contains(t, err.Error(), p.w.Position())
	t.Logf("timed out after %v: %v", time.Since(began).Round(time.Millisecond), err)

	// A context deadline shorter than causalWaitTimeout bounds the wait too.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err = p.causal.QueryRowContext(ctx, "SELECT COUNT(*) FROM gtid_waits").Scan(&n)
	cancel()
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "causal read") || ctx.Err() != nil, "%v", err)

	// Applying again: the next read waits and finds the row.
	require.NoError(t, replica.StartReplica())
	assert.Equal(t, 4, count())

	// A causal pool on the primary itself reads its own writes without waiting for anything.
	onPrimary, err := sql.Open("rawmysql", primary.DSN("causalReads=true&causalWaitTimeout=2s&gtidWatermark="+t.Name()))
	require.NoError(t, err)
	defer onPrimary.Close()
	require.NoError(t, NamedGTIDWatermark(t.Name()).Advance(p.w.Position()))
	require.NoError(t, onPrimary.QueryRow("SELECT COUNT(*) FROM gtid_waits").Scan(&n))
	assert.Equal(t, 4, n)
}

var mysqlGTIDPattern = regexp.MustCompile(`^[0-9a-f-]{36}:\d+$`)

// The same on Oracle MySQL 9.7 replicas (containers of rawmysql-test/mysql-9.7 with gtid_mode=ON): OWN_GTID
// tracking, WAIT_FOR_EXECUTED_GTID_SET, 1,000 pairs against SOURCE_DELAY=1.
func TestCausalReadsMySQL(t *testing.T) {
	r := testserver.StartMySQLReplication(t, testserver.ReplicationOptions{Replicas: 1, Delays: []time.Duration{time.Second},
		ExtraArgs: []string{"--max-connections=600"}})
	primary, replica := r.Primary, r.Replicas[0]
	p := openGTIDPools(t, primary, replica, "")
	const table = "gtid_pairs"
	ctx := context.Background()
	conn, err := p.primary.Conn(ctx)
	require.NoError(t, err)
	var gtid string
	require.NoError(t, conn.Raw(func(dc any) error {
		res, err := dc.(driver.ExecerContext).ExecContext(ctx, "CREATE TABLE "+table+" (id BIGINT PRIMARY KEY) ENGINE=InnoDB", nil)
		if err != nil {
			return err
		}
		gtid = res.(GTIDResult).LastGTID()
		return nil
	}))
	require.NoError(t, conn.Close())
	assert.Regexp(t, mysqlGTIDPattern, gtid)
	require.NoError(t, replica.WaitCaughtUp(primary, time.Minute))

	causalBeatsPlain(t, p, table)

	pos, err := primary.GTIDBinlogPos()
	require.NoError(t, err)
	assert.Equal(t, pos, p.w.Position(), "the watermark holds every transaction of the primary")
}
