package protocol

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// ServerError is an ERR packet sent by the server.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_err_packet.html.
type ServerError struct {
	Number   uint16 // error code, e.g. 1062 (ER_DUP_ENTRY)
	SQLState string // five-character SQLSTATE, e.g. "23000"; empty when the server sent none
	Message  string // human-readable message from the server
}

// Error formats the error like the mysql client: "Error 1062 (23000): Duplicate entry ...".
func (e *ServerError) Error() string {
	if e.SQLState == "" {
		return fmt.Sprintf("rawmysql: Error %d: %s", e.Number, e.Message)
	}
	return fmt.Sprintf("rawmysql: Error %d (%s): %s", e.Number, e.SQLState, e.Message)
}

// ProtocolError reports bytes from the server that do not follow the protocol: a truncated or malformed
// packet, an unexpected packet kind, a length that is too large. The connection is unusable afterwards.
type ProtocolError struct {
	Packet string // which packet was being decoded, e.g. "ColumnDefinition41"
	Msg    string // what was wrong
}

// Error names the packet and what was wrong with it.
func (e *ProtocolError) Error() string {
	if e.Packet == "" {
		return "rawmysql: protocol error: " + e.Msg
	}
	return "rawmysql: protocol error in " + e.Packet + ": " + e.Msg
}

// IOError is a failed read or write on the network connection. Written tells whether any byte of the
// current command had reached the socket when it failed; when it is false the command never left the
// client and can safely be retried on another connection.
type IOError struct {
	Op      string // "read" or "write"
	Written bool   // some bytes of the current command were written before the failure
	Err     error  // the underlying error
}

// Error names the operation and the cause.
func (e *IOError) Error() string { return "rawmysql: " + e.Op + " failed: " + e.Err.Error() }

// Unwrap returns the underlying network error.
func (e *IOError) Unwrap() error { return e.Err }

// connStateError is a command refused because of the connection's state; nothing was sent.
type connStateError struct {
	msg   string
	retry bool
}

func (e *connStateError) Error() string { return e.msg }

// SafeToRetry: a command refused by a closed connection can run on another one; a busy connection is a
// caller's mistake that another connection would not fix.
func (e *connStateError) SafeToRetry() bool { return e.retry }

// ErrConnBusy is returned when a command is started while a result set is still open on the connection.
var ErrConnBusy error = &connStateError{msg: "rawmysql: connection busy: the previous result set must be read or closed before the next command"}

// ErrConnClosed is returned by any command on a closed or broken connection (nothing is sent).
var ErrConnClosed error = &connStateError{msg: "rawmysql: connection is closed", retry: true}

// SafeToRetry reports whether the failed command certainly did not run on the server, so running it again
// (on another connection) cannot execute it twice: no byte of it was written (IOError with Written false,
// a closed connection), or an error type that knows says so through a SafeToRetry() bool method. A context's
// error is never safe to retry.
func SafeToRetry(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var io *IOError
	if errors.As(err, &io) {
		return !io.Written
	}
	var nw interface{ SafeToRetry() bool }
	if errors.As(err, &nw) {
		return nw.SafeToRetry()
	}
	return false
}

func protoErr(packet, format string, args ...any) error {
	return &ProtocolError{Packet: packet, Msg: fmt.Sprintf(format, args...)}
}

// Is reports whether target is a *ServerError with the same Number, so errors.Is(err,
// &ServerError{Number: 1062}) matches any duplicate-key error.
func (e *ServerError) Is(target error) bool {
	t, ok := target.(*ServerError)
	return ok && t.Number == e.Number
}

// packetTooLargeError is returned before anything is written when a payload exceeds maxAllowedPacket.
type packetTooLargeError struct{ size, max int }

func (e *packetTooLargeError) Error() string {
	return "rawmysql: packet of " + itoa(e.size) + " bytes exceeds maxAllowedPacket (" + itoa(e.max) + " bytes)"
}

// SafeToRetry: nothing was written.
func (e *packetTooLargeError) SafeToRetry() bool { return false }

// ErrPacketTooLarge is matched by errors.Is for a payload larger than maxAllowedPacket.
var ErrPacketTooLarge = errors.New("rawmysql: packet exceeds maxAllowedPacket")

func (e *packetTooLargeError) Is(target error) bool { return target == ErrPacketTooLarge }

// TLSUnavailableError is returned when TLS is required but the server does not offer it.
type TLSUnavailableError struct{ Server string }

// Error says TLS was required and names the server.
func (e *TLSUnavailableError) Error() string {
	return "rawmysql: TLS is required (tls=" + "true/custom) but server " + strconv.Quote(e.Server) + " does not support it; refusing to continue in plaintext"
}
