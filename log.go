package rawmysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"

	"github.com/rawmysql/rawmysql/protocol"
)

// logErr logs, at Warn, an error that ends the connection's usefulness: a protocol violation, a broken
// connection (database/sql then retries on another connection when nothing was sent) or a context interruption.
func (c *conn) logErr(err error) {
	l := c.cfg.Logger
	if l == nil || err == nil {
		return
	}
	if serverError(err) != nil && c.pc.State() != protocol.StateBroken {
		return // an ordinary SQL error: the application sees it
	}
	msg := "rawmysql: connection broken"
	var pe *protocol.ProtocolError
	switch {
	case errors.As(err, &pe):
		msg = "rawmysql: protocol error, connection discarded"
	case errors.Is(err, driver.ErrBadConn):
		msg = "rawmysql: connection unusable, database/sql retries on another connection"
	case c.pc.State() == protocol.StateIdle:
		return
	}
	l.LogAttrs(context.Background(), slog.LevelWarn, msg, slog.Uint64("connection_id", uint64(c.pc.ConnectionID())),
		slog.String("addr", c.cfg.Addr), slog.String("state", c.pc.State().String()), slog.String("error", err.Error()))
}

// logClose logs, at Debug, that the connection is closed, with the state it was in.
func (c *conn) logClose() {
	c.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "rawmysql: connection closed",
		slog.Uint64("connection_id", uint64(c.pc.ConnectionID())), slog.String("addr", c.cfg.Addr),
		slog.String("state", c.pc.State().String()))
}
