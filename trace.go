package rawmysql

import (
	"context"
	"database/sql/driver"
	"time"
)

// Tracer observes the operations of the driver, in the style of pgx's tracers. It is set as Config.Tracer (it has
// no DSN form) and may implement any of QueryTracer, ExecTracer, PrepareTracer and ConnectTracer; the driver
// checks which once per connection and calls only those. An OpenTelemetry span or a metrics adapter plugs in
// here without rawmysql importing it (see examples/tracing).
//
// A Tracer is called from every goroutine that uses the *sql.DB, so it must be safe for concurrent use. The
// context a Start method returns is passed to the matching End method and used for the operation itself, so a
// tracer can carry a span from one to the other. The SQL text is passed as written, arguments as database/sql
// converted them: a tracer exporting them must take care of secrets in them. Passwords are never passed.
// The statements the driver sends on its own (BEGIN, COMMIT, ROLLBACK, session set-up) are not traced.
type Tracer interface{}

// QueryTracer traces queries (DB.Query, DB.QueryRow, Stmt.Query and their Context forms). The End call comes
// when the rows are closed, with the number of rows read, or at once when the query failed.
type QueryTracer interface {
	TraceQueryStart(ctx context.Context, data TraceQueryStartData) context.Context
	TraceQueryEnd(ctx context.Context, data TraceQueryEndData)
}

// ExecTracer traces statements run with DB.Exec, Tx.Exec, Stmt.Exec and their Context forms.
type ExecTracer interface {
	TraceExecStart(ctx context.Context, data TraceExecStartData) context.Context
	TraceExecEnd(ctx context.Context, data TraceExecEndData)
}

// PrepareTracer traces DB.Prepare and its forms (a statement found in the connection's cache is traced too,
// with Cached set).
type PrepareTracer interface {
	TracePrepareStart(ctx context.Context, data TracePrepareStartData) context.Context
	TracePrepareEnd(ctx context.Context, data TracePrepareEndData)
}

// ConnectTracer traces the opening of connections: dial, TLS, authentication and session set-up.
type ConnectTracer interface {
	TraceConnectStart(ctx context.Context, data TraceConnectStartData) context.Context
	TraceConnectEnd(ctx context.Context, data TraceConnectEndData)
}

// TraceQueryStartData describes a query about to be sent.
type TraceQueryStartData struct {
	SQL      string
	Args     []driver.NamedValue // valid during the call only
	Prepared bool                // run through a statement prepared with DB.Prepare
}

// TraceQueryEndData describes a finished query.
type TraceQueryEndData struct {
	SQL      string
	Duration time.Duration // from the start of the query to the close of its rows
	Rows     int64         // rows read by the application, over all result sets
	Err      error
}

// TraceExecStartData describes a statement about to be executed.
type TraceExecStartData struct {
	SQL      string
	Args     []driver.NamedValue // valid during the call only
	Prepared bool                // run through a statement prepared with DB.Prepare
}

// TraceExecEndData describes an executed statement.
type TraceExecEndData struct {
	SQL          string
	Duration     time.Duration
	RowsAffected int64
	LastInsertID int64
	Err          error
}

// TracePrepareStartData describes a statement about to be prepared.
type TracePrepareStartData struct {
	SQL string
}

// TracePrepareEndData describes a prepared statement.
type TracePrepareEndData struct {
	SQL      string
	Duration time.Duration
	Cached   bool // the connection's statement cache already held it: nothing was sent
	Err      error
}

// TraceConnectStartData describes a connection about to be opened.
type TraceConnectStartData struct {
	Net, Addr, User, DBName string
}

// TraceConnectEndData describes an opened connection (or the failure to open one).
type TraceConnectEndData struct {
	Net, Addr     string
	Duration      time.Duration
	ConnectionID  uint32 // the server's connection id (for KILL), 0 on error
	ServerVersion string // "" on error
	TLS           bool
	Err           error
}

// tracers are the sub-interfaces a connection's Tracer implements, resolved once per connection.
type tracers struct {
	query   QueryTracer
	exec    ExecTracer
	prepare PrepareTracer
}

func resolveTracers(t Tracer) tracers {
	var tr tracers
	if t == nil {
		return tr
	}
	tr.query, _ = t.(QueryTracer)
	tr.exec, _ = t.(ExecTracer)
	tr.prepare, _ = t.(PrepareTracer)
	return tr
}

// tracedExec runs an exec between the ExecTracer's calls.
func (c *conn) tracedExec(ctx context.Context, query string, args []driver.NamedValue, prepared bool,
	run func(context.Context) (driver.Result, error)) (driver.Result, error) {
	t := c.tr.exec
	start := time.Now()
	ctx = t.TraceExecStart(ctx, TraceExecStartData{SQL: query, Args: args, Prepared: prepared})
	res, err := run(ctx)
	end := TraceExecEndData{SQL: query, Duration: time.Since(start), Err: err}
	if r, ok := res.(result); ok {
		end.RowsAffected, end.LastInsertID = r.affected, r.lastID
	}
	t.TraceExecEnd(ctx, end)
	return res, err
}

// tracedQuery runs a query after the QueryTracer's start; the end is called when the rows are closed.
func (c *conn) tracedQuery(ctx context.Context, query string, args []driver.NamedValue, prepared bool,
	run func(context.Context) (driver.Rows, error)) (driver.Rows, error) {
	t := c.tr.query
	start := time.Now()
	ctx = t.TraceQueryStart(ctx, TraceQueryStartData{SQL: query, Args: args, Prepared: prepared})
	dr, err := run(ctx)
	if err != nil {
		t.TraceQueryEnd(ctx, TraceQueryEndData{SQL: query, Duration: time.Since(start), Err: err})
		return nil, err
	}
	if r, ok := dr.(*rows); ok {
		if r.done { // no result had columns: the rows came back already closed
			t.TraceQueryEnd(ctx, TraceQueryEndData{SQL: query, Duration: time.Since(start)})
			return dr, nil
		}
		r.trace = &queryTrace{t: t, ctx: ctx, sql: query, start: start}
	}
	return dr, nil
}

// queryTrace is what rows need to end a traced query.
type queryTrace struct {
	t     QueryTracer
	ctx   context.Context
	sql   string
	start time.Time
	rows  int64
	err   error
}

// end reports the end of the query once (closeErr is the error of closing the rows).
func (q *queryTrace) end(closeErr error) {
	err := q.err
	if err == nil {
		err = closeErr
	}
	q.t.TraceQueryEnd(q.ctx, TraceQueryEndData{SQL: q.sql, Duration: time.Since(q.start), Rows: q.rows, Err: err})
}

// tracedPrepare runs a prepare between the PrepareTracer's calls.
func (c *conn) tracedPrepare(ctx context.Context, query string) (driver.Stmt, error) {
	t := c.tr.prepare
	start := time.Now()
	cached := false
	if c.cache != nil {
		cached = c.cache.Contains(query)
	}
	ctx = t.TracePrepareStart(ctx, TracePrepareStartData{SQL: query})
	st, err := c.prepareContext(ctx, query)
	t.TracePrepareEnd(ctx, TracePrepareEndData{SQL: query, Duration: time.Since(start), Cached: cached && err == nil, Err: err})
	return st, err
}
