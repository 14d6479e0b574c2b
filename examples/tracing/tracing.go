// Package tracing shows how metrics and distributed tracing plug into rawmysql's Config.Tracer without rawmysql
// importing them. It lives in its own module, outside the driver's.
//
// Metrics counts operations, rows and errors and keeps latency histograms, published with expvar (and so on
// /debug/vars of any program serving http.DefaultServeMux). Spans turns every operation into a span of any
// OpenTelemetry-like tracer given as a SpanStarter: with go.opentelemetry.io/otel it is
//
//	tracer := otel.Tracer("rawmysql")
//	spans := tracing.Spans{Start: func(ctx context.Context, name string) (context.Context, tracing.Span) {
//		ctx, s := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
//		return ctx, otelSpan{s} // a three-method wrapper around trace.Span
//	}}
//
// Both are used by setting them as Config.Tracer (Multi combines several):
//
//	cfg, _ := rawmysql.ParseDSN(dsn)
//	cfg.Tracer = tracing.Multi(metrics, spans)
//	connector, _ := rawmysql.NewConnector(cfg)
//	db := sql.OpenDB(connector)
package tracing

import (
	"context"
	"expvar"
	"strconv"
	"sync"
	"time"

	"github.com/rawmysql/rawmysql"
)

// Metrics is a rawmysql tracer keeping counters and latency histograms. Its zero value is not usable: create
// it with NewMetrics.
type Metrics struct {
	vars *expvar.Map
	mu   sync.Mutex
	hist map[string]*histogram
}

// Bounds of the latency histogram buckets; the last bucket holds everything slower.
var bucketBounds = []time.Duration{
	100 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 500 * time.Millisecond, time.Second,
}

// histogram counts durations per bucket.
type histogram struct {
	counts [10]int64
	sum    time.Duration
}

// NewMetrics returns Metrics published with expvar under name (a name can be published once per process; an
// empty name publishes nothing).
func NewMetrics(name string) *Metrics {
	m := &Metrics{hist: make(map[string]*histogram)}
	if name != "" {
		m.vars = expvar.NewMap(name)
	} else {
		m.vars = new(expvar.Map).Init()
	}
	m.vars.Set("latency", expvar.Func(func() any { return m.Latencies() }))
	return m
}

// Vars returns the expvar map: counters queries, execs, prepares, prepares_cached, connects, rows,
// rows_affected, errors, and the latency histograms.
func (m *Metrics) Vars() *expvar.Map { return m.vars }

// Count returns the value of one counter.
func (m *Metrics) Count(name string) int64 {
	if v, ok := m.vars.Get(name).(*expvar.Int); ok {
		return v.Value()
	}
	return 0
}

// Latencies returns, per operation, the count of each latency bucket (keyed "<=1ms", ..., ">1s") and the total.
func (m *Metrics) Latencies() map[string]map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]map[string]int64, len(m.hist))
	for op, h := range m.hist {
		b := make(map[string]int64, len(h.counts)+1)
		for i, c := range h.counts {
			if c == 0 {
				continue
			}
			if i < len(bucketBounds) {
				b["<="+bucketBounds[i].String()] = c
			} else {
				b[">"+bucketBounds[len(bucketBounds)-1].String()] = c
			}
		}
		b["total_us"] = h.sum.Microseconds()
		out[op] = b
	}
	return out
}

// observe counts one operation op under counter and records its latency.
func (m *Metrics) observe(op, counter string, d time.Duration, err error) {
	m.vars.Add(counter, 1)
	if err != nil {
		m.vars.Add("errors", 1)
	}
	i := 0
	for i < len(bucketBounds) && d > bucketBounds[i] {
		i++
	}
	m.mu.Lock()
	h := m.hist[op]
	if h == nil {
		h = &histogram{}
		m.hist[op] = h
	}
	h.counts[i]++
	h.sum += d
	m.mu.Unlock()
}

// TraceQueryStart implements rawmysql.QueryTracer.
func (m *Metrics) TraceQueryStart(ctx context.Context, _ rawmysql.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements rawmysql.QueryTracer.
func (m *Metrics) TraceQueryEnd(_ context.Context, d rawmysql.TraceQueryEndData) {
	m.observe("query", "queries", d.Duration, d.Err)
	m.vars.Add("rows", d.Rows)
}

// TraceExecStart implements rawmysql.ExecTracer.
func (m *Metrics) TraceExecStart(ctx context.Context, _ rawmysql.TraceExecStartData) context.Context {
	return ctx
}

// TraceExecEnd implements rawmysql.ExecTracer.
func (m *Metrics) TraceExecEnd(_ context.Context, d rawmysql.TraceExecEndData) {
	m.observe("exec", "execs", d.Duration, d.Err)
	m.vars.Add("rows_affected", d.RowsAffected)
}

// TracePrepareStart implements rawmysql.PrepareTracer.
func (m *Metrics) TracePrepareStart(ctx context.Context, _ rawmysql.TracePrepareStartData) context.Context {
	return ctx
}

// TracePrepareEnd implements rawmysql.PrepareTracer.
func (m *Metrics) TracePrepareEnd(_ context.Context, d rawmysql.TracePrepareEndData) {
	m.observe("prepare", "prepares", d.Duration, d.Err)
	if d.Cached {
		m.vars.Add("prepares_cached", 1)
	}
}

// TraceConnectStart implements rawmysql.ConnectTracer.
func (m *Metrics) TraceConnectStart(ctx context.Context, _ rawmysql.TraceConnectStartData) context.Context {
	return ctx
}

// TraceConnectEnd implements rawmysql.ConnectTracer.
func (m *Metrics) TraceConnectEnd(_ context.Context, d rawmysql.TraceConnectEndData) {
	m.observe("connect", "connects", d.Duration, d.Err)
}

// Span is the part of an OpenTelemetry-like span Spans uses.
type Span interface {
	SetAttribute(key string, value any)
	RecordError(err error)
	End()
}

// SpanStarter starts a span named name as a child of the span in ctx and returns the context holding it.
type SpanStarter func(ctx context.Context, name string) (context.Context, Span)

// Spans is a rawmysql tracer making a span of every query, exec, prepare and connect, with the attributes of
// the OpenTelemetry database conventions (db.system, db.statement, db.rows_affected, ...).
type Spans struct {
	Start SpanStarter
	// OmitStatement leaves the SQL text out of the spans.
	OmitStatement bool
}

type spanKey struct{}

func (s Spans) begin(ctx context.Context, name, sql string) context.Context {
	ctx, span := s.Start(ctx, name)
	span.SetAttribute("db.system", "mysql")
	if sql != "" && !s.OmitStatement {
		span.SetAttribute("db.statement", sql)
	}
	return context.WithValue(ctx, spanKey{}, span)
}

func (s Spans) end(ctx context.Context, err error, attrs ...any) {
	span, ok := ctx.Value(spanKey{}).(Span)
	if !ok {
		return
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		span.SetAttribute(attrs[i].(string), attrs[i+1])
	}
	if err != nil {
		span.RecordError(err)
	}
	span.End()
}

// TraceQueryStart implements rawmysql.QueryTracer.
func (s Spans) TraceQueryStart(ctx context.Context, d rawmysql.TraceQueryStartData) context.Context {
	return s.begin(ctx, "rawmysql.query", d.SQL)
}

// TraceQueryEnd implements rawmysql.QueryTracer.
func (s Spans) TraceQueryEnd(ctx context.Context, d rawmysql.TraceQueryEndData) {
	s.end(ctx, d.Err, "db.rows", d.Rows)
}

// TraceExecStart implements rawmysql.ExecTracer.
func (s Spans) TraceExecStart(ctx context.Context, d rawmysql.TraceExecStartData) context.Context {
	return s.begin(ctx, "rawmysql.exec", d.SQL)
}

// TraceExecEnd implements rawmysql.ExecTracer.
func (s Spans) TraceExecEnd(ctx context.Context, d rawmysql.TraceExecEndData) {
	s.end(ctx, d.Err, "db.rows_affected", d.RowsAffected)
}

// TracePrepareStart implements rawmysql.PrepareTracer.
func (s Spans) TracePrepareStart(ctx context.Context, d rawmysql.TracePrepareStartData) context.Context {
	return s.begin(ctx, "rawmysql.prepare", d.SQL)
}

// TracePrepareEnd implements rawmysql.PrepareTracer.
func (s Spans) TracePrepareEnd(ctx context.Context, d rawmysql.TracePrepareEndData) {
	s.end(ctx, d.Err, "rawmysql.cached", d.Cached)
}

// TraceConnectStart implements rawmysql.ConnectTracer.
func (s Spans) TraceConnectStart(ctx context.Context, d rawmysql.TraceConnectStartData) context.Context {
	ctx = s.begin(ctx, "rawmysql.connect", "")
	if span, ok := ctx.Value(spanKey{}).(Span); ok {
		span.SetAttribute("server.address", d.Addr)
		span.SetAttribute("db.user", d.User)
	}
	return ctx
}

// TraceConnectEnd implements rawmysql.ConnectTracer.
func (s Spans) TraceConnectEnd(ctx context.Context, d rawmysql.TraceConnectEndData) {
	s.end(ctx, d.Err, "rawmysql.connection_id", strconv.FormatUint(uint64(d.ConnectionID), 10), "rawmysql.tls", d.TLS)
}

// multi calls several tracers in order; each sees the context returned by the previous one.
type multi struct{ ts []rawmysql.Tracer }

// Compile-time checks: each tracer here implements the optional interfaces too (a misspelt method would
// otherwise trace nothing without a word).
var (
	_ rawmysql.PrepareTracer = (*Metrics)(nil)
	_ rawmysql.ConnectTracer = (*Metrics)(nil)
	_ rawmysql.PrepareTracer = Spans{}
	_ rawmysql.ConnectTracer = Spans{}
	_ rawmysql.PrepareTracer = multi{}
	_ rawmysql.ConnectTracer = multi{}
)

// Multi combines tracers into one that calls each of them (for prepares and connects, those implementing
// rawmysql.PrepareTracer or rawmysql.ConnectTracer).
func Multi(tracers ...rawmysql.Tracer) rawmysql.Tracer { return multi{tracers} }

// TraceQueryStart implements rawmysql.QueryTracer.
func (m multi) TraceQueryStart(ctx context.Context, d rawmysql.TraceQueryStartData) context.Context {
	for _, t := range m.ts {
		ctx = t.TraceQueryStart(ctx, d)
	}
	return ctx
}

// TraceQueryEnd implements rawmysql.QueryTracer.
func (m multi) TraceQueryEnd(ctx context.Context, d rawmysql.TraceQueryEndData) {
	for _, t := range m.ts {
		t.TraceQueryEnd(ctx, d)
	}
}

// TraceExecStart implements rawmysql.ExecTracer.
func (m multi) TraceExecStart(ctx context.Context, d rawmysql.TraceExecStartData) context.Context {
	for _, t := range m.ts {
		ctx = t.TraceExecStart(ctx, d)
	}
	return ctx
}

// TraceExecEnd implements rawmysql.ExecTracer.
func (m multi) TraceExecEnd(ctx context.Context, d rawmysql.TraceExecEndData) {
	for _, t := range m.ts {
		t.TraceExecEnd(ctx, d)
	}
}

// TracePrepareStart implements rawmysql.PrepareTracer.
func (m multi) TracePrepareStart(ctx context.Context, d rawmysql.TracePrepareStartData) context.Context {
	for _, t := range m.ts {
		if p, ok := t.(rawmysql.PrepareTracer); ok {
			ctx = p.TracePrepareStart(ctx, d)
		}
	}
	return ctx
}

// TracePrepareEnd implements rawmysql.PrepareTracer.
func (m multi) TracePrepareEnd(ctx context.Context, d rawmysql.TracePrepareEndData) {
	for _, t := range m.ts {
		if p, ok := t.(rawmysql.PrepareTracer); ok {
			p.TracePrepareEnd(ctx, d)
		}
	}
}

// TraceConnectStart implements rawmysql.ConnectTracer.
func (m multi) TraceConnectStart(ctx context.Context, d rawmysql.TraceConnectStartData) context.Context {
	for _, t := range m.ts {
		if c, ok := t.(rawmysql.ConnectTracer); ok {
			ctx = c.TraceConnectStart(ctx, d)
		}
	}
	return ctx
}

// TraceConnectEnd implements rawmysql.ConnectTracer.
func (m multi) TraceConnectEnd(ctx context.Context, d rawmysql.TraceConnectEndData) {
	for _, t := range m.ts {
		if c, ok := t.(rawmysql.ConnectTracer); ok {
			c.TraceConnectEnd(ctx, d)
		}
	}
}
