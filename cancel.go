package rawmysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Server-side cancellation.
//
// When the context of a command ends after the command was sent, the protocol connection cuts the blocked
// read at once and the caller gets the context's error. In the background the protocol connection then calls
// killer.kill, which opens a short-lived side connection and sends KILL QUERY <connection id>, and reads the
// killed statement's reply to its end (ERR 1317, or the normal end of the reply when the statement finished
// first). Only then is the connection idle again. database/sql does not wait for that: the cancelling
// connection is closed for the pool at once (IsValid) and recycled as a spare once proven clean, or closed
// (spare.go). With killQueryOnCancel=false, when the server's identity could not be read, or when the kill
// fails, the connection is closed instead (the statement may then keep running on the server until it
// notices).
//
// The side connection is deliberately small: no session setup, no compression, no packet tracer (the
// PacketTrace callback never sees its login), nothing logged but the connection id and the error, and its
// own timeout derived from the DSN's timeout. Before KILL it checks that it reached the same server as the
// main connection, by comparing the server identity read on the main connection at connect time (host name,
// port, server id, data directory or server UUID); when they differ, or cannot be compared, it kills nothing.
// A Connector keeps up to maxIdleSide idle side connections (with the identity each one proved) for later
// kills; DB.Close closes them (Connector.Close).

// killer sends KILL QUERY for one connection.
type killer struct {
	connector *Connector
	id        uint64 // CONNECTION_ID() of the main connection
	ident     string // server identity seen by the main connection
	identSQL  string // the query that reads it
}

// errOtherServer is returned when the side connection reached another server than the main connection.
var errOtherServer = errors.New("rawmysql: KILL QUERY not sent: the side connection reached another server (identity differs)")

// kill sends KILL QUERY through a side connection that proved it reached the main connection's server. An
// idle side connection of the Connector is reused (it may have been closed by the server while idle: then a
// new one is dialled, once).
func (k *killer) kill(ctx context.Context) (err error) {
	defer func() {
		if l := k.connector.cfg.Logger; l != nil {
			if err != nil {
				l.Warn("rawmysql: KILL QUERY after context cancel failed; closing the connection", "connection_id", k.id, "err", err)
			} else {
				l.Debug("rawmysql: KILL QUERY after context cancel", "connection_id", k.id)
			}
		}
	}()
	q := "KILL QUERY " + strconv.FormatUint(k.id, 10)
	if err := k.connector.side.acquire(ctx); err != nil {
		return fmt.Errorf("rawmysql: no KILL side connection free (%d in use): %w", maxSideInUse, err)
	}
	defer k.connector.side.release()
	if sc := k.connector.side.get(k.ident); sc != nil {
		if _, err := sc.pc.Exec(ctx, q); err == nil {
			k.connector.side.put(sc)
			return nil
		} else if !protocol.SafeToRetry(err) && !isDeadIdle(err) {
			sc.pc.Close()
			return err
		}
		sc.pc.Close() // closed while idle: dial a new one
	}
	sc, err := k.dialSide(ctx)
	if err != nil {
		return err
	}
	if sc.ident != k.ident {
		sc.pc.Close()
		return errOtherServer
	}
	if _, err := sc.pc.Exec(ctx, q); err != nil {
		sc.pc.Close()
		return err
	}
	k.connector.side.put(sc)
	return nil
}

// isDeadIdle reports an I/O error of a pooled side connection (the server closed it while idle): the KILL
// did not run, so another connection may send it.
func isDeadIdle(err error) bool {
	var ioe *protocol.IOError
	var se *protocol.ServerError
	return errors.As(err, &ioe) && !errors.As(err, &se)
}

// sideConn is a KILL side connection and the identity of the server it reached.
type sideConn struct {
	pc    *protocol.Conn
	ident string
}

// dialSide opens a side connection: no session setup, no compression, no tracer, no attributes beyond the
// standard ones; it reads the server's identity.
func (k *killer) dialSide(ctx context.Context) (*sideConn, error) {
	nc, err := k.connector.dial(ctx)
	if err != nil {
		return nil, err
	}
	opts, err := k.connector.options()
	if err != nil {
		nc.Close()
		return nil, err
	}
	opts.Trace = nil
	opts.Compress = false
	opts.Attributes = nil
	pc, err := protocol.Connect(ctx, nc, opts)
	if err != nil {
		return nil, err
	}
	vals, err := scalarRow(ctx, pc, k.identSQL)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return &sideConn{pc: pc, ident: strings.Join(vals, "\x00")}, nil
}

// maxIdleSide is how many idle KILL side connections a Connector keeps: a storm of cancels reuses them
// instead of dialling one per KILL (each would cost the server a thread and a login).
const maxIdleSide = 4

// maxSideInUse bounds the KILLs in flight per Connector (so at most maxSideInUse+maxIdleSide side connections
// exist at once): a storm of cancels cannot open enough side connections to make the server refuse logins
// ("Too many connections"). A KILL that finds none free within its timeout fails, and the connection is
// closed instead.
const maxSideInUse = 4

// sidePool keeps a few idle side connections and bounds those in use.
type sidePool struct {
	mu     sync.Mutex
	idle   []*sideConn
	closed bool
	inUse  chan struct{} // one token per KILL in flight (created on first use)
}

// acquire waits for a free place among the maxSideInUse KILLs in flight, or for ctx to end.
func (p *sidePool) acquire(ctx context.Context) error {
	p.mu.Lock()
	if p.inUse == nil {
		p.inUse = make(chan struct{}, maxSideInUse)
	}
	sem := p.inUse
	p.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release ends a KILL in flight.
func (p *sidePool) release() { <-p.inUse }

// get returns an idle side connection that reached the server with identity ident, or nil.
func (p *sidePool) get(ident string) *sideConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if sc := p.idle[i]; sc.ident == ident {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return sc
		}
	}
	return nil
}

// put keeps sc for later kills, or closes it when enough are idle (or the Connector is closed).
func (p *sidePool) put(sc *sideConn) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < maxIdleSide {
		p.idle = append(p.idle, sc)
		sc = nil
	}
	p.mu.Unlock()
	if sc != nil {
		sc.pc.Close()
	}
}

// close closes the idle side connections; later ones are closed after use.
func (p *sidePool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, sc := range idle {
		sc.pc.Close()
	}
}

// identityColumns are the server variables that identify a server; MySQL has a UUID per server, MariaDB
// does not (its data directory tells apart servers on one host).
func identityColumns(serverVersion string) string {
	if strings.Contains(strings.ToLower(serverVersion), "mariadb") {
		return "@@hostname, @@port, @@server_id, @@datadir"
	}
	return "@@server_uuid, @@hostname, @@port, @@server_id"
}

// killTimeout bounds the side connection (dial, login, identity check, KILL): the DSN's timeout, or
// protocol.DefaultCancelTimeout.
func killTimeout(cfg *Config) time.Duration {
	if cfg.Timeout > 0 {
		return cfg.Timeout
	}
	return protocol.DefaultCancelTimeout
}

// onCancelStart, when set (by tests), sees every background cancel recovery start; its argument is closed
// when the recovery has ended.
var onCancelStart func(done <-chan struct{})

// setupKill reads the connection id and the server identity (with @@max_allowed_packet when the DSN asks
// for the server's value, so this costs no round trip of its own then) and arms KILL QUERY on cancel. A
// server that cannot answer the identity query (an incompatible server) keeps close-on-cancel.
//
// extraCols are more columns to read in the same query (the server's role); their values are returned in extra.
func (c *conn) setupKill(ctx context.Context, connector *Connector, needMaxPacket bool, extraCols []string) (maxPacket string, extra []string, err error) {
	identCols := identityColumns(c.pc.ServerVersion())
	q := "SELECT CONNECTION_ID(), " + identCols
	if needMaxPacket {
		q += ", @@max_allowed_packet"
	}
	for _, col := range extraCols {
		q += ", " + col
	}
	vals, err := c.queryRow(ctx, q)
	if err != nil {
		var se *protocol.ServerError
		if errors.As(err, &se) && !errors.Is(err, context.Canceled) {
			return "", nil, nil // no identity: close on cancel
		}
		return "", nil, err
	}
	want := 2 + strings.Count(identCols, ",") + len(extraCols)
	if needMaxPacket {
		want++
	}
	id, perr := uint64(0), error(nil)
	if len(vals) == want {
		id, perr = strconv.ParseUint(vals[0], 10, 64)
	}
	if len(vals) != want || perr != nil {
		// Not the answer of a MySQL or MariaDB server (a proxy, or other server code such as vitess): the
		// server's identity cannot be proven, so a cancelled command closes the connection instead of
		// sending KILL QUERY; max_allowed_packet and the extra columns, if needed, are asked on their own.
		return "", nil, nil
	}
	if len(extraCols) > 0 {
		extra = vals[len(vals)-len(extraCols):]
		vals = vals[:len(vals)-len(extraCols)]
	}
	if needMaxPacket {
		maxPacket = vals[len(vals)-1]
		vals = vals[:len(vals)-1]
	}
	k := &killer{connector: connector, id: id, ident: strings.Join(vals[1:], "\x00"), identSQL: "SELECT " + identCols}
	c.killer = k
	c.pc.CancelFunc = k.kill
	c.pc.OnCancelStart = onCancelStart
	c.pc.CancelTimeout = killTimeout(c.cfg)
	return maxPacket, extra, nil
}

// scalarRow runs query on a bare protocol connection and returns its first row as text.
func scalarRow(ctx context.Context, pc *protocol.Conn, query string) ([]string, error) {
	res, err := pc.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	n := len(res.Columns)
	p, err := res.ReadRow()
	if err != nil {
		res.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("rawmysql: %q returned no row", query)
		}
		return nil, err
	}
	raw := make([][]byte, n)
	if err := protocol.DecodeTextRow(p, raw); err != nil {
		return nil, res.Abort(err)
	}
	vals := make([]string, n)
	for i := range raw {
		vals[i] = string(raw[i])
	}
	return vals, res.Close()
}
