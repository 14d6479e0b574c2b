package rawmysql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rawmysql/rawmysql/protocol"
)

// Cancelled connections leave the pool at once; clean ones come back as spares.
//
// When a command's context ends after the command was sent, the protocol connection recovers in the
// background (reads the reply for a while, sends KILL QUERY, drains; see cancel.go). database/sql must not
// keep that connection's pool slot meanwhile: under a storm of cancels every slot would sit in a recovery
// while callers queue. So a cancelling connection is not valid for the pool (IsValid reports false),
// database/sql closes it as soon as the cancelled call has released it, and its slot is free for a new
// connection right away — as with go-sql-driver, which closes the connection on cancel.
//
// Closing it does not throw the socket away: Close hands the connection to a recycler, which waits for the
// background recovery to end and then proves the session clean before it is kept as a spare:
//   - the recovery ended with the connection idle (the reply read to its end, a late kill taken by DO 0);
//   - COM_RESET_CONNECTION succeeded (the server rolls back any transaction, drops temporary tables, user
//     variables, prepared statements and locks, and resets the session variables) and its OK says
//     autocommit is on and no transaction is open;
//   - the connection's collation, the DSN's database and the DSN's session settings (charset, parameters)
//     were applied again, as for a new connection.
//
// None of this is traced (PacketTrace runs only on the goroutine using the connection).
//
// Connect takes a spare before it dials (a liveness check first): a reset costs the server far less than a
// new login, and the caller pays none of it. Anything that fails closes the connection. The spare list is
// bounded (maxSpare connections, each kept at most spareMaxIdle), and so is the number of connections being
// recycled at once (maxRecycling: beyond it a cancelled connection is simply closed, its statement still
// killed by the recovery). A Connector with a BeforeConnect hook keeps no spares (its connections may differ
// in credentials or database), nor does one with several hosts (its per-host Connectors have no spare list:
// the host accounting of hosts.go counts only connections it opened). DB.Close closes the spares (Connector.Close); connections still being
// recycled then are closed when their recovery ends.

// Bounds of the spare list.
const (
	maxSpare      = 8               // spares kept per Connector
	spareMaxIdle  = 5 * time.Second // a spare unused for longer is closed
	maxRecycling  = 32              // cancelled connections recycled at once per Connector
	recycleBudget = 5 * time.Second // bounds the reset and session setup of one recycled connection
)

// sparePool keeps recycled connections for Connect.
type sparePool struct {
	mu        sync.Mutex
	idle      []spare // oldest first
	recycling int     // connections handed over by Close and not yet settled
	closed    bool
	timer     *time.Timer // closes expired spares; nil when none is armed
}

// spare is a recycled connection and when it was parked.
type spare struct {
	c      *conn
	parked time.Time
}

// onRecycleStart, when set (by tests), sees every recycle start; its argument is closed when the recycled
// connection has been parked as a spare or closed.
var onRecycleStart func(done <-chan struct{})

// adopt reserves a recycling place; false when the pool is closed or maxRecycling connections are being
// recycled already (the caller closes the connection instead).
func (p *sparePool) adopt() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.recycling >= maxRecycling {
		return false
	}
	p.recycling++
	return true
}

// settle parks c (nil: the recycle failed) and ends its recycling place. A spare beyond maxSpare, or one
// arriving after Close, is closed.
func (p *sparePool) settle(c *conn) {
	p.mu.Lock()
	p.recycling--
	if c != nil && !p.closed && len(p.idle) < maxSpare {
		p.idle = append(p.idle, spare{c: c, parked: time.Now()})
		if p.timer == nil {
			p.timer = time.AfterFunc(spareMaxIdle, p.expire)
		}
		c = nil
	}
	p.mu.Unlock()
	if c != nil {
		c.pc.Close()
	}
}

// take returns the most recently parked spare that is still alive, or nil.
func (p *sparePool) take() *conn {
	if p == nil {
		return nil
	}
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 || p.closed {
			p.mu.Unlock()
			return nil
		}
		s := p.idle[n-1]
		p.idle[n-1] = spare{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if s.c.checkLiveness() == nil && s.c.pc.State() == protocol.StateIdle {
			return s.c
		}
		s.c.pc.Close() // closed by the server while parked: try the next one
	}
}

// expire closes the spares parked for spareMaxIdle or longer and re-arms itself for the others.
func (p *sparePool) expire() {
	p.mu.Lock()
	cut := time.Now().Add(-spareMaxIdle)
	n := 0
	for n < len(p.idle) && !p.idle[n].parked.After(cut) {
		n++
	}
	old := append([]spare(nil), p.idle[:n]...)
	p.idle = append(p.idle[:0], p.idle[n:]...)
	p.timer = nil
	if len(p.idle) > 0 && !p.closed {
		p.timer = time.AfterFunc(time.Until(p.idle[0].parked.Add(spareMaxIdle)), p.expire)
	}
	p.mu.Unlock()
	for _, s := range old {
		s.c.pc.Close()
	}
}

// close closes the spares; connections still being recycled are closed when they settle.
func (p *sparePool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	for _, s := range idle {
		s.c.pc.Close()
	}
}

// recycle runs in the background once database/sql closed a connection whose cancelled command is still
// being recovered: it waits for the recovery (bounded by the recovery's own timeouts), proves the session
// clean and parks a new adapter over the same protocol connection, or closes it.
func (c *conn) recycle(p *sparePool) {
	done := make(chan struct{})
	if onRecycleStart != nil {
		onRecycleStart(done)
	}
	go func() {
		defer close(done)
		_ = c.pc.AwaitCancel(context.Background())
		nc, err := c.reclaim()
		if err != nil {
			if l := c.cfg.Logger; l != nil {
				l.Debug("rawmysql: cancelled connection not recycled; closing it", "connection_id", c.pc.ConnectionID(), "err", err)
			}
			c.pc.Close()
		}
		p.settle(nc)
	}()
}

// errNotClean is the cause when a recycled connection's session cannot be proven clean.
var errNotClean = errors.New("rawmysql: recycled connection's status says a transaction is open or autocommit is off after COM_RESET_CONNECTION")

// reclaim proves a recovered connection clean and returns a fresh adapter for it (see the comment at the top
// of this file).
func (c *conn) reclaim() (*conn, error) {
	pc := c.pc
	if st := pc.State(); st != protocol.StateIdle {
		return nil, fmt.Errorf("rawmysql: cancel recovery left the connection %s", st)
	}
	// The packet tracer runs only on the goroutine using the connection: not here.
	pc.SetTrace(nil)
	defer pc.SetTrace(c.cfg.PacketTrace)
	ctx, cancel := context.WithTimeout(context.Background(), recycleBudget)
	defer cancel()
	if err := pc.ResetConnection(ctx); err != nil {
		return nil, err
	}
	if st := pc.Status(); st&protocol.StatusInTrans != 0 || st&protocol.StatusAutocommit == 0 {
		return nil, errNotClean
	}
	nc := newConn(pc, c.cfg, c.killer.connector.stmtBudget)
	nc.killer = c.killer
	nc.role = c.role // the server's role read at connect (target.go); a one-host Connector counts no host
	nc.role.host = nil
	if err := nc.setupGTID(c.killer.connector); err != nil { // as connectOne: before the session setup
		return nil, err
	}
	// The reset may have set the character set to the server's default (MySQL): set the connection's again.
	coll := mustCollation(c.cfg.Collation)
	if _, err := nc.exec(ctx, "SET NAMES "+protocol.CollationCharset(coll)+" COLLATE "+protocol.CollationName(coll)); err != nil {
		return nil, err
	}
	if db := c.cfg.DBName; db != "" {
		if err := pc.InitDB(ctx, db); err != nil {
			return nil, err
		}
	} else if v, err := nc.queryRow(ctx, "SELECT DATABASE() IS NULL"); err != nil {
		return nil, err
	} else if v[0] != "1" {
		return nil, errors.New("rawmysql: recycled connection has a default database the DSN does not name")
	}
	if err := nc.setupSession(ctx); err != nil {
		return nil, err
	}
	if nc.bad || pc.State() != protocol.StateIdle {
		return nil, fmt.Errorf("rawmysql: recycled connection left %s", pc.State())
	}
	return nc, nil
}

// recyclable hands a connection being closed to the recycler when its cancelled command is still being
// recovered in the background and its Connector keeps spares; false when it must be closed now.
func (c *conn) recyclable() bool {
	if c.killer == nil || c.pc.State() != protocol.StateCancelling {
		return false
	}
	p := c.killer.connector.spares
	if p == nil || !p.adopt() {
		return false
	}
	c.recycle(p)
	return true
}

// takeSpare returns a spare for Connect, or nil (dial): only for the pool's own Connector (cached: no
// BeforeConnect hook), and not once ctx is done.
func (c *Connector) takeSpare(ctx context.Context, cached bool) *conn {
	if !cached || ctx.Err() != nil {
		return nil
	}
	return c.spares.take()
}
