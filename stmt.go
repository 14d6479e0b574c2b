package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/rawmysql/rawmysql/protocol"
)

// Server errors handled by the statement path.
const (
	errNeedReprepare     = 1615 // ER_NEED_REPREPARE: the statement's tables changed
	errMaxPreparedStmts  = 1461 // ER_MAX_PREPARED_STMT_COUNT_REACHED
	errUnknownStmtHandle = 1243 // ER_UNKNOWN_STMT_HANDLER
)

// stmt is a server-side prepared statement handed to database/sql.
type stmt struct {
	c      *conn
	query  string
	cs     *cachedStmt // shared with the connection's cache, or owned when the cache is off
	owned  bool        // cs is not in the cache: close it with the stmt
	closed bool
}

var (
	_ driver.Stmt             = (*stmt)(nil)
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

// PrepareContext prepares query on the server (or reuses the connection's cached statement for it).
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.tr.prepare != nil {
		return c.tracedPrepare(ctx, query)
	}
	return c.prepareContext(ctx, query)
}

func (c *conn) prepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.begin(query); err != nil {
		return nil, mapErr(err)
	}
	cs, owned, err := c.prepare(ctx, query)
	if err = c.end(ctx, err); err != nil {
		return nil, err
	}
	cs.Refs++
	return &stmt{c: c, query: query, cs: cs, owned: owned}, nil
}

// Close releases the statement; the server statement is closed unless the cache still holds it.
func (s *stmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.owned {
		s.c.pc.QueueCloseStmt(s.cs.Stmt.ID)
		return nil
	}
	s.c.cache.Release(s.cs)
	return nil
}

// NumInput returns the number of ? placeholders; database/sql checks the argument count against it.
func (s *stmt) NumInput() int { return len(s.cs.Stmt.Params) }

// Exec is the context-less form of ExecContext.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

// Query is the context-less form of QueryContext.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

// ExecContext executes the statement and reads all its results.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.closed {
		return nil, errors.New("rawmysql: statement is closed")
	}
	if s.c.tr.exec != nil {
		return s.c.tracedExec(ctx, s.query, args, true, func(ctx context.Context) (driver.Result, error) {
			return s.c.execPrepared(ctx, s.cs, args)
		})
	}
	return s.c.execPrepared(ctx, s.cs, args)
}

// QueryContext executes the statement and streams its rows.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.closed {
		return nil, errors.New("rawmysql: statement is closed")
	}
	if c := s.c; c.gtid != nil && c.gtid.causal && !c.inTx {
		if err := c.causalWait(ctx); err != nil {
			return nil, err
		}
	}
	if s.c.tr.query != nil {
		return s.c.tracedQuery(ctx, s.query, args, true, func(ctx context.Context) (driver.Rows, error) {
			return s.c.queryPrepared(ctx, s.cs, args)
		})
	}
	return s.c.queryPrepared(ctx, s.cs, args)
}

// execute sends COM_STMT_EXECUTE (with long data first) and reads the first result header. A statement the
// server wants re-prepared (1615) is prepared again and executed once more: the failed attempt ran nothing.
func (c *conn) execute(ctx context.Context, cs *cachedStmt, args []driver.NamedValue) (*protocol.Result, error) {
	if len(args) != len(cs.Stmt.Params) {
		return nil, &argCountError{want: len(cs.Stmt.Params), got: len(args)}
	}
	params, err := c.toParams(args, c.params)
	if err != nil {
		return nil, err
	}
	c.params = params
	if c.stickyParams && !cs.Fits(params) {
		// The server fixed this statement's parameter types at an earlier execution and would convert these
		// arguments to them ("hello" to 0): use a fresh server statement for the new types.
		st, err := c.reprepare(ctx, cs)
		if err != nil {
			return nil, err
		}
		c.pc.QueueCloseStmt(cs.Stmt.ID)
		cs.Stmt = st
		clear(cs.Bound)
	}
	for attempt := 0; ; attempt++ {
		if err := c.sendLongData(ctx, cs.Stmt, params); err != nil {
			return nil, err
		}
		res, err := c.pc.Execute(ctx, cs.Stmt, params)
		var se *protocol.ServerError
		if attempt == 0 && errors.As(err, &se) && (se.Number == errNeedReprepare || se.Number == errUnknownStmtHandle) {
			st, perr := c.reprepare(ctx, cs)
			if perr != nil {
				return nil, perr
			}
			old := cs.Stmt
			cs.Stmt = st
			clear(cs.Bound)
			if se.Number == errNeedReprepare {
				c.pc.QueueCloseStmt(old.ID)
			}
			restoreLongData(params)
			continue
		}
		restoreLongData(params)
		if c.stickyParams && (err == nil || errors.As(err, &se)) {
			cs.Bind(params) // the server ran (or refused) this execution: its types are fixed either way
		}
		return res, err
	}
}

// reprepare prepares cs's text again (for a new server statement). When the server's max_prepared_stmt_count
// is reached, the connection gives back its other cached statements and tries once more.
func (c *conn) reprepare(ctx context.Context, cs *cachedStmt) (*protocol.Stmt, error) {
	st, err := c.pc.Prepare(ctx, cs.Query)
	var se *protocol.ServerError
	if errors.As(err, &se) && se.Number == errMaxPreparedStmts && c.cache != nil && c.cache.DropAllBut(cs) > 0 {
		c.cache.ServerFull()
		st, err = c.pc.Prepare(ctx, cs.Query)
	}
	return st, err
}

// longDataThreshold: string and []byte arguments at least this long go through COM_STMT_SEND_LONG_DATA
// instead of inside COM_STMT_EXECUTE, so a value is never limited by one packet's size.
const longDataThreshold = 1 << 20

func (c *conn) sendLongData(ctx context.Context, st *protocol.Stmt, params []protocol.Param) error {
	for i := range params {
		p := &params[i]
		var data []byte
		switch p.Kind {
		case protocol.ParamBytes:
			data = p.B
		case protocol.ParamString:
			if len(p.S) >= longDataThreshold {
				data = []byte(p.S)
			}
		default:
			continue
		}
		if len(data) < longDataThreshold {
			continue
		}
		if err := c.pc.SendLongData(ctx, st.ID, uint16(i), data); err != nil {
			return err
		}
		p.Kind = protocol.ParamLongData
		p.B = data
	}
	return nil
}

// restoreLongData turns long-data parameters back into inline ones (for a retry, which sends them again).
func restoreLongData(params []protocol.Param) {
	for i := range params {
		if params[i].Kind == protocol.ParamLongData {
			params[i].Kind = protocol.ParamBytes
		}
	}
}

func (c *conn) execPrepared(ctx context.Context, cs *cachedStmt, args []driver.NamedValue) (driver.Result, error) {
	if err := c.begin(cs.Query); err != nil {
		return nil, mapErr(err)
	}
	res, err := c.execute(ctx, cs, args)
	if err != nil {
		return nil, c.end(ctx, err)
	}
	r, err := drainResult(res)
	if err = c.end(ctx, err); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *conn) queryPrepared(ctx context.Context, cs *cachedStmt, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.begin(cs.Query); err != nil {
		return nil, mapErr(err)
	}
	res, err := c.execute(ctx, cs, args)
	if err != nil {
		return nil, c.end(ctx, err)
	}
	return c.newRows(ctx, res), nil
}
