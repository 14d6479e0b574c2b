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
	// ErrArgsNotSupported is returned for queries with arguments until prepared statements are available.
	ErrArgsNotSupported = errors.New("rawmysql: query arguments are not supported by this connection path")
)

// mapErr turns a protocol error into what database/sql expects. driver.ErrBadConn (which makes database/sql
// retry on another connection) is returned only when no byte of the command reached the server.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, protocol.ErrConnClosed) {
		return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
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
	var ioe *protocol.IOError
	if errors.As(err, &ioe) && !ioe.Written {
		return fmt.Errorf("%w: %w", driver.ErrBadConn, err)
	}
	return err
}

// ctxErr prefers the context's error when it ended the operation.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		var se *protocol.ServerError
		if !errors.As(err, &se) {
			return ctx.Err()
		}
	}
	return err
}
