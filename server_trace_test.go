package rawmysql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recTracer records every trace call; it implements all four tracer interfaces.
type recTracer struct {
	mu       sync.Mutex
	events   []string
	queries  []TraceQueryEndData
	execs    []TraceExecEndData
	prepares []TracePrepareEndData
	connects []TraceConnectEndData
	ctxLost  int // End calls that did not get the context returned by Start
}

type traceKey struct{}

func (r *recTracer) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recTracer) checkCtx(ctx context.Context, want string) {
	if ctx.Value(traceKey{}) != want {
		r.mu.Lock()
		r.ctxLost++
		r.mu.Unlock()
	}
}

func (r *recTracer) TraceQueryStart(ctx context.Context, d TraceQueryStartData) context.Context {
	r.add(fmt.Sprintf("query start %s args=%d prepared=%v", d.SQL, len(d.Args), d.Prepared))
	return context.WithValue(ctx, traceKey{}, "q:"+d.SQL)
}

func (r *recTracer) TraceQueryEnd(ctx context.Context, d TraceQueryEndData) {
	r.checkCtx(ctx, "q:"+d.SQL)
	r.add("query end " + d.SQL)
	r.mu.Lock()
	r.queries = append(r.queries, d)
	r.mu.Unlock()
}

func (r *recTracer) TraceExecStart(ctx context.Context, d TraceExecStartData) context.Context {
	r.add(fmt.Sprintf("exec start %s args=%d prepared=%v", d.SQL, len(d.Args), d.Prepared))
	return context.WithValue(ctx, traceKey{}, "e:"+d.SQL)
}

func (r *recTracer) TraceExecEnd(ctx context.Context, d TraceExecEndData) {
	r.checkCtx(ctx, "e:"+d.SQL)
	r.add("exec end " + d.SQL)
	r.mu.Lock()
	r.execs = append(r.execs, d)
	r.mu.Unlock()
}

func (r *recTracer) TracePrepareStart(ctx context.Context, d TracePrepareStartData) context.Context {
	r.add("prepare start " + d.SQL)
	return context.WithValue(ctx, traceKey{}, "p:"+d.SQL)
}

func (r *recTracer) TracePrepareEnd(ctx context.Context, d TracePrepareEndData) {
	r.checkCtx(ctx, "p:"+d.SQL)
	r.add("prepare end " + d.SQL)
	r.mu.Lock()
	r.prepares = append(r.prepares, d)
	r.mu.Unlock()
}

func (r *recTracer) TraceConnectStart(ctx context.Context, d TraceConnectStartData) context.Context {
	r.add("connect start " + d.Addr)
	return context.WithValue(ctx, traceKey{}, "c:"+d.Addr)
}

func (r *recTracer) TraceConnectEnd(ctx context.Context, d TraceConnectEndData) {
	r.checkCtx(ctx, "c:"+d.Addr)
	r.add("connect end " + d.Addr)
	r.mu.Lock()
	r.connects = append(r.connects, d)
	r.mu.Unlock()
}

// openWithConfig opens a *sql.DB on the test server through a Connector, after mod changes the Config.
func openWithConfig(t *testing.T, params string, mod func(*Config)) *sql.DB {
	t.Helper()
	cfg, err := ParseDSN(testserver.Get(t).DSN(params))
	require.NoError(t, err)
	mod(cfg)
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestTracerQueryExecPrepareConnect(t *testing.T) {
	tr := &recTracer{}
	db := openWithConfig(t, "", func(c *Config) { c.Tracer = tr })
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tbl := tableName(t)

	_, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+tbl)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "CREATE TABLE "+tbl+" (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO "+tbl+" (v) VALUES (?), (?), (?)", 1, 2, 3)
	require.NoError(t, err)

	rows, err := db.QueryContext(ctx, "SELECT v FROM "+tbl+" ORDER BY v")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, 3, n)

	st, err := db.PrepareContext(ctx, "UPDATE "+tbl+" SET v = v + 10 WHERE v >= ?")
	require.NoError(t, err)
	_, err = st.ExecContext(ctx, 2)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	st, err = db.PrepareContext(ctx, "UPDATE "+tbl+" SET v = v + 10 WHERE v >= ?")
	require.NoError(t, err)
	require.NoError(t, st.Close())

	qs, err := db.PrepareContext(ctx, "SELECT v FROM "+tbl+" WHERE v > ?")
	require.NoError(t, err)
	var vs []int
	rows, err = qs.QueryContext(ctx, 10)
	require.NoError(t, err)
	for rows.Next() {
		var v int
		require.NoError(t, rows.Scan(&v))
		vs = append(vs, v)
	}
	require.NoError(t, rows.Close())
	require.NoError(t, qs.Close())
	assert.Equal(t, []int{12, 13}, vs)

	_, err = db.QueryContext(ctx, "SELECT * FROM no_such_table_for_tracer")
	var me *MySQLError
	require.ErrorAs(t, err, &me)

	tr.mu.Lock()
	defer tr.mu.Unlock()
	assert.Zero(t, tr.ctxLost, "every End gets the context its Start returned")

	require.Len(t, tr.connects, 1)
	c := tr.connects[0]
	assert.NoError(t, c.Err)
	assert.NotZero(t, c.ConnectionID)
	assert.NotEmpty(t, c.ServerVersion)
	assert.Positive(t, c.Duration)

	require.Len(t, tr.execs, 4)
	assert.Equal(t, int64(3), tr.execs[2].RowsAffected, "multi-row insert")
	assert.Equal(t, int64(1), tr.execs[2].LastInsertID)
	assert.Equal(t, int64(2), tr.execs[3].RowsAffected, "prepared update")
	for _, e := range tr.execs {
		assert.NoError(t, e.Err, e.SQL)
		assert.Positive(t, e.Duration, e.SQL)
	}

	require.Len(t, tr.queries, 3)
	assert.Equal(t, int64(3), tr.queries[0].Rows)
	assert.NoError(t, tr.queries[0].Err)
	assert.Equal(t, int64(2), tr.queries[1].Rows)
	assert.ErrorAs(t, tr.queries[2].Err, &me)
	assert.Equal(t, 1146, int(me.Number), "no such table")

	require.Len(t, tr.prepares, 3)
	assert.False(t, tr.prepares[0].Cached)
	assert.True(t, tr.prepares[1].Cached, "second prepare of the same text is served by the statement cache")
	assert.False(t, tr.prepares[2].Cached)

	assert.Contains(t, tr.events, "exec start INSERT INTO "+tbl+" (v) VALUES (?), (?), (?) args=3 prepared=false")
	assert.Contains(t, tr.events, "exec start UPDATE "+tbl+" SET v = v + 10 WHERE v >= ? args=1 prepared=true")
	assert.Contains(t, tr.events, "query start SELECT v FROM "+tbl+" WHERE v > ? args=1 prepared=true")
	// A query ends when its rows are closed, after the start of nothing else.
	i := indexOf(tr.events, "query start SELECT v FROM "+tbl+" ORDER BY v args=0 prepared=false")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, "query end SELECT v FROM "+tbl+" ORDER BY v", tr.events[i+1])
}

func indexOf(s []string, v string) int {
	for i := range s {
		if s[i] == v {
			return i
		}
	}
	return -1
}

// execOnlyTracer implements only ExecTracer: queries are not traced, and nothing breaks.
type execOnlyTracer struct{ n int }

func (e *execOnlyTracer) TraceExecStart(ctx context.Context, _ TraceExecStartData) context.Context {
	e.n++
	return ctx
}
func (e *execOnlyTracer) TraceExecEnd(context.Context, TraceExecEndData) { e.n++ }

func TestTracerPartialInterfaces(t *testing.T) {
	tr := &execOnlyTracer{}
	db := openWithConfig(t, "", func(c *Config) { c.Tracer = tr })
	db.SetMaxOpenConns(1)
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
	_, err := db.Exec("DO 1")
	require.NoError(t, err)
	assert.Equal(t, 2, tr.n, "one exec: start and end; the query is not traced")
}

func TestPacketTrace(t *testing.T) {
	type pkt struct {
		dir   byte
		seq   uint8
		first byte
	}
	var mu sync.Mutex
	var pkts []pkt
	db := openWithConfig(t, "", func(c *Config) {
		c.PacketTrace = func(dir byte, seq uint8, payload []byte) {
			p := pkt{dir: dir, seq: seq}
			if len(payload) > 0 {
				p.first = payload[0]
			}
			mu.Lock()
			pkts = append(pkts, p)
			mu.Unlock()
		}
	})
	db.SetMaxOpenConns(1)
	var one int
	require.NoError(t, db.QueryRow("SELECT 1").Scan(&one))
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(pkts), 4)
	assert.Equal(t, pkt{'<', 0, 10}, pkts[0], "server handshake v10 first")
	assert.Equal(t, byte('>'), pkts[1].dir, "then the client's handshake response")
	assert.Equal(t, uint8(1), pkts[1].seq)
	assert.Contains(t, pkts, pkt{'>', 0, 0x03}, "COM_QUERY sent")
}

// logBuffer is a slog handler target safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLoggerConnectLifecycleNeverLogsPassword(t *testing.T) {
	srv := testserver.Get(t)
	if srv.Kind == testserver.KindEnv {
		t.Skip("creates a user: needs a private test server")
	}
	const user, pass = "rawmysql_logger", "Pw-4c5Dq-never-logged"
	_, err := srv.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'; CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, user, pass))
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = srv.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })

	var buf logBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	open := func(pw string) error {
		cfg := NewConfig()
		cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", srv.Addr, user, pw
		cfg.Logger = logger
		cfg.Timeout = 10 * time.Second
		connector, err := NewConnector(cfg)
		require.NoError(t, err)
		db := sql.OpenDB(connector)
		defer db.Close()
		return db.Ping()
	}
	require.NoError(t, open(pass))
	err = open(pass + "-wrong")
	var me *MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, 1045, int(me.Number), "access denied")

	out := buf.String()
	assert.Contains(t, out, "rawmysql: connected")
	assert.Contains(t, out, "rawmysql: connection closed")
	assert.Contains(t, out, "state=idle")
	assert.Contains(t, out, "rawmysql: connect failed")
	assert.Contains(t, out, "user="+user)
	assert.NotContains(t, out, pass, "the password never reaches the log")
	assert.NotContains(t, err.Error(), pass)
}
