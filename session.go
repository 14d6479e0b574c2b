package rawmysql

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rawmysql/rawmysql/protocol"
)

// ResetSession is called by database/sql before a pooled connection is reused. It refuses (driver.ErrBadConn,
// so database/sql closes it and uses another) a connection that was discarded, that is not idle (broken; a
// connection recovering from a cancelled command never reaches the pool: IsValid refuses it), or whose server
// status says a transaction is open (with autocommit on: an explicit transaction that was never ended). With
// checkConnLiveness (the default) it refuses one whose socket already holds data or EOF — a server that
// closed an idle connection (wait_timeout, restart) is noticed here, before a command is written. With
// resetSession=true it sends COM_RESET_CONNECTION (session variables, temporary tables, user locks and
// prepared statements are dropped) and re-applies the DSN's session settings. When the connection checks its
// server's role (targetServer, several hosts) and the last check is older than targetRecheck, the role is read
// again and a server that no longer serves the target refuses the connection (target.go).
func (c *conn) ResetSession(ctx context.Context) error {
	if err := c.poolable(); err != nil {
		c.logErr(mapErr(err))
		return mapErr(err)
	}
	if c.cfg.CheckConnLiveness {
		if err := c.checkLiveness(); err != nil {
			c.discard()
			return mapErr(&retryable{err})
		}
	}
	if err := c.recheckRole(ctx); err != nil {
		return err
	}
	if !c.cfg.ResetSession {
		return nil
	}
	err := c.pc.ResetConnection(ctx)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		c.discard()
		return mapErr(&retryable{fmt.Errorf("rawmysql: reset: %w", err)})
	}
	// The server dropped every prepared statement of the session.
	if c.cache != nil {
		c.cache.Clear(true)
	}
	// (COM_STMT_CLOSEs queued before the reset left in the same write as COM_RESET_CONNECTION.)
	if err := c.setupSession(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		c.discard()
		return mapErr(&retryable{err})
	}
	return nil
}

// Reasons a pooled connection is not reused.
var (
	errConnCancelling = errors.New("rawmysql: connection is still recovering from a cancelled command (KILL QUERY and drain run in the background)")
	errConnInTx       = errors.New("rawmysql: connection's server status says a transaction is open outside any Tx")
)

// poolable reports why the connection cannot serve a new user (nil: it can). Nothing is sent.
func (c *conn) poolable() error {
	if c.bad {
		return &retryable{errConnUnusable}
	}
	switch c.pc.State() {
	case protocol.StateIdle:
	case protocol.StateCancelling:
		return &retryable{errConnCancelling}
	default:
		return &retryable{errConnUnusable}
	}
	if st := c.pc.Status(); !c.inTx && st&protocol.StatusInTrans != 0 && st&protocol.StatusAutocommit != 0 {
		c.discard()
		return &retryable{errConnInTx}
	}
	return nil
}

// IsValid reports whether the connection can go back to the pool: not discarded, not broken, not inside a
// transaction, and not recovering from a cancelled command. database/sql closes a connection refused here at
// once, which frees its pool slot; Close hands a recovering one to the recycler, which keeps it as a spare
// for Connect only once the recovery and a session reset proved it clean (spare.go).
func (c *conn) IsValid() bool {
	return c.poolable() == nil
}

// errConnDead is reported when an idle connection has data or EOF pending.
var errConnDead = errors.New("rawmysql: idle connection was closed by the server or has unexpected data pending")

// checkLiveness checks an idle connection without a round trip: bytes already buffered, or data/EOF pending
// on the socket (a non-blocking read, where the platform allows it), mean the connection is dead.
func (c *conn) checkLiveness() error {
	if c.pc.Buffered() > 0 {
		return errConnDead
	}
	return connCheck(c.pc.NetConn())
}

// Read-only errors: the server refused a write because it (or the transaction) is read-only, as a former
// primary does after failover.
const (
	errOptionPreventsStatement = 1290 // ER_OPTION_PREVENTS_STATEMENT (--read-only)
	errReadOnlyTransaction     = 1792 // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	errInnoDBReadOnly          = 1836 // ER_READ_ONLY_MODE
)

func isReadOnlyError(err error) bool {
	var se *protocol.ServerError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Number {
	case errOptionPreventsStatement, errReadOnlyTransaction, errInnoDBReadOnly:
		return true
	}
	return false
}

// rejectReadOnly closes the connection for a read-only error (rejectReadOnly=true), as after a failover the
// connection points to a former primary. The error is reported as driver.ErrBadConn — database/sql then
// retries on another connection — only when the server cannot have executed anything: the error was the
// first packet of the reply (a single statement refused as a whole, or the first of a multi-statement), no
// transaction was open, and the statement is not a CALL (a procedure may have written before it failed).
// Otherwise the server's error is returned as is.
func (c *conn) rejectReadOnly(err error) error {
	c.discard()
	if c.pc.Refused() && !c.pc.TxOpenAtStart() && !c.inTx && !isCall(c.lastQuery) {
		return &retryable{fmt.Errorf("rawmysql: server is read-only (rejectReadOnly=true closes the connection): %w", err)}
	}
	return err
}

// isCall reports whether query starts with CALL (after blanks and comments).
func isCall(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	for {
		switch {
		case strings.HasPrefix(q, "/*"):
			end := strings.Index(q, "*/")
			if end < 0 {
				return false
			}
			q = strings.TrimLeft(q[end+2:], " \t\r\n(")
		case strings.HasPrefix(q, "#") || strings.HasPrefix(q, "-- "):
			end := strings.IndexByte(q, '\n')
			if end < 0 {
				return false
			}
			q = strings.TrimLeft(q[end+1:], " \t\r\n(")
		default:
			return len(q) >= 4 && strings.EqualFold(q[:4], "call") && (len(q) == 4 || !isIdentByte(q[4]))
		}
	}
}

func isIdentByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// setupSession applies charset and the DSN's session variables.
func (c *conn) setupSession(ctx context.Context) error {
	cfg := c.cfg
	if cfg.Charset != "" {
		// charset may list fallbacks ("utf8mb4,utf8"): the first one the server accepts wins.
		var lastErr error
		for _, cs := range strings.Split(cfg.Charset, ",") {
			cs = strings.TrimSpace(cs)
			q := "SET NAMES " + cs
			if cfg.Collation != "" && protocol.CollationCharset(mustCollation(cfg.Collation)) == cs {
				q += " COLLATE " + cfg.Collation
			}
			if _, lastErr = c.exec(ctx, q); lastErr == nil {
				break
			}
			if serverError(lastErr) == nil {
				return lastErr // the connection failed, not the charset
			}
		}
		if lastErr != nil {
			return lastErr
		}
	}
	if extra := c.gtidSessionVar(); len(cfg.Params) > 0 || extra != "" {
		keys := make([]string, 0, len(cfg.Params))
		for k := range cfg.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("SET ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(cfg.Params[k])
		}
		if extra != "" {
			if len(keys) > 0 {
				b.WriteString(", ")
			}
			b.WriteString(extra)
		}
		if _, err := c.exec(ctx, b.String()); err != nil {
			return err
		}
	}
	return nil
}

// setupCancel reads what the connection needs after login: the server's max_allowed_packet (maxAllowedPacket=0),
// the server's role (targetServer, several hosts) and, with killQueryOnCancel, the connection id and server
// identity for KILL QUERY — in one query.
func (c *conn) setupCancel(ctx context.Context, connector *Connector) error {
	needMax := c.cfg.MaxAllowedPacket == 0
	roleCols := c.roleColumns() // the server's role, read in the same query (target.go)
	var v string
	var role []string
	if c.cfg.KillQueryOnCancel {
		var err error
		if v, role, err = c.setupKill(ctx, connector, needMax, roleCols); err != nil {
			return err
		}
	}
	askMax, askRole := needMax && v == "", roleCols != nil && role == nil
	if askMax || askRole {
		var cols []string
		if askMax {
			cols = append(cols, "@@max_allowed_packet")
		}
		if askRole {
			cols = append(cols, roleCols...)
		}
		vals, err := c.queryRow(ctx, "SELECT "+strings.Join(cols, ", "))
		if err != nil {
			return err
		}
		if askMax {
			v, vals = vals[0], vals[1:]
		}
		if askRole {
			role = vals
		}
	}
	if roleCols != nil {
		if err := c.setRole(role); err != nil {
			return err
		}
	}
	if needMax {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("rawmysql: server max_allowed_packet %q is not a positive number", v)
		}
		c.pc.SetMaxPacketSize(n)
		c.pc.SetMaxReadPacket(n)
	}
	return nil
}

func mustCollation(name string) uint8 {
	id, _ := protocol.CollationID(name)
	return id
}
