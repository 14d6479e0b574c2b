// Package stmtcache is the per-connection cache of server-side prepared statements (an LRU keyed by query
// text) and the pool-wide budget that bounds how many statements all connections of one Connector cache
// together. It holds no connection: the cache is told how to close a server statement it lets go of, and the
// driver (the root package) does the preparing and executing.
package stmtcache

import (
	"sync"
	"sync/atomic"

	"github.com/rawmysql/rawmysql/protocol"
)

// Budget is the number of statements all connections of one Connector may hold in their caches together
// (Config.StmtCacheTotal; max 0 = no bound): each cached statement takes one slot, given back when it leaves
// the cache. It also carries the pool's 1461 signal: when one connection meets the server's
// max_prepared_stmt_count, every connection of the pool gives its cached statements back at its next query.
// A nil *Budget is unbounded.
type Budget struct {
	mu        sync.Mutex
	used, max int
	pressure  atomic.Uint64 // incremented at each 1461
}

// NewBudget returns a budget of max statements (0: no bound).
func NewBudget(max int) *Budget { return &Budget{max: max} }

// Take reserves one slot; false when the pool already caches max statements.
func (b *Budget) Take() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max > 0 && b.used >= b.max {
		return false
	}
	b.used++
	return true
}

// Give returns n slots.
func (b *Budget) Give(n int) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// InUse is the number of statements cached by the pool.
func (b *Budget) InUse() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Max is the budget's bound (0: none).
func (b *Budget) Max() int { return b.max }

// Cache is a per-connection LRU of server-side prepared statements keyed by query text, so that
// db.Query(q, args...) costs one round trip (COM_STMT_EXECUTE) once q was prepared on the connection.
// It belongs to one connection and is not safe for concurrent use.
type Cache struct {
	max        int
	m          map[string]*Entry
	head, tail *Entry // most recently used at head
	// closeStmt closes a server statement the cache let go of (protocol.Conn.QueueCloseStmt: the
	// COM_STMT_CLOSE goes out in the same write as the next command).
	closeStmt func(id uint32)
	budget    *Budget // shared by the Connector's connections (nil: unbounded)
	pressure  uint64  // the budget's 1461 count this cache has answered
}

// Entry is a prepared statement shared by the cache and the driver.Stmt values using it.
type Entry struct {
	Query    string
	Stmt     *protocol.Stmt
	Refs     int  // driver.Stmt values holding it
	CloseNow bool // kept outside the cache because the pool's budget is spent: close it without delay
	// Bound holds, per parameter, the kind of the first non-NULL value executed with this server statement
	// (0 = none yet). MySQL (and TiDB, Dolt) fix a parameter's type at that execution and convert later
	// values to it, whatever types COM_STMT_EXECUTE binds; see Fits and the root package's conn.execute.
	Bound      []protocol.ParamKind
	cached     bool // still in the cache
	prev, next *Entry
}

// New returns a cache of at most max statements that takes its slots from budget (nil: unbounded) and
// closes the server statements it lets go of with closeStmt.
func New(max int, budget *Budget, closeStmt func(id uint32)) *Cache {
	return &Cache{max: max, m: make(map[string]*Entry), closeStmt: closeStmt, budget: budget}
}

func (sc *Cache) unlink(e *Entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sc.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sc.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (sc *Cache) pushFront(e *Entry) {
	e.next = sc.head
	if sc.head != nil {
		sc.head.prev = e
	}
	sc.head = e
	if sc.tail == nil {
		sc.tail = e
	}
}

// Get returns the cached statement for query, marking it most recently used. After another connection of the
// pool met the server's max_prepared_stmt_count, the cache first gives all its statements back.
func (sc *Cache) Get(query string) *Entry {
	if sc.budget != nil {
		if p := sc.budget.pressure.Load(); p != sc.pressure {
			sc.pressure = p
			sc.Clear(false) // the COM_STMT_CLOSEs go out with the next command
			return nil
		}
	}
	e := sc.m[query]
	if e != nil && sc.head != e {
		sc.unlink(e)
		sc.pushFront(e)
	}
	return e
}

// Contains reports whether query is cached, without marking it used.
func (sc *Cache) Contains(query string) bool {
	_, ok := sc.m[query]
	return ok
}

// Put adds a freshly prepared statement, evicting the least recently used ones beyond the limit. When the
// pool's budget is spent, the connection's own least recently used statement makes room; a connection with
// nothing cached keeps e outside the cache (Put returns false: the caller owns e and closes it after use).
func (sc *Cache) Put(e *Entry) bool {
	if len(sc.m) >= sc.max && sc.tail != nil {
		sc.Remove(sc.tail) // frees a budget slot too
	}
	for !sc.budget.Take() {
		if sc.tail == nil {
			return false
		}
		sc.Remove(sc.tail)
	}
	e.cached = true
	sc.m[e.Query] = e
	sc.pushFront(e)
	for len(sc.m) > sc.max && sc.tail != nil {
		sc.Remove(sc.tail)
	}
	return true
}

// Remove drops e from the cache; the server statement is closed once no driver.Stmt uses it.
func (sc *Cache) Remove(e *Entry) {
	if !e.cached {
		return
	}
	sc.unlink(e)
	delete(sc.m, e.Query)
	e.cached = false
	sc.budget.Give(1)
	if e.Refs == 0 {
		sc.closeStmt(e.Stmt.ID)
	}
}

// Release is called when a driver.Stmt using e is closed.
func (sc *Cache) Release(e *Entry) {
	e.Refs--
	if e.Refs == 0 && !e.cached {
		sc.closeStmt(e.Stmt.ID)
	}
}

// Clear drops every statement. serverForgot: after COM_RESET_CONNECTION (or with the connection closed) the
// server has none left, so nothing is closed.
func (sc *Cache) Clear(serverForgot bool) {
	for e := sc.head; e != nil; {
		next := e.next
		e.prev, e.next = nil, nil
		e.cached = false
		if e.Refs == 0 && !serverForgot {
			sc.closeStmt(e.Stmt.ID)
		}
		e = next
	}
	sc.budget.Give(len(sc.m))
	sc.head, sc.tail = nil, nil
	clear(sc.m)
}

// ServerFull tells the pool that the server refused a statement with 1461: every other connection gives its
// cached statements back at its next query (this one has already done so).
func (sc *Cache) ServerFull() {
	if sc.budget != nil {
		sc.pressure = sc.budget.pressure.Add(1)
	}
}

// DropAllBut removes every cached statement except keep (under the server's max_prepared_stmt_count
// pressure) and reports how many it removed.
func (sc *Cache) DropAllBut(keep *Entry) int {
	n := 0
	for e := sc.tail; e != nil; {
		prev := e.prev
		if e != keep {
			sc.Remove(e)
			n++
		}
		e = prev
	}
	return n
}

// Len is the number of cached statements.
func (sc *Cache) Len() int { return len(sc.m) }

// Fits reports whether params can run on e's server statement as bound so far: each non-NULL argument has
// the kind of the first non-NULL argument executed at its position (NULL fits any type).
func (e *Entry) Fits(params []protocol.Param) bool {
	if len(e.Bound) != len(params) {
		return len(e.Bound) == 0
	}
	for i := range params {
		if k := paramTypeKind(params[i].Kind); k != protocol.ParamNull && e.Bound[i] != protocol.ParamNull && e.Bound[i] != k {
			return false
		}
	}
	return true
}

// Bind records the kinds of params as fixed by the server for e's statement (see Fits).
func (e *Entry) Bind(params []protocol.Param) {
	if len(e.Bound) != len(params) {
		e.Bound = make([]protocol.ParamKind, len(params))
	}
	for i := range params {
		if e.Bound[i] == protocol.ParamNull {
			e.Bound[i] = paramTypeKind(params[i].Kind)
		}
	}
}

// paramTypeKind is the type a parameter kind binds (long data is bound as a BLOB, like inline bytes).
func paramTypeKind(k protocol.ParamKind) protocol.ParamKind {
	if k == protocol.ParamLongData {
		return protocol.ParamBytes
	}
	return k
}
