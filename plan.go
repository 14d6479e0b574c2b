package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/rawmysql/rawmysql/internal/sanitize"
	"github.com/rawmysql/rawmysql/internal/stmtcache"
	"github.com/rawmysql/rawmysql/protocol"
)

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
		if cs := c.cache.Get(query); cs != nil {
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

// prepare returns a prepared statement for query: from the cache, or newly prepared (and cached when the
// cache is on). owned reports a statement outside the cache, to be closed by its user.
func (c *conn) prepare(ctx context.Context, query string) (cs *cachedStmt, owned bool, err error) {
	if c.cache != nil {
		if cs := c.cache.Get(query); cs != nil {
			return cs, false, nil
		}
	}
	st, err := c.pc.Prepare(ctx, query)
	var se *protocol.ServerError
	if errors.As(err, &se) && se.Number == errMaxPreparedStmts && c.cache != nil && c.cache.Len() > 0 {
		// The server-wide max_prepared_stmt_count is reached: give our cached statements back and
		// prepare this one outside the cache.
		c.cache.Clear(false) // their COM_STMT_CLOSEs go out in the same write as the retried prepare
		c.cache.ServerFull()
		st, err = c.pc.Prepare(ctx, query)
		if err != nil {
			return nil, false, err
		}
		return &cachedStmt{Query: query, Stmt: st}, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	cs = &cachedStmt{Query: query, Stmt: st}
	if c.cache == nil {
		return cs, true, nil // outside the cache: closed after use
	}
	if !c.cache.Put(cs) {
		cs.CloseNow = true // the pool's budget is spent
		return cs, true, nil
	}
	return cs, false, nil
}

// closeOwnedLater queues the COM_STMT_CLOSE of a statement prepared outside the cache; it is sent in the same
// write as the next command (COM_STMT_CLOSE has no reply, so it costs neither a round trip nor a syscall).
//
// A statement kept outside the cache because the pool's budget is spent is closed at once instead: an idle
// connection must not hold it on the server beyond the budget until its next command.
func (c *conn) closeOwnedLater(cs *cachedStmt) {
	if cs.CloseNow && c.pc.State() == protocol.StateIdle {
		_ = c.pc.CloseStmt(context.Background(), cs.Stmt.ID) // a failed write breaks the connection, and the server frees its statements
		return
	}
	c.pc.QueueCloseStmt(cs.Stmt.ID)
}

// checkPlaceholders refuses a wrong argument count before anything is sent.
func (c *conn) checkPlaceholders(query string, args []driver.NamedValue) error {
	if n := sanitize.CountPlaceholders(query, c.noBackslashEscapes()); n != len(args) {
		return &argCountError{want: n, got: len(args)}
	}
	return nil
}

func (c *conn) noBackslashEscapes() bool {
	return c.pc.Status()&protocol.StatusNoBackslashEscapes != 0
}

// errInterpolateUnsafe makes the caller fall back to a server-side prepared statement.
var errInterpolateUnsafe = errors.New("rawmysql: client-side interpolation is not safe here")

// interpolate replaces the placeholders of query with escaped literals of args (internal/sanitize), as
// go-sql-driver/mysql does with interpolateParams=true. It returns errInterpolateUnsafe for character sets where
// escaping is unsafe and for statements larger than maxAllowedPacket; the caller then prepares the statement
// instead.
func (c *conn) interpolate(query string, args []driver.NamedValue) (string, error) {
	if c.unsafeCharset() {
		return "", errInterpolateUnsafe
	}
	buf, err := sanitize.Interpolate(c.ibuf[:0], query, c.noBackslashEscapes(), len(args), func(i int) (any, error) {
		v, err := convertArg(args[i].Value, 0)
		if t, ok := v.(time.Time); ok {
			v = c.timeBind(t) // the connection's location, truncated (only the zero time is the zero date)
		}
		return v, err
	})
	var ce *sanitize.ArgCountError
	var ae *sanitize.ArgError
	switch {
	case errors.As(err, &ce):
		return "", &argCountError{want: ce.Want, got: ce.Got}
	case errors.As(err, &ae):
		return "", fmt.Errorf("rawmysql: argument $%d: %w", ae.Index+1, ae.Err)
	case err != nil:
		return "", err
	}
	if len(buf) > c.cfg.MaxAllowedPacket && c.cfg.MaxAllowedPacket > 0 {
		return "", errInterpolateUnsafe
	}
	if cap(buf) <= 1<<16 {
		c.ibuf = buf
	}
	return string(buf), nil
}

// unsafeCharset reports a connection character set whose multibyte characters can end in a backslash byte.
func (c *conn) unsafeCharset() bool {
	if c.cfg.Charset != "" && protocol.IsMultibyteUnsafeCharset(c.cfg.Charset) {
		return true
	}
	id, ok := protocol.CollationID(c.cfg.Collation)
	return ok && protocol.IsMultibyteUnsafeCharset(protocol.CollationCharset(id))
}

// The statement cache lives in internal/stmtcache; these names are the root package's for its types.
type (
	cachedStmt = stmtcache.Entry  // a prepared statement, cached or owned by its user
	stmtCache  = stmtcache.Cache  // a connection's LRU of prepared statements
	stmtBudget = stmtcache.Budget // the pool-wide bound on cached statements (Config.StmtCacheTotal)
)
