package rawmysql

import (
	"github.com/rawmysql/rawmysql/protocol"
)

// stmtCache is a per-connection LRU of server-side prepared statements keyed by query text, so that
// db.Query(q, args...) costs one round trip (COM_STMT_EXECUTE) once q was prepared on the connection.
type stmtCache struct {
	max        int
	m          map[string]*cachedStmt
	head, tail *cachedStmt // most recently used at head
	// closeStmt closes a server statement the cache let go of (protocol.Conn.QueueCloseStmt: the
	// COM_STMT_CLOSE goes out in the same write as the next command).
	closeStmt func(id uint32)
}

// cachedStmt is a prepared statement shared by the cache and the driver.Stmt values using it.
type cachedStmt struct {
	query string
	st    *protocol.Stmt
	refs  int // driver.Stmt values holding it
	// bound holds, per parameter, the kind of the first non-NULL value executed with this server statement
	// (0 = none yet). MySQL (and TiDB, Dolt) fix a parameter's type at that execution and convert later
	// values to it, whatever types COM_STMT_EXECUTE binds; see conn.execute.
	bound      []protocol.ParamKind
	cached     bool // still in the cache
	prev, next *cachedStmt
}

func newStmtCache(max int, closeStmt func(id uint32)) *stmtCache {
	return &stmtCache{max: max, m: make(map[string]*cachedStmt), closeStmt: closeStmt}
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

// get returns the cached statement for query, marking it most recently used.
func (sc *stmtCache) get(query string) *cachedStmt {
	e := sc.m[query]
	if e != nil && sc.head != e {
		sc.unlink(e)
		sc.pushFront(e)
	}
	return e
}

// put adds a freshly prepared statement, evicting the least recently used ones beyond the limit.
func (sc *stmtCache) put(e *cachedStmt) {
	e.cached = true
	sc.m[e.query] = e
	sc.pushFront(e)
	for len(sc.m) > sc.max && sc.tail != nil {
		sc.remove(sc.tail)
	}
}

// remove drops e from the cache; the server statement is closed once no driver.Stmt uses it.
func (sc *stmtCache) remove(e *cachedStmt) {
	if !e.cached {
		return
	}
	sc.unlink(e)
	delete(sc.m, e.query)
	e.cached = false
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
	sc.head, sc.tail = nil, nil
	clear(sc.m)
}

func (sc *stmtCache) len() int { return len(sc.m) }
