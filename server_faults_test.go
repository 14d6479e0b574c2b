package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/faultproxy"
	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxiedDB opens a pool on srv through addr (a fault proxy) with DSN parameters.
func proxiedDB(t *testing.T, srv *testserver.Server, addr, params string) *sql.DB {
	t.Helper()
	cfg, err := ParseDSN(srv.DSN(params))
	require.NoError(t, err)
	cfg.Addr = addr
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(q, args...).Scan(&n))
	return n
}

// TestWriteNotRetriedAfterCommandSent: the connection drops after the INSERT reached the server (its reply
// never arrives). The error goes to the caller — database/sql does not retry on another connection — and the
// row exists exactly once.
func TestWriteNotRetriedAfterCommandSent(t *testing.T) {
	srv := testserver.Get(t)
	admin := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, admin, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, admin, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
	insert := "INSERT INTO " + tbl + " (v) VALUES ('once')"

	// Dry run: how many bytes the client sends before the INSERT (connect, ping, CONNECTION_ID()).
	// tls=false: the fault is placed at a byte offset of the plaintext stream.
	dry := faultproxy.New(t, srv.Addr)
	db := proxiedDB(t, srv, dry.Addr(), "tls=false")
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping())
	connID(t, db)
	before := dry.Bytes(0, faultproxy.ToServer)
	require.NoError(t, db.Close())

	cmdEnd := before + 4 + 1 + int64(len(insert)) // header, COM_QUERY, query text
	p := faultproxy.New(t, srv.Addr, faultproxy.Fault{Dir: faultproxy.ToServer, Offset: cmdEnd, Kind: faultproxy.CutAfterForward, ConnIndex: 0})
	db = proxiedDB(t, srv, p.Addr(), "tls=false")
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping())
	id := connID(t, db)
	_, err := db.Exec(insert)
	require.Error(t, err)
	assert.False(t, errors.Is(err, driver.ErrBadConn), "not reported as safe to retry: %v", err)
	assert.Equal(t, 1, p.Conns(), "database/sql did not retry on a new connection")

	waitGone(t, admin, id) // the server is done with the statement
	assert.Equal(t, 1, countRows(t, admin, "SELECT COUNT(*) FROM "+tbl+" WHERE v = 'once'"), "inserted exactly once")
}

// failingConn fails every write with nothing written once fail is set.
type failingConn struct {
	net.Conn
	fail *atomic.Bool
}

func (c failingConn) Write(b []byte) (int, error) {
	if c.fail.Load() {
		return 0, errors.New("injected write failure")
	}
	return c.Conn.Write(b)
}

// TestNothingWrittenIsRetried: a command whose write fails before any byte left the client is reported as
// driver.ErrBadConn, so database/sql retries it on a new connection; it runs once.
func TestNothingWrittenIsRetried(t *testing.T) {
	srv := testserver.Get(t)
	admin := openDB(t, "")
	tbl := tableName(t)
	mustExec(t, admin, "DROP TABLE IF EXISTS "+tbl)
	mustExec(t, admin, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")

	cfg, err := ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	var dials atomic.Int32
	var first atomic.Bool
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if dials.Add(1) == 1 {
			return failingConn{nc, &first}, nil
		}
		return failingConn{nc, new(atomic.Bool)}, nil
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping())
	first.Store(true)
	_, err = db.Exec("INSERT INTO " + tbl + " (v) VALUES ('retried')")
	require.NoError(t, err, "retried on a new connection")
	assert.Equal(t, int32(2), dials.Load())
	assert.Equal(t, 1, countRows(t, admin, "SELECT COUNT(*) FROM "+tbl+" WHERE v = 'retried'"))
}

// packetStarts splits a recorded server→client stream into packets and returns each header's offset.
func packetStarts(stream []byte) []int64 {
	var out []int64
	for off := 0; off+4 <= len(stream); {
		n := int(stream[off]) | int(stream[off+1])<<8 | int(stream[off+2])<<16
		out = append(out, int64(off))
		off += 4 + n
	}
	return out
}

// firstAfter returns the first offset in starts that is >= min.
func firstAfter(starts []int64, min int64) int64 {
	for _, s := range starts {
		if s >= min {
			return s
		}
	}
	return -1
}

// TestFaultMatrix injects a cut, a stall or a corrupted byte at each phase of a session — the server's
// handshake, authentication, the middle of a result set, the middle of a packet larger than 16 MiB — through a
// proxy in front of the real server. Every case returns an error by its deadline (a stalled connection ends
// at the context deadline, plus the bounded wait of a server-side cancel), and the pool works again
// afterwards.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	srv := testserver.Get(t)
	resultQuery := "SELECT seq, REPEAT('r', 100) FROM " + seqTable(3000) + " s"
	const largeQuery = "SELECT REPEAT('L', 20 << 20)"

	// A session: ping (connect), a result set, a large value; upTo names the last step run.
	steps := []string{"ping", resultQuery, largeQuery}
	session := func(ctx context.Context, db *sql.DB, upTo string, after func(step string)) error {
		for _, step := range steps {
			var err error
			if step == "ping" {
				err = db.PingContext(ctx)
			} else {
				var rows *sql.Rows
				rows, err = db.QueryContext(ctx, step)
				if err == nil {
					for rows.Next() {
					}
					err = rows.Err()
					rows.Close()
				}
			}
			if err != nil {
				return err
			}
			if after != nil {
				after(step)
			}
			if step == upTo {
				return nil
			}
		}
		return nil
	}

	// Dry run with recording, to find the phases' offsets in the server→client stream.
	dry := faultproxy.New(t, srv.Addr)
	dry.Record(true)
	db := proxiedDB(t, srv, dry.Addr(), "maxAllowedPacket=67108864")
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ends := map[string]int64{}
	require.NoError(t, session(ctx, db, largeQuery, func(step string) { ends[step] = dry.Bytes(0, faultproxy.ToClient) }))
	cancel()
	afterPing, afterResult := ends["ping"], ends[resultQuery]
	stream := dry.Recorded(0, faultproxy.ToClient)
	require.NoError(t, db.Close())
	starts := packetStarts(stream)
	require.Greater(t, len(starts), 3)
	greetingEnd := starts[1]

	type phase struct {
		name   string
		upTo   string
		offset map[faultproxy.Kind]int64
	}
	resultMid := afterPing + (afterResult-afterPing)/2
	largeMid := afterResult + 8<<20
	phases := []phase{
		{"handshake", "ping", map[faultproxy.Kind]int64{faultproxy.Cut: 20, faultproxy.Stall: 20, faultproxy.Corrupt: 3}},
		{"auth", "ping", map[faultproxy.Kind]int64{faultproxy.Cut: greetingEnd + 2, faultproxy.Stall: greetingEnd + 2, faultproxy.Corrupt: greetingEnd + 3}},
		{"mid-result", resultQuery, map[faultproxy.Kind]int64{faultproxy.Cut: resultMid, faultproxy.Stall: resultMid, faultproxy.Corrupt: firstAfter(starts, resultMid) + 3}},
		{"mid-large-packet", largeQuery, map[faultproxy.Kind]int64{faultproxy.Cut: largeMid, faultproxy.Stall: largeMid, faultproxy.Corrupt: firstAfter(starts, afterResult+(16<<20)) + 3}},
	}
	for _, ph := range phases {
		for _, kind := range []faultproxy.Kind{faultproxy.Cut, faultproxy.Stall, faultproxy.Corrupt} {
			t.Run(fmt.Sprintf("%s/%v", ph.name, kind), func(t *testing.T) {
				off := ph.offset[kind]
				require.Greater(t, off, int64(0))
				p := faultproxy.New(t, srv.Addr, faultproxy.Fault{Dir: faultproxy.ToClient, Offset: off, Kind: kind, ConnIndex: 0})
				db := proxiedDB(t, srv, p.Addr(), "maxAllowedPacket=67108864")
				db.SetMaxOpenConns(1)
				// Cut and Corrupt must be seen by the driver long before this deadline; it is generous because a
				// 20 MiB value through the proxy under -race on a loaded 2-core machine can take over 10 s.
				deadline := 60 * time.Second
				if kind == faultproxy.Stall {
					deadline = 500 * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				err := session(ctx, db, ph.upTo, nil)
				require.Error(t, err)
				if kind == faultproxy.Stall {
					assert.ErrorIs(t, err, context.DeadlineExceeded)
				} else {
					assert.NotErrorIs(t, err, context.DeadlineExceeded, "the driver saw the fault itself")
					assert.Contains(t, err.Error(), "rawmysql: ")
				}

				ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel2()
				require.NoError(t, session(ctx2, db, resultQuery, nil), "the pool works again")
				require.NoError(t, p.Close())
			})
		}
	}
}

// TestServerKillAndRestartUnderLoad: a private server is killed (SIGKILL) and restarted while clients insert.
// Clients get errors during the outage and succeed afterwards; every insert that was acknowledged is present.
func TestServerKillAndRestartUnderLoad(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts its own server")
	}
	srv := testserver.StartPrivate(t, "--innodb-flush-log-at-trx-commit=1")
	db, err := sql.Open("rawmysql", srv.DSN("timeout=2s&readTimeout=5s&writeTimeout=5s"))
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(8)
	_, err = db.Exec("CREATE TABLE acked (id INT PRIMARY KEY, worker INT) ENGINE=InnoDB")
	require.NoError(t, err)

	const workers = 4
	var (
		mu       sync.Mutex
		acked    []int
		failures atomic.Int32
		phase    atomic.Int32 // 0 before the kill, 1 restarted
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		after    [workers]atomic.Int32 // successes after the restart
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := w*1_000_000 + i
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := db.ExecContext(ctx, "INSERT INTO acked VALUES (?, ?)", id, w)
				cancel()
				if err != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
				if phase.Load() == 1 {
					after[w].Add(1)
				}
			}
		}(w)
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("inserts before the kill", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 200 })
	require.NoError(t, srv.Stop(true))
	waitFor("clients to see the outage", func() bool { return failures.Load() >= workers })
	require.NoError(t, srv.Start())
	phase.Store(1)
	waitFor("every client to succeed after the restart", func() bool {
		for w := range after {
			if after[w].Load() < 10 {
				return false
			}
		}
		return true
	})
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d acknowledged inserts, %d failed attempts", len(acked), failures.Load())
	present := map[int]bool{}
	rows, err := db.Query("SELECT id FROM acked")
	require.NoError(t, err)
	for rows.Next() {
		var id int
		require.NoError(t, rows.Scan(&id))
		present[id] = true
	}
	require.NoError(t, rows.Err())
	missing := 0
	for _, id := range acked {
		if !present[id] {
			missing++
		}
	}
	assert.Zero(t, missing, "acknowledged inserts lost")
}
