package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/rawmysql/rawmysql/protocol"
)

// ProtocolError reports bytes from the server that break the protocol; the connection is discarded.
type ProtocolError = protocol.ProtocolError

// Errors returned by the driver.
var (
	// ErrConnBusy: a command was started while a result set was still open on the same connection.
	ErrConnBusy = protocol.ErrConnBusy
)

// errConnUnusable is the cause logged when a command is refused because the connection was discarded
// earlier (a statement cancelled inside a transaction, a failed ROLLBACK, a broken stream).
var errConnUnusable = errors.New("rawmysql: connection is unusable (discarded after an earlier failure); nothing was sent")

// mapErr turns a protocol error into what database/sql expects. It is the only place driver.ErrBadConn is
// built: only when protocol.SafeToRetry says the command certainly did not run on the server, so that
// database/sql's retry on another connection cannot execute anything twice. A refused command on a
// connection already known dead is the bare driver.ErrBadConn (what go-sql-driver returns).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *protocol.ServerError
	if errors.As(err, &se) && se.Number == protocol.ErMustChangePassword {
		var ee *protocol.ExpiredPasswordError
		if !errors.As(err, &ee) {
			// A session let in with an expired password ("sandbox mode"): name the cause.
			return &protocol.ExpiredPasswordError{Err: se}
		}
	}
	err = driverErr(err) // server errors become *MySQLError (mysqlerror.go)
	if !protocol.SafeToRetry(err) {
		return err
	}
	if errors.Is(err, protocol.ErrConnClosed) || errors.Is(err, errConnUnusable) {
		return driver.ErrBadConn
	}
	return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
}

// errQueryInterrupted is ER_QUERY_INTERRUPTED (1317), the server's answer to KILL QUERY.
const errQueryInterrupted = 1317

// ctxErr prefers the context's error when the context ended the operation: any error but a server error
// becomes the context's error, and so does the server's 1317 "Query execution was interrupted".
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		var se *protocol.ServerError
		if !errors.As(err, &se) || se.Number == errQueryInterrupted {
			return ctx.Err()
		}
	}
	return err
}

// retryable marks an error as safe to retry on another connection (mapErr then reports driver.ErrBadConn).
type retryable struct{ err error }

func (e *retryable) Error() string     { return e.err.Error() }
func (e *retryable) Unwrap() error     { return e.err }
func (e *retryable) SafeToRetry() bool { return true }
