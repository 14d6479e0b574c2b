package rawmysql

import (
	"sync"
	"sync/atomic"

	"github.com/rawmysql/rawmysql/protocol"
)

// stmtBudget is the number of statements all connections of one Connector may hold in their caches together
// (Config.StmtCacheTotal; max 0 = no bound): each cached statement takes one slot, given back when it leaves
// the cache. It also carries the pool's 1461 signal: when one connection meets the server's
// max_prepared_stmt_count, every connection of the pool gives its cached statements back at its next query.
type stmtBudget struct {
	mu        sync.Mutex
	used, max int
	pressure  atomic.Uint64 // incremented at each 1461
}

func newStmtBudget(max int) *stmtBudget { return &stmtBudget{max: max} }

// take reserves one slot; false when the pool already caches max statements.
func (b *stmtBudget) take() bool {
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

// give returns n slots.
func (b *stmtBudget) give(n int) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// inUse is the number of statements cached by the pool.
func (b *stmtBudget) inUse() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// stmtCache is a per-connection LRU of server-side prepared statements keyed by query text, so that
// db.Query(q, args...) costs one round trip (COM_STMT_EXECUTE) once q was prepared on the connection.
type stmtCache struct {
	max        int
	m          map[string]*cachedStmt
	head, tail *cachedStmt // most recently used at head
	// closeStmt closes a server statement the cache let go of (protocol.Conn.QueueCloseStmt: the
	// COM_STMT_CLOSE goes out in the same write as the next command).
	closeStmt func(id uint32)
	budget    *stmtBudget // shared by the Connector's connections (nil in some tests)
	pressure  uint64      // the budget's 1461 count this cache has answered
}

// cachedStmt is a prepared statement shared by the cache and the driver.Stmt values using it.
type cachedStmt struct {
	query    string
	st       *protocol.Stmt
	refs     int  // driver.Stmt values holding it
	closeNow bool // kept outside the cache because the pool\'s budget is spent: close it without delay
	// bound holds, per parameter, the kind of the first non-NULL value executed with this server statement
	// (0 = none yet). MySQL (and TiDB, Dolt) fix a parameter's type at that execution and convert later
	// values to it, whatever types COM_STMT_EXECUTE binds; see conn.execute.
	bound      []protocol.ParamKind
	cached     bool // still in the cache
	prev, next *cachedStmt
}

func newStmtCache(max int, budget *stmtBudget, closeStmt func(id uint32)) *stmtCache {
	return &stmtCache{max: max, m: make(map[string]*cachedStmt), closeStmt: closeStmt, budget: budget}
}

func (sc *stmtCache) unlink(e *cachedStmt) {
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

func (sc *stmtCache) pushFront(e *cachedStmt) {
	e.next = sc.head
	if sc.head != nil {
		sc.head.prev = e
	}
	sc.head = e
	if sc.tail == nil {
		sc.tail = e
	}
}

// get returns the cached statement for query, marking it most recently used. After another connection of the
// pool met the server's max_prepared_stmt_count, the cache first gives all its statements back.
func (sc *stmtCache) get(query string) *cachedStmt {
	if sc.budget != nil {
		if p := sc.budget.pressure.Load(); p != sc.pressure {
			sc.pressure = p
			sc.clear(false) // the COM_STMT_CLOSEs go out with the next command
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

// put adds a freshly prepared statement, evicting the least recently used ones beyond the limit. When the
// pool's budget is spent, the connection's own least recently used statement makes room; a connection with
// nothing cached keeps e outside the cache (put returns false: the caller owns e and closes it after use).
func (sc *stmtCache) put(e *cachedStmt) bool {
	if len(sc.m) >= sc.max && sc.tail != nil {
		sc.remove(sc.tail) // frees a budget slot too
	}
	for !sc.budget.take() {
		if sc.tail == nil {
			return false
		}
		sc.remove(sc.tail)
	}
	e.cached = true
	sc.m[e.query] = e
	sc.pushFront(e)
	for len(sc.m) > sc.max && sc.tail != nil {
		sc.remove(sc.tail)
	}
	return true
}

// remove drops e from the cache; the server statement is closed once no driver.Stmt uses it.
func (sc *stmtCache) remove(e *cachedStmt) {
	if !e.cached {
		return
	}
	sc.unlink(e)
	delete(sc.m, e.query)
	e.cached = false
	sc.budget.give(1)
	if e.refs == 0 {
		sc.closeStmt(e.st.ID)
	}
}

// release is called when a driver.Stmt using e is closed.
func (sc *stmtCache) release(e *cachedStmt) {
	e.refs--
	if e.refs == 0 && !e.cached {
		sc.closeStmt(e.st.ID)
	}
}

// clear drops every statement (after COM_RESET_CONNECTION the server has none left, so nothing is closed).
func (sc *stmtCache) clear(serverForgot bool) {
	for e := sc.head; e != nil; {
		next := e.next
		e.prev, e.next = nil, nil
		e.cached = false
		if e.refs == 0 && !serverForgot {
			sc.closeStmt(e.st.ID)
		}
		e = next
	}
	sc.budget.give(len(sc.m))
	sc.head, sc.tail = nil, nil
	clear(sc.m)
}

// serverFull tells the pool that the server refused a statement with 1461: every other connection gives its
// cached statements back at its next query (this one has already done so).
func (sc *stmtCache) serverFull() {
	if sc.budget != nil {
		sc.pressure = sc.budget.pressure.Add(1)
	}
}

// dropAllBut removes every cached statement except keep (under the server's max_prepared_stmt_count
// pressure) and reports how many it removed.
func (sc *stmtCache) dropAllBut(keep *cachedStmt) int {
	n := 0
	for e := sc.tail; e != nil; {
		prev := e.prev
		if e != keep {
			sc.remove(e)
			n++
		}
		e = prev
	}
	return n
}

func (sc *stmtCache) len() int { return len(sc.m) }
