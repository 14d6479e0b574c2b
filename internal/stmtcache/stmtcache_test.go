package stmtcache

import (
	"fmt"
	"testing"

	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The pool-wide budget: two connections' caches share three slots; a connection makes room by evicting its own
// statements, one with nothing cached prepares outside the cache, and slots come back when statements leave.
func TestStmtCacheBudgetShared(t *testing.T) {
	b := NewBudget(3)
	var closed []uint32
	closeStmt := func(id uint32) { closed = append(closed, id) }
	a, c := New(10, b, closeStmt), New(10, b, closeStmt)
	st := func(q string, id uint32) *Entry { return &Entry{Query: q, Stmt: &protocol.Stmt{ID: id}} }

	require.True(t, a.Put(st("a1", 1)))
	require.True(t, a.Put(st("a2", 2)))
	require.True(t, a.Put(st("a3", 3)))
	assert.Equal(t, 3, b.InUse())
	assert.False(t, c.Put(st("c1", 11)), "budget spent and nothing of c's own to evict: outside the cache")
	assert.Equal(t, 0, c.Len())
	assert.Empty(t, closed)

	require.True(t, a.Put(st("a4", 4)), "a evicts its own least recently used statement")
	assert.Equal(t, []uint32{1}, closed)
	assert.Equal(t, 3, b.InUse())
	assert.Equal(t, 3, a.Len())

	a.Remove(a.m["a2"])
	assert.Equal(t, 2, b.InUse())
	require.True(t, c.Put(st("c1", 11)), "a freed slot is usable by another connection")
	assert.Equal(t, 3, b.InUse())

	a.Clear(true)
	assert.Equal(t, 1, b.InUse())
	assert.Equal(t, 1, c.DropAllBut(nil))
	assert.Equal(t, 0, b.InUse())

	// The pool's 1461 signal: c gives its statements back at its next lookup, a (which signalled) keeps going.
	require.True(t, a.Put(st("a5", 5)))
	require.True(t, c.Put(st("c2", 12)))
	closed = nil
	a.ServerFull()
	assert.NotNil(t, a.Get("a5"))
	assert.Nil(t, c.Get("c2"), "c cleared its cache")
	assert.Equal(t, []uint32{12}, closed)
	assert.Equal(t, 0, c.Len())
	assert.Equal(t, 1, b.InUse())
	assert.NotNil(t, a.Get("a5"))

	unbounded := New(2, nil, closeStmt)
	for i := range 5 {
		require.True(t, unbounded.Put(st(fmt.Sprint("u", i), uint32(100+i))))
	}
	assert.Equal(t, 2, unbounded.Len(), "the per-connection limit still applies")
}

// keys lists the cached queries from most to least recently used, checking the list's links on the way.
func keys(t testing.TB, sc *Cache) []string {
	t.Helper()
	var out []string
	var prev *Entry
	for e := sc.head; e != nil; e = e.next {
		require.Same(t, prev, e.prev, "prev link of %q", e.Query)
		require.True(t, e.cached, "%q in the list but not marked cached", e.Query)
		require.Same(t, e, sc.m[e.Query], "%q in the list but not in the map", e.Query)
		out = append(out, e.Query)
		prev = e
	}
	require.Same(t, prev, sc.tail, "tail")
	require.Len(t, sc.m, len(out), "map and list hold the same statements")
	return out
}

func TestCacheLRU(t *testing.T) {
	type op struct {
		do    string // put, get, remove
		query string
	}
	tests := []struct {
		name   string
		max    int
		ops    []op
		want   []string // most recently used first
		closed []uint32 // statement ids closed, in order (id = position of the put in ops + 1)
	}{
		{"put orders by recency", 3, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"c", "b", "a"}, nil},
		{"get moves to the front", 3, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}, {"get", "a"}}, []string{"a", "c", "b"}, nil},
		{"get of the head keeps the order", 3, []op{{"put", "a"}, {"put", "b"}, {"get", "b"}}, []string{"b", "a"}, nil},
		{"get of a missing query changes nothing", 2, []op{{"put", "a"}, {"get", "x"}}, []string{"a"}, nil},
		{"the least recently used is evicted and closed", 2, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"c", "b"}, []uint32{1}},
		{"a get saves a statement from eviction", 2, []op{{"put", "a"}, {"put", "b"}, {"get", "a"}, {"put", "c"}}, []string{"c", "a"}, []uint32{2}},
		{"remove closes", 3, []op{{"put", "a"}, {"put", "b"}, {"remove", "a"}}, []string{"b"}, []uint32{1}},
		{"remove of the middle relinks", 3, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}, {"remove", "b"}}, []string{"c", "a"}, []uint32{2}},
		{"size one", 1, []op{{"put", "a"}, {"put", "b"}, {"put", "c"}}, []string{"c"}, []uint32{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closed []uint32
			sc := New(tt.max, nil, func(id uint32) { closed = append(closed, id) })
			entries := map[string]*Entry{}
			for i, o := range tt.ops {
				switch o.do {
				case "put":
					e := &Entry{Query: o.query, Stmt: &protocol.Stmt{ID: uint32(i + 1)}}
					entries[o.query] = e
					require.True(t, sc.Put(e))
				case "get":
					got := sc.Get(o.query)
					if e := entries[o.query]; e != nil && e.cached {
						require.Same(t, e, got)
					} else {
						require.Nil(t, got)
					}
				case "remove":
					sc.Remove(entries[o.query])
				}
			}
			assert.Equal(t, tt.want, keys(t, sc))
			assert.Equal(t, tt.closed, closed)
			assert.Equal(t, len(tt.want), sc.Len())
			for _, q := range tt.want {
				assert.True(t, sc.Contains(q))
			}
		})
	}
}

// A statement held by a driver.Stmt (Refs > 0) is closed only when the last holder releases it, however it
// left the cache; Clear(true) (the server forgot its statements) closes nothing.
func TestCacheRefs(t *testing.T) {
	var closed []uint32
	sc := New(2, nil, func(id uint32) { closed = append(closed, id) })
	a := &Entry{Query: "a", Stmt: &protocol.Stmt{ID: 1}}
	require.True(t, sc.Put(a))
	a.Refs += 2 // two driver.Stmt values
	require.True(t, sc.Put(&Entry{Query: "b", Stmt: &protocol.Stmt{ID: 2}}))
	require.True(t, sc.Put(&Entry{Query: "c", Stmt: &protocol.Stmt{ID: 3}}))
	assert.Equal(t, []string{"c", "b"}, keys(t, sc), "a evicted")
	assert.Empty(t, closed, "a is still used")
	sc.Release(a)
	assert.Empty(t, closed)
	sc.Release(a)
	assert.Equal(t, []uint32{1}, closed, "closed once its last user let go")

	sc.Remove(a) // not cached: nothing happens
	assert.Equal(t, []uint32{1}, closed)

	b := sc.Get("b")
	b.Refs++
	sc.Clear(false)
	assert.Equal(t, []uint32{1, 3}, closed, "c closed at once, b when released")
	assert.Empty(t, keys(t, sc))
	sc.Release(b)
	assert.Equal(t, []uint32{1, 3, 2}, closed)

	require.True(t, sc.Put(&Entry{Query: "d", Stmt: &protocol.Stmt{ID: 4}}))
	sc.Clear(true)
	assert.Equal(t, []uint32{1, 3, 2}, closed, "the server forgot d: nothing to close")
	assert.Zero(t, sc.Len())
}

func TestEntryFitsBind(t *testing.T) {
	p := func(kinds ...protocol.ParamKind) []protocol.Param {
		ps := make([]protocol.Param, len(kinds))
		for i, k := range kinds {
			ps[i].Kind = k
		}
		return ps
	}
	tests := []struct {
		name  string
		bound []protocol.Param // executions so far, in order
		next  []protocol.Param
		fits  bool
	}{
		{"never executed", nil, p(protocol.ParamString), true},
		{"same kinds", []protocol.Param{}, p(protocol.ParamInt), true},
		{"string after int", p(protocol.ParamInt), p(protocol.ParamString), false},
		{"NULL fits any bound kind", p(protocol.ParamInt), p(protocol.ParamNull), true},
		{"anything fits a NULL-only position", p(protocol.ParamNull), p(protocol.ParamDouble), true},
		{"long data binds as bytes", p(protocol.ParamLongData), p(protocol.ParamBytes), true},
		{"bytes after long data", p(protocol.ParamBytes), p(protocol.ParamLongData), true},
		{"string after long data", p(protocol.ParamLongData), p(protocol.ParamString), false},
		{"another parameter count", p(protocol.ParamInt), p(protocol.ParamInt, protocol.ParamInt), false},
		{"second position differs", p(protocol.ParamInt, protocol.ParamString), p(protocol.ParamInt, protocol.ParamUint), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Entry{}
			if tt.bound != nil {
				e.Bind(tt.bound)
			}
			assert.Equal(t, tt.fits, e.Fits(tt.next))
		})
	}
	// The first non-NULL kind sticks: a NULL execution does not bind, a later one does, and later kinds do not
	// replace it.
	e := &Entry{}
	e.Bind(p(protocol.ParamNull))
	e.Bind(p(protocol.ParamInt))
	e.Bind(p(protocol.ParamString))
	assert.Equal(t, []protocol.ParamKind{protocol.ParamInt}, e.Bound)
}

// FuzzCacheInvariants runs random operations on two caches sharing a budget and checks, after each, the LRU
// list against the map and a model of the recency order, the budget against what is cached, the size limits,
// and at the end that every statement the caches took was closed exactly once and only when no one used it.
func FuzzCacheInvariants(f *testing.F) {
	f.Add([]byte{0x00, 0x06, 0x0c, 0x12, 0x01, 0x07, 0x03, 0x09, 0x04, 0x05, 0x0b})
	f.Add([]byte("put and get and release and clear"))
	f.Add([]byte{0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		const maxPer, total = 3, 4
		budget := NewBudget(total)
		closes := map[uint32]int{}
		var entries []*Entry
		caches := make([]*Cache, 2)
		models := make([][]string, 2) // recency order of each cache, most recent first
		for i := range caches {
			caches[i] = New(maxPer, budget, func(id uint32) {
				e := entries[id-1]
				require.Zero(t, e.Refs, "statement %d closed while a driver.Stmt uses it", id)
				require.False(t, e.cached, "statement %d closed while cached", id)
				closes[id]++
				require.Equal(t, 1, closes[id], "statement %d closed twice", id)
			})
		}
		owned := map[*Entry]bool{}     // kept outside the caches: the caller closes them
		forgotten := map[*Entry]bool{} // dropped by the server itself
		var held []*Entry              // one entry per driver.Stmt holding a reference
		for _, b := range ops {
			ci := int(b>>7) & 1
			sc := caches[ci]
			query := fmt.Sprint("q", (b>>3)&7)
			switch b & 7 {
			case 0, 1: // prepare: the driver looks the query up, else prepares and caches it
				if sc.Get(query) == nil {
					e := &Entry{Query: query, Stmt: &protocol.Stmt{ID: uint32(len(entries) + 1)}}
					entries = append(entries, e)
					if !sc.Put(e) {
						owned[e] = true
					}
				}
			case 2: // a driver.Stmt takes the cached statement
				if e := sc.Get(query); e != nil {
					e.Refs++
					held = append(held, e)
				}
			case 3: // the oldest driver.Stmt is closed
				if len(held) > 0 {
					e := held[0]
					held = held[1:]
					for _, c := range caches {
						if c.m[e.Query] == e || !e.cached {
							c.Release(e)
							break
						}
					}
				}
			case 4:
				if e := sc.m[query]; e != nil {
					sc.Remove(e)
				}
			case 5:
				forgot := b&0x40 != 0 && len(held) == 0
				if forgot { // COM_RESET_CONNECTION: the server dropped the statements, nothing to close
					for _, e := range sc.m {
						forgotten[e] = true
					}
				}
				sc.Clear(forgot)
			case 6: // the server's max_prepared_stmt_count: this connection drops all but one, the pool follows
				sc.DropAllBut(sc.m[query])
				sc.ServerFull()
			case 7:
				sc.Contains(query)
			}
			// The model: rebuilt from the list, checked against the map; the budget counts both caches.
			used := 0
			for i, c := range caches {
				models[i] = keys(t, c)
				require.LessOrEqual(t, len(models[i]), maxPer)
				used += len(models[i])
			}
			require.Equal(t, used, budget.InUse(), "budget slots = cached statements")
			require.LessOrEqual(t, used, total)
		}
		// Everything ends: the connections' caches are cleared, the driver.Stmt values closed.
		for _, c := range caches {
			c.Clear(false)
		}
		for _, e := range held {
			caches[0].Release(e)
		}
		require.Zero(t, budget.InUse())
		for _, e := range entries {
			if owned[e] || forgotten[e] {
				require.Zero(t, closes[e.Stmt.ID], "an owned statement is the caller's to close, a forgotten one is gone")
				continue
			}
			require.Equal(t, 1, closes[e.Stmt.ID], "statement %d (%s) not closed exactly once", e.Stmt.ID, e.Query)
		}
	})
}
