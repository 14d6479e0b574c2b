package rawmysql

import (
	"context"
	"strconv"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Server-side cancellation.
//
// When the context of a command ends while its reply is awaited, the protocol connection calls killQuery from
// the cancelling goroutine. It opens a short-lived side connection with the same Connector (same dialer,
// address, TLS and credentials) and sends KILL QUERY <connection id>. The main connection then reads the
// server's answer (ERR 1317 "Query execution was interrupted", or the normal end of the reply when the
// command finished first) for a bounded grace period: if the reply ends cleanly the connection goes back to
// the pool, otherwise it is discarded. The caller gets the context's error in both cases. With
// killQueryOnCancel=false, or when the kill cannot be sent, the socket is closed instead (the statement may
// then keep running on the server until it notices).

// enableKillOnCancel arranges for KILL QUERY through connector when a watched context ends mid-command.
func (c *conn) enableKillOnCancel(connector *Connector) {
	if !c.cfg.KillQueryOnCancel || connector == nil {
		return
	}
	c.connector = connector
	c.pc.OnInterrupt = c.killQuery
}

// killQuery sends KILL QUERY for this connection through a new connection, within budget. It reports
// whether the server accepted the kill.
func (c *conn) killQuery(budget time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	err := c.connector.killQuery(ctx, c.pc.ConnectionID())
	if c.cfg.Logger != nil {
		if err != nil {
			c.cfg.Logger.Warn("rawmysql: KILL QUERY after context cancel failed; closing the connection", "connection_id", c.pc.ConnectionID(), "err", err)
		} else {
			c.cfg.Logger.Debug("rawmysql: KILL QUERY after context cancel", "connection_id", c.pc.ConnectionID())
		}
	}
	return err == nil
}

// killQuery connects (no session setup) and runs KILL QUERY id.
func (c *Connector) killQuery(ctx context.Context, id uint32) error {
	nc, err := c.dial(ctx)
	if err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		nc.Close()
		return err
	}
	pc, err := protocol.Connect(ctx, nc, opts)
	if err != nil {
		return err
	}
	defer pc.Close()
	if err := pc.Watch(ctx); err != nil {
		return err
	}
	_, err = pc.Exec("KILL QUERY " + strconv.FormatUint(uint64(id), 10))
	if werr := pc.Unwatch(); werr != nil {
		return werr
	}
	return err
}
