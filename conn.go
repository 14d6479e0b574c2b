package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/rawmysql/rawmysql/internal/stmtcache"
	"github.com/rawmysql/rawmysql/protocol"
)

// conn is a database/sql connection over one protocol connection. database/sql never uses it from two
// goroutines at once.
type conn struct {
	pc     *protocol.Conn
	cfg    *Config
	rows   rows       // reused for every result set
	box    boxer      // boxes row values for database/sql (see box.go)
	cache  *stmtCache // nil when stmtCacheSize=0
	params []protocol.Param
	ibuf   []byte  // interpolation buffer
	tr     tracers // the Config.Tracer's sub-interfaces (all nil without a Tracer)
	// killer sends KILL QUERY for this connection through a side connection (cancel.go); nil when
	// killQueryOnCancel=false.
	killer *killer
	// gtid: GTID tracking and causal reads (gtid.go); nil when trackGTID and causalReads are off.
	gtid *gtidState

	lastQuery string   // text of the command in progress (COM_QUERY or the prepared statement's)
	inTx      bool     // a driver.Tx is open on the connection
	bad       bool     // discarded: every later command is refused with driver.ErrBadConn
	role      connRole // the server's role and the connection's host (target.go, hosts.go)

	// stickyParams: the server fixes a prepared statement's parameter types at its first execution and
	// converts later arguments to them (MySQL 8.0.22+, TiDB, Dolt; not MariaDB), so a cached statement is
	// re-prepared when its argument types change (stmt.go).
	stickyParams bool
	// timeAsText: time.Time arguments are bound as DATETIME text, not binary DATETIME, for servers built on
	// the Vitess server code (go-mysql-server, Dolt), whose binary DATETIME decoding drops the leading zeros
	// of the microseconds (.045 becomes .45) and refuses the zero date (see docs/servers.md).
	timeAsText bool
}

func newConn(pc *protocol.Conn, cfg *Config, budget *stmtBudget) *conn {
	hs := pc.Handshake()
	c := &conn{pc: pc, cfg: cfg, tr: resolveTracers(cfg.Tracer), stickyParams: !hs.IsMariaDB(), timeAsText: hs.IsVitessServer()}
	if cfg.StmtCacheSize > 0 {
		c.cache = stmtcache.New(cfg.StmtCacheSize, budget, pc.QueueCloseStmt)
	}
	pc.LocalInfile = c.localInfile
	return c
}

// Prepare is the context-less form of PrepareContext.
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close closes the connection (sending COM_QUIT when idle).
func (c *conn) Close() error {
	if c.cfg.Logger != nil {
		c.logClose()
	}
	c.bad = true
	c.releaseHost()
	if c.cache != nil {
		c.cache.Clear(true) // the server frees the statements with the session; the pool gets the slots back
	}
	if c.recyclable() {
		return nil // a cancelled command is still being recovered: recycled or closed in the background
	}
	return c.pc.Close()
}

// Ping checks the connection with COM_PING.
func (c *conn) Ping(ctx context.Context) error {
	if err := c.begin(""); err != nil {
		return mapErr(err)
	}
	return c.end(ctx, c.pc.Ping(ctx))
}

// begin is called before each command: a connection discarded earlier refuses every command (nothing is
// sent, database/sql may retry elsewhere).
func (c *conn) begin(query string) error {
	if c.bad {
		return &retryable{errConnUnusable}
	}
	c.lastQuery = query
	return nil
}

// end maps a command's error for database/sql. The protocol connection has already ended the command (its
// state, its context watcher, a background cancel recovery); the adapter adds its policies: rejectReadOnly,
// and a statement cancelled inside an open transaction, whose effect is unknown, discards the connection
// (closing it rolls the transaction back on the server) so that nothing more runs in that transaction.
func (c *conn) end(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err = ctxErr(ctx, err)
	switch {
	case (c.cfg.RejectReadOnly || c.cfg.TargetServer == TargetPrimary) && isReadOnlyError(err):
		err = c.rejectReadOnly(err)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()) && (c.inTx || c.pc.TxOpenAtStart()):
		c.discard()
	}
	err = mapErr(err)
	err = localInfileDisabled(err, c.lastQuery)
	c.logErr(err)
	return err
}

// discard closes the connection for good: later commands get driver.ErrBadConn, IsValid reports false.
func (c *conn) discard() {
	c.bad = true
	c.pc.Close()
}

// exec runs a statement without arguments over COM_QUERY.
func (c *conn) exec(ctx context.Context, query string) (driver.Result, error) {
	if err := c.begin(query); err != nil {
		return nil, mapErr(err)
	}
	res, err := c.pc.Query(ctx, query)
	var r result
	if err == nil {
		r, err = drainResult(res)
	}
	if err = c.end(ctx, err); err != nil {
		return nil, err
	}
	return r, nil
}

// queryRow runs a query and returns its first row as text.
func (c *conn) queryRow(ctx context.Context, query string) ([]string, error) {
	if err := c.begin(query); err != nil {
		return nil, mapErr(err)
	}
	vals, err := scalarRow(ctx, c.pc, query)
	if err = c.end(ctx, err); err != nil {
		return nil, err
	}
	return vals, nil
}

// ExecContext runs a statement. With arguments it uses the connection's cached prepared statement for the
// query (one round trip once prepared), or client-side interpolation with interpolateParams=true.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if br := batchFromArgs(query, args); br != nil { // SendBatch (batch.go)
		return c.runBatch(ctx, br)
	}
	if c.tr.exec != nil {
		return c.tracedExec(ctx, query, args, false, func(ctx context.Context) (driver.Result, error) {
			return c.execContext(ctx, query, args)
		})
	}
	return c.execContext(ctx, query, args)
}

func (c *conn) execContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.exec(ctx, query)
	}
	text, cs, owned, err := c.planArgs(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.exec(ctx, text)
	}
	if owned {
		defer c.closeOwnedLater(cs)
	}
	return c.execPrepared(ctx, cs, args)
}

// QueryContext runs a query and streams its rows (arguments as in ExecContext).
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.gtid != nil && c.gtid.causal && !c.inTx {
		if err := c.causalWait(ctx); err != nil {
			return nil, err
		}
	}
	if c.tr.query != nil {
		return c.tracedQuery(ctx, query, args, false, func(ctx context.Context) (driver.Rows, error) {
			return c.queryContext(ctx, query, args)
		})
	}
	return c.queryContext(ctx, query, args)
}

func (c *conn) queryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.query(ctx, query)
	}
	text, cs, owned, err := c.planArgs(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.query(ctx, text)
	}
	dr, err := c.queryPrepared(ctx, cs, args)
	if owned {
		if err != nil || dr.(*rows).done { // done: no result had columns, the rows came back closed
			c.closeOwnedLater(cs)
		} else {
			dr.(*rows).closeStmt = cs
		}
	}
	return dr, err
}

func (c *conn) query(ctx context.Context, query string) (driver.Rows, error) {
	if err := c.begin(query); err != nil {
		return nil, mapErr(err)
	}
	res, err := c.pc.Query(ctx, query)
	if err != nil {
		return nil, c.end(ctx, err)
	}
	r := c.newRows(ctx, res)
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// queryScalar runs a query returning one value as text.
func (c *conn) queryScalar(ctx context.Context, query string) (string, error) {
	vals, err := c.queryRow(ctx, query)
	if err != nil {
		return "", err
	}
	if len(vals) != 1 {
		return "", fmt.Errorf("rawmysql: %q returned %d values, expected 1", query, len(vals))
	}
	return vals[0], nil
}

// Exec runs query with positional arguments; the result is a Result with every statement's values.
func (c *conn) Exec(query string, args []driver.Value) (driver.Result, error) {
	return c.ExecContext(context.Background(), query, namedValues(args))
}

// Query runs query with positional arguments. Results without columns before the first result set (and
// between result sets) are skipped; the returned rows also implement Result for the statements skipped.
func (c *conn) Query(query string, args []driver.Value) (driver.Rows, error) {
	return c.QueryContext(context.Background(), query, namedValues(args))
}
