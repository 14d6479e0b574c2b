package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"strconv"

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
	cs.refs++
	return &stmt{c: c, query: query, cs: cs, owned: owned}, nil
}

// prepare returns a prepared statement for query: from the cache, or newly prepared (and cached when the
// cache is on). owned reports a statement outside the cache, to be closed by its user.
func (c *conn) prepare(ctx context.Context, query string) (cs *cachedStmt, owned bool, err error) {
	if c.cache != nil {
		if cs := c.cache.get(query); cs != nil {
			return cs, false, nil
		}
	}
	st, err := c.pc.Prepare(ctx, query)
	var se *protocol.ServerError
	if errors.As(err, &se) && se.Number == errMaxPreparedStmts && c.cache != nil && c.cache.len() > 0 {
		// The server-wide max_prepared_stmt_count is reached: give our cached statements back and
		// prepare this one outside the cache.
		c.cache.clear(false) // their COM_STMT_CLOSEs go out in the same write as the retried prepare
		c.cache.serverFull()
		st, err = c.pc.Prepare(ctx, query)
		if err != nil {
			return nil, false, err
		}
		return &cachedStmt{query: query, st: st}, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	cs = &cachedStmt{query: query, st: st}
	if c.cache == nil {
		return cs, true, nil // outside the cache: closed after use
	}
	if !c.cache.put(cs) {
		cs.closeNow = true // the pool's budget is spent
		return cs, true, nil
	}
	return cs, false, nil
}

// Close releases the statement; the server statement is closed unless the cache still holds it.
func (s *stmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.owned {
		s.c.pc.QueueCloseStmt(s.cs.st.ID)
		return nil
	}
	s.c.cache.release(s.cs)
	return nil
}

// NumInput returns the number of ? placeholders; database/sql checks the argument count against it.
func (s *stmt) NumInput() int { return len(s.cs.st.Params) }

// Exec is the context-less form of ExecContext.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), valuesToNamed(args))
}

// Query is the context-less form of QueryContext.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), valuesToNamed(args))
}

func valuesToNamed(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
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
	if len(args) != len(cs.st.Params) {
		return nil, &argCountError{want: len(cs.st.Params), got: len(args)}
	}
	params, err := c.toParams(args, c.params)
	if err != nil {
		return nil, err
	}
	c.params = params
	if c.stickyParams && !cs.fits(params) {
		// The server fixed this statement's parameter types at an earlier execution and would convert these
		// arguments to them ("hello" to 0): use a fresh server statement for the new types.
		st, err := c.reprepare(ctx, cs)
		if err != nil {
			return nil, err
		}
		c.pc.QueueCloseStmt(cs.st.ID)
		cs.st = st
		clear(cs.bound)
	}
	for attempt := 0; ; attempt++ {
		if err := c.sendLongData(ctx, cs.st, params); err != nil {
			return nil, err
		}
		res, err := c.pc.Execute(ctx, cs.st, params)
		var se *protocol.ServerError
		if attempt == 0 && errors.As(err, &se) && (se.Number == errNeedReprepare || se.Number == errUnknownStmtHandle) {
			st, perr := c.reprepare(ctx, cs)
			if perr != nil {
				return nil, perr
			}
			old := cs.st
			cs.st = st
			clear(cs.bound)
			if se.Number == errNeedReprepare {
				c.pc.QueueCloseStmt(old.ID)
			}
			restoreLongData(params)
			continue
		}
		restoreLongData(params)
		if c.stickyParams && (err == nil || errors.As(err, &se)) {
			cs.bind(params) // the server ran (or refused) this execution: its types are fixed either way
		}
		return res, err
	}
}

// fits reports whether params can run on cs's server statement as bound so far: each non-NULL argument has
// the kind of the first non-NULL argument executed at its position (NULL fits any type).
func (cs *cachedStmt) fits(params []protocol.Param) bool {
	if len(cs.bound) != len(params) {
		return len(cs.bound) == 0
	}
	for i := range params {
		if k := paramTypeKind(params[i].Kind); k != protocol.ParamNull && cs.bound[i] != protocol.ParamNull && cs.bound[i] != k {
			return false
		}
	}
	return true
}

// bind records the kinds of params as fixed by the server for cs's statement (see fits).
func (cs *cachedStmt) bind(params []protocol.Param) {
	if len(cs.bound) != len(params) {
		cs.bound = make([]protocol.ParamKind, len(params))
	}
	for i := range params {
		if cs.bound[i] == protocol.ParamNull {
			cs.bound[i] = paramTypeKind(params[i].Kind)
		}
	}
}

// paramTypeKind is the type a parameter kind binds (long data is bound as a BLOB, like inline bytes).
func paramTypeKind(k protocol.ParamKind) protocol.ParamKind {
	if k == protocol.ParamLongData {
		return protocol.ParamBytes
	}
	return k
}

// reprepare prepares cs's text again (for a new server statement). When the server's max_prepared_stmt_count
// is reached, the connection gives back its other cached statements and tries once more.
func (c *conn) reprepare(ctx context.Context, cs *cachedStmt) (*protocol.Stmt, error) {
	st, err := c.pc.Prepare(ctx, cs.query)
	var se *protocol.ServerError
	if errors.As(err, &se) && se.Number == errMaxPreparedStmts && c.cache != nil && c.cache.dropAllBut(cs) > 0 {
		c.cache.serverFull()
		st, err = c.pc.Prepare(ctx, cs.query)
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
	if err := c.begin(cs.query); err != nil {
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
	if err := c.begin(cs.query); err != nil {
		return nil, mapErr(err)
	}
	res, err := c.execute(ctx, cs, args)
	if err != nil {
		return nil, c.end(ctx, err)
	}
	return c.newRows(ctx, res), nil
}

// argCountError reports a wrong number of arguments before anything is sent.
type argCountError struct{ want, got int }

func (e *argCountError) Error() string {
	return "rawmysql: statement expects " + strconv.Itoa(e.want) + " arguments, got " + strconv.Itoa(e.got)
}
