package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/rawmysql/rawmysql/protocol"
)

// ResetSession is called by database/sql before a pooled connection is reused. It refuses a connection that
// is not idle, and with checkConnLiveness (the default) one whose socket already holds data or EOF — a server
// that closed an idle connection (wait_timeout, restart) is noticed here, before a command is written, so
// database/sql retries on another connection. With resetSession=true it sends COM_RESET_CONNECTION (session
// variables, temporary tables, user locks and prepared statements are dropped) and re-applies the DSN's
// session settings.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.pc.State() != protocol.StateIdle {
		return driver.ErrBadConn
	}
	if c.cfg.CheckConnLiveness {
		if err := c.checkLiveness(); err != nil {
			c.pc.Close()
			return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
		}
	}
	if !c.cfg.ResetSession {
		return nil
	}
	if err := c.pc.Watch(ctx); err != nil {
		return err
	}
	err := c.pc.ResetConnection()
	if err = c.finish(ctx, err); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		c.pc.Close()
		return fmt.Errorf("%w: reset: %w", driver.ErrBadConn, err)
	}
	// The server dropped every prepared statement of the session.
	if c.cache != nil {
		c.cache.clear(true)
	}
	// (COM_STMT_CLOSEs queued before the reset left in the same write as COM_RESET_CONNECTION.)
	if err := c.setupSession(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		c.pc.Close()
		return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
	}
	return nil
}

// IsValid reports whether the connection can go back to the pool: it is idle (not broken by an I/O or
// protocol error, not closed, no result left open).
func (c *conn) IsValid() bool { return c.pc.State() == protocol.StateIdle }

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

// rejectReadOnly closes the connection and reports driver.ErrBadConn for a read-only error (rejectReadOnly=true).
// database/sql then retries the statement on another connection. That is safe only because the server refused
// the statement without running it; the retry may reach a new primary (failover), or fail again.
func (c *conn) rejectReadOnly(err error) error {
	c.pc.Close()
	return fmt.Errorf("%w: rawmysql: server is read-only (rejectReadOnly=true closes the connection): %w", driver.ErrBadConn, err)
}
