package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

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

	lastQuery string // text of the command in progress (COM_QUERY or the prepared statement's)
	inTx      bool   // a driver.Tx is open on the connection
	bad       bool   // discarded: every later command is refused with driver.ErrBadConn

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
		c.cache = newStmtCache(cfg.StmtCacheSize, budget, pc.QueueCloseStmt)
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
	if c.cache != nil {
		c.cache.clear(true) // the server frees the statements with the session; the pool gets the slots back
	}
	if c.recyclable() {
		return nil // a cancelled command is still being recovered: recycled or closed in the background
	}
	return c.pc.Close()
}

// Begin is the context-less form of BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction with the requested isolation level and access mode.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	level := ""
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		level = "READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		level = "READ COMMITTED"
	case sql.LevelRepeatableRead:
		level = "REPEATABLE READ"
	case sql.LevelSerializable:
		level = "SERIALIZABLE"
	default:
		return nil, fmt.Errorf("rawmysql: isolation level %s is not supported", sql.IsolationLevel(opts.Isolation))
	}
	if level != "" {
		if _, err := c.exec(ctx, "SET TRANSACTION ISOLATION LEVEL "+level); err != nil {
			return nil, err
		}
	}
	q := "START TRANSACTION"
	if opts.ReadOnly {
		q = "START TRANSACTION READ ONLY"
	}
	if _, err := c.exec(ctx, q); err != nil {
		return nil, err
	}
	c.inTx = true
	return &tx{c: c}, nil
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
	case c.cfg.RejectReadOnly && isReadOnlyError(err):
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

// planArgs decides how a query with arguments runs: as interpolated text (cs == nil) or as a prepared
// statement from the cache (owned: prepared outside the cache, to be closed after use). Argument count errors
// are reported before anything is sent.
func (c *conn) planArgs(ctx context.Context, query string, args []driver.NamedValue) (text string, cs *cachedStmt, owned bool, err error) {
	if c.cfg.InterpolateParams {
		text, err = c.interpolate(query, args)
		if err == nil || err != errInterpolateUnsafe {
			return text, nil, false, err
		}
	}
	if c.cache != nil {
		if cs := c.cache.get(query); cs != nil {
			// Warm path: no prepare, so no placeholder scan and no context watch here; execute checks the
			// argument count against the statement before anything is sent.
			return "", cs, false, nil
		}
	}
	if err := c.checkPlaceholders(query, args); err != nil {
		return "", nil, false, err
	}
	if err := c.begin(query); err != nil {
		return "", nil, false, mapErr(err)
	}
	cs, owned, err = c.prepare(ctx, query)
	if err = c.end(ctx, err); err != nil {
		return "", nil, false, err
	}
	return "", cs, owned, nil
}

// closeOwnedLater queues the COM_STMT_CLOSE of a statement prepared outside the cache; it is sent in the same
// write as the next command (COM_STMT_CLOSE has no reply, so it costs neither a round trip nor a syscall).
//
// A statement kept outside the cache because the pool's budget is spent is closed at once instead: an idle
// connection must not hold it on the server beyond the budget until its next command.
func (c *conn) closeOwnedLater(cs *cachedStmt) {
	if cs.closeNow && c.pc.State() == protocol.StateIdle {
		_ = c.pc.CloseStmt(context.Background(), cs.st.ID) // a failed write breaks the connection, and the server frees its statements
		return
	}
	c.pc.QueueCloseStmt(cs.st.ID)
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

// checkPlaceholders refuses a wrong argument count before anything is sent.
func (c *conn) checkPlaceholders(query string, args []driver.NamedValue) error {
	if n := countPlaceholders(query, c.noBackslashEscapes()); n != len(args) {
		return &argCountError{want: n, got: len(args)}
	}
	return nil
}

func (c *conn) noBackslashEscapes() bool {
	return c.pc.Status()&protocol.StatusNoBackslashEscapes != 0
}

// tx is a driver.Tx.
type tx struct{ c *conn }

// Commit sends COMMIT.
func (t *tx) Commit() error {
	t.c.inTx = false
	_, err := t.c.exec(context.Background(), "COMMIT")
	return err
}

// Rollback sends ROLLBACK (after a background cancel recovery, if one runs). A connection whose ROLLBACK
// fails is discarded: it never goes back to the pool inside a transaction. When the connection was already
// discarded (a statement of the transaction was cancelled), closing it rolled the transaction back.
func (t *tx) Rollback() error {
	c := t.c
	c.inTx = false
	if c.bad {
		return nil
	}
	_, err := c.exec(context.Background(), "ROLLBACK")
	if err != nil {
		c.discard()
	}
	return err
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
