package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapErr is the one place driver.ErrBadConn is decided: only for an error that proves the command was not
// sent (database/sql then retries it on another connection), never for one that may have run on the server.
func TestMapErr(t *testing.T) {
	notWritten := &protocol.IOError{Op: "write", Written: false, Err: io.ErrClosedPipe}
	written := &protocol.IOError{Op: "read", Written: true, Err: io.ErrUnexpectedEOF}
	dup := &protocol.ServerError{Number: 1062, SQLState: "23000", Message: "Duplicate entry"}
	tests := []struct {
		name      string
		in        error
		badConn   bool  // errors.Is(out, driver.ErrBadConn)
		bare      bool  // out is driver.ErrBadConn itself
		same      bool  // out is in, unchanged
		alsoIs    error // out still matches this with errors.Is
		serverNum uint16
	}{
		{name: "nil", in: nil, same: true},
		{name: "context canceled", in: context.Canceled, same: true},
		{name: "deadline inside an unsent write stays the context's", in: fmt.Errorf("x: %w", errors.Join(context.DeadlineExceeded, notWritten)), same: true},
		{name: "nothing written: retry elsewhere", in: notWritten, badConn: true, alsoIs: io.ErrClosedPipe},
		{name: "written: never retried", in: written, same: true},
		{name: "a protocol error: not retried", in: &protocol.ProtocolError{Packet: "OK", Msg: "short"}, same: true},
		{name: "an arbitrary error: not retried", in: errors.New("boom"), same: true},
		{name: "server error becomes MySQLError", in: dup, serverNum: 1062},
		{name: "server error inside a write failure: not retried", in: fmt.Errorf("w: %w", dup), serverNum: 1062},
		{name: "discarded connection", in: &retryable{errConnUnusable}, badConn: true, bare: true},
		{name: "closed connection", in: protocol.ErrConnClosed, badConn: true, bare: true},
		{name: "retryable cause", in: &retryable{errors.New("read-only")}, badConn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mapErr(tt.in)
			if tt.same {
				assert.Equal(t, tt.in, out)
			}
			assert.Equal(t, tt.badConn, errors.Is(out, driver.ErrBadConn))
			if tt.bare {
				assert.Same(t, driver.ErrBadConn, out) //nolint:errorlint // the bare sentinel, as go-sql-driver returns
			} else if tt.badConn {
				assert.ErrorIs(t, out, tt.in, "the cause stays reachable")
				assert.Contains(t, out.Error(), tt.in.Error())
			}
			if tt.alsoIs != nil {
				assert.ErrorIs(t, out, tt.alsoIs)
			}
			if tt.serverNum != 0 {
				var me *MySQLError
				require.ErrorAs(t, out, &me)
				assert.Equal(t, tt.serverNum, me.Number)
				assert.False(t, errors.Is(out, driver.ErrBadConn))
			}
		})
	}
}

// A session let in with an expired password: the 1820 of any later command names the cause and keeps the
// server's error reachable.
func TestMapErrExpiredPassword(t *testing.T) {
	se := &protocol.ServerError{Number: protocol.ErMustChangePassword, SQLState: "HY000", Message: "You must reset your password"}
	out := mapErr(se)
	var ee *protocol.ExpiredPasswordError
	require.ErrorAs(t, out, &ee)
	var pse *protocol.ServerError
	require.ErrorAs(t, out, &pse)
	assert.Equal(t, uint16(protocol.ErMustChangePassword), pse.Number)
	assert.False(t, errors.Is(out, driver.ErrBadConn))

	already := &protocol.ExpiredPasswordError{User: "u", Err: se}
	require.ErrorAs(t, mapErr(already), &ee)
	assert.Equal(t, "u", ee.User, "an ExpiredPasswordError is not wrapped again")
}

func TestCtxErr(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	other := errors.New("read failed")
	killed := &protocol.ServerError{Number: errQueryInterrupted, Message: "Query execution was interrupted"}
	dup := &protocol.ServerError{Number: 1062}
	assert.Equal(t, other, ctxErr(live, other), "context still live")
	assert.Nil(t, ctxErr(done, nil))
	assert.Equal(t, context.Canceled, ctxErr(done, other), "the context ended the read")
	assert.Equal(t, context.Canceled, ctxErr(done, killed), "KILL QUERY's 1317 is the context's doing")
	assert.Equal(t, dup, ctxErr(done, dup), "another server error is the statement's own")
}
