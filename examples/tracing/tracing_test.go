package tracing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql"
	"github.com/rawmysql/rawmysql/cmd/rawmysql/demo/embedded"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSpan records what Spans does with it.
type fakeSpan struct {
	name  string
	attrs map[string]any
	err   error
	ended bool
	child string // name of the parent span found in the context at start
}

type fakeTracer struct {
	mu    sync.Mutex
	spans []*fakeSpan
}

type parentKey struct{}

func (f *fakeTracer) start(ctx context.Context, name string) (context.Context, Span) {
	s := &fakeSpan{name: name, attrs: map[string]any{}}
	if p, ok := ctx.Value(parentKey{}).(string); ok {
		s.child = p
	}
	f.mu.Lock()
	f.spans = append(f.spans, s)
	f.mu.Unlock()
	return ctx, s
}

func (s *fakeSpan) SetAttribute(k string, v any) { s.attrs[k] = v }
func (s *fakeSpan) RecordError(err error)        { s.err = err }
func (s *fakeSpan) End()                         { s.ended = true }

func openTraced(t *testing.T, tracer rawmysql.Tracer) *sql.DB {
	t.Helper()
	srv, err := embedded.Start("tracing")
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	cfg, err := rawmysql.ParseDSN(srv.DSN(""))
	require.NoError(t, err)
	cfg.Tracer = tracer
	connector, err := rawmysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	return db
}

func TestMetricsAndSpans(t *testing.T) {
	metrics := NewMetrics("")
	ft := &fakeTracer{}
	db := openTraced(t, Multi(metrics, Spans{Start: ft.start}))
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), parentKey{}, "request"), 30*time.Second)
	defer cancel()

	_, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
	require.NoError(t, err)
	rows, err := db.QueryContext(ctx, "SELECT v FROM t ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
	}
	require.NoError(t, rows.Close())
	st, err := db.PrepareContext(ctx, "SELECT v FROM t WHERE id = ?")
	require.NoError(t, err)
	var v string
	require.NoError(t, st.QueryRowContext(ctx, 2).Scan(&v))
	require.NoError(t, st.Close())
	assert.Equal(t, "b", v)
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'dup')")
	require.Error(t, err)

	assert.Equal(t, int64(1), metrics.Count("connects"))
	assert.Equal(t, int64(3), metrics.Count("execs"))
	assert.Equal(t, int64(2), metrics.Count("queries"))
	assert.Equal(t, int64(1), metrics.Count("prepares"))
	assert.Equal(t, int64(4), metrics.Count("rows"), "3 rows, then 1 from the prepared query")
	assert.Equal(t, int64(3), metrics.Count("rows_affected"))
	assert.Equal(t, int64(1), metrics.Count("errors"))
	lat := metrics.Latencies()
	require.Contains(t, lat, "exec")
	var n int64
	for k, c := range lat["exec"] {
		if k != "total_us" {
			n += c
		}
	}
	assert.Equal(t, int64(3), n, "every exec lands in one bucket")
	assert.Contains(t, metrics.Vars().String(), `"latency"`)

	ft.mu.Lock()
	defer ft.mu.Unlock()
	names := make([]string, len(ft.spans))
	for i, s := range ft.spans {
		names[i] = s.name
		assert.True(t, s.ended, s.name)
		assert.Equal(t, "mysql", s.attrs["db.system"])
		assert.Equal(t, "request", s.child, "%s is a child of the caller's span", s.name)
	}
	assert.Equal(t, []string{"rawmysql.connect", "rawmysql.exec", "rawmysql.exec", "rawmysql.query",
		"rawmysql.prepare", "rawmysql.query", "rawmysql.exec"}, names)
	assert.Equal(t, int64(3), ft.spans[2].attrs["db.rows_affected"])
	assert.Equal(t, int64(3), ft.spans[3].attrs["db.rows"])
	assert.Equal(t, "SELECT v FROM t WHERE id = ?", ft.spans[5].attrs["db.statement"])
	var me *rawmysql.MySQLError
	assert.True(t, errors.As(ft.spans[6].err, &me), "the duplicate key error is recorded on the span")
}

// Example_metrics publishes rawmysql metrics with expvar.
func Example_metrics() {
	srv, err := embedded.Start("example")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	metrics := NewMetrics("") // NewMetrics("rawmysql") would publish on /debug/vars
	cfg, _ := rawmysql.ParseDSN(srv.DSN(""))
	cfg.Tracer = metrics
	connector, _ := rawmysql.NewConnector(cfg)
	db := sql.OpenDB(connector)
	defer db.Close()

	for i := 0; i < 3; i++ {
		var n int
		if err := db.QueryRow("SELECT ? + 1", i).Scan(&n); err != nil {
			panic(err)
		}
	}
	fmt.Println("queries:", metrics.Count("queries"), "rows:", metrics.Count("rows"), "errors:", metrics.Count("errors"))
	// Output: queries: 3 rows: 3 errors: 0
}
