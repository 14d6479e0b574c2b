package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/rawmysql/rawmysql"
)

// contender is one driver running one workload on one server.
type contender struct {
	server string // "mariadb", "replay" or "memory"
	driver string // "rawmysql", "mysql", "floor" or "null"
	run    func(n int) error
	stop   func()
	skip   string // why it does not run, if it does not
}

// group is one workload with every contender measured for it, alternating round by round.
type group struct {
	w  workload
	cs []*contender
}

// suite holds every group and what must be closed at the end.
type suite struct {
	srv       *server
	groups    []*group
	closers   []func()
	closeOnce sync.Once
}

// options select what a suite measures.
type options struct {
	dsn      string
	live     bool // against the real server
	replay   bool // against the replay server (plus floor and null driver)
	filter   func(name string) bool
	progress func(format string, args ...any)
}

var drivers = []string{"rawmysql", "mysql"}

// newSuite finds the server, creates the tables, records the replay answers and starts every contender.
func newSuite(o options) (*suite, error) {
	if o.progress == nil {
		o.progress = func(string, ...any) {}
	}
	srv, err := findServer(o.dsn)
	if err != nil {
		return nil, err
	}
	s := &suite{srv: srv}
	if srv.stop != nil {
		s.closers = append(s.closers, srv.stop)
	}
	ok := false
	defer func() {
		if !ok {
			s.close()
		}
	}()
	o.progress("server: %s (%s)", srv.desc, redact(srv.dsn))
	setup, err := sql.Open("mysql", srv.dsn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	err = setupSchema(ctx, setup)
	cancel()
	setup.Close()
	if err != nil {
		return nil, fmt.Errorf("creating the benchmark tables: %w", err)
	}
	var ws []workload
	for _, w := range workloads {
		if o.filter == nil || o.filter(w.name) {
			ws = append(ws, w)
		}
	}
	groups := make(map[string]*group)
	for _, w := range ws {
		g := &group{w: w}
		groups[w.name] = g
		s.groups = append(s.groups, g)
	}
	if o.live {
		for _, d := range drivers {
			t := &target{driver: d, dsn: srv.dsn}
			if t.db, err = t.open(); err != nil {
				return nil, err
			}
			s.closers = append(s.closers, func() { t.db.Close() })
			for _, w := range ws {
				groups[w.name].cs = append(groups[w.name].cs, s.start(w, t, "mariadb"))
			}
		}
	}
	if o.replay {
		if err := s.addReplay(ws, groups, o.progress); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

func (s *suite) start(w workload, t *target, server string) *contender {
	c := &contender{server: server, driver: t.driver}
	run, stop, err := w.start(t)
	if err != nil {
		c.skip = err.Error()
		return c
	}
	c.run, c.stop = run, stop
	if stop != nil {
		s.closers = append(s.closers, stop)
	}
	return c
}

// addReplay records every workload through a proxy to the real server, once per driver, then starts a replay
// server per driver, a floor client per single-connection workload, and the null driver.
func (s *suite) addReplay(ws []workload, groups map[string]*group, progress func(string, ...any)) error {
	cfg, err := mysql.ParseDSN(s.srv.dsn)
	if err != nil {
		return err
	}
	recs := make(map[string]*recording)
	ops := make(map[string][]*exchange) // rawmysql's commands for one operation of each workload
	for _, d := range drivers {
		progress("recording %s's exchanges with the server", d)
		rec := newRecording()
		proxy, err := startRecorder(cfg.Addr, rec)
		if err != nil {
			return err
		}
		pc := cfg.Clone()
		pc.Addr = proxy.addr()
		t := &target{driver: d, dsn: pc.FormatDSN()}
		if t.db, err = t.open(); err != nil {
			proxy.close()
			return err
		}
		for _, w := range ws {
			run, stop, err := w.start(t)
			if err == nil {
				warm := 2
				if w.rowsPer == 1 {
					warm = 2*pointIDs + 2
				}
				err = run(warm)
				rec.setCapture(true)
				if err == nil {
					err = run(1)
				}
				op := rec.setCapture(false)
				if d == "rawmysql" && w.single {
					ops[w.name] = op
				}
				if stop != nil {
					stop()
				}
			}
			if err != nil {
				t.db.Close()
				proxy.close()
				return fmt.Errorf("recording %q with %s: %w", w.name, d, err)
			}
		}
		t.db.Close()
		proxy.close()
		recs[d] = rec
	}
	replays := make(map[string]*replayServer)
	for _, d := range drivers {
		rs, err := startReplay(recs[d])
		if err != nil {
			return err
		}
		replays[d] = rs
		s.closers = append(s.closers, rs.close)
		pc := cfg.Clone()
		pc.Addr = rs.addr()
		t := &target{driver: d, dsn: pc.FormatDSN()}
		if t.db, err = t.open(); err != nil {
			return err
		}
		s.closers = append(s.closers, func() { t.db.Close() })
		for _, w := range ws {
			groups[w.name].cs = append(groups[w.name].cs, s.start(w, t, "replay"))
		}
	}
	for _, w := range ws {
		g := groups[w.name]
		fc := &contender{server: "replay", driver: "floor"}
		if op := ops[w.name]; w.single && len(op) > 0 {
			f, err := newFloorClient(replays["rawmysql"].addr(), recs["rawmysql"], op)
			if err != nil {
				return err
			}
			s.closers = append(s.closers, f.close)
			fc.run = f.run
		} else {
			fc.skip = "not a single-connection exchange"
		}
		g.cs = append(g.cs, fc)
	}
	t := &target{driver: "null", dsn: ""}
	if t.db, err = t.open(); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { t.db.Close() })
	for _, w := range ws {
		groups[w.name].cs = append(groups[w.name].cs, s.start(w, t, "memory"))
	}
	s.closers = append(s.closers, func() {
		for d, rs := range replays {
			if err := rs.err(); err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", d, err)
			}
		}
	})
	return nil
}

func (s *suite) close() {
	s.closeOnce.Do(func() {
		for i := len(s.closers) - 1; i >= 0; i-- {
			s.closers[i]()
		}
	})
}

func redact(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.Passwd == "" {
		return dsn
	}
	cfg.Passwd = "xxx"
	return cfg.FormatDSN()
}

// sample is one measurement of a contender.
type sample struct {
	nsPerOp, allocsPerOp, bytesPerOp float64
}

// measure runs n operations and reads the time and the allocations they took.
func measure(run func(int) error, n int) (sample, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	err := run(n)
	d := time.Since(t0)
	runtime.ReadMemStats(&m1)
	return sample{
		nsPerOp:     float64(d.Nanoseconds()) / float64(n),
		allocsPerOp: float64(m1.Mallocs-m0.Mallocs) / float64(n),
		bytesPerOp:  float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
	}, err
}

// calibrate warms a contender up and returns how many operations take about d.
func calibrate(run func(int) error, d time.Duration) (int, error) {
	if err := run(1); err != nil {
		return 0, err
	}
	n := 1
	for {
		t0 := time.Now()
		if err := run(n); err != nil {
			return 0, err
		}
		el := time.Since(t0)
		if el >= d/10 || n >= 1<<24 {
			per := float64(el) / float64(n)
			k := int(float64(d) / per)
			return max(1, min(k, 1<<26)), nil
		}
		n *= 4
	}
}

// result is a contender's rounds and their median.
type result struct {
	c      *contender
	rounds []sample // by round; nsPerOp 0 where the round failed
	med    sample
	err    error
}

// runGroup measures every contender of g for rounds rounds of about d each, alternating the order round by
// round, and returns each contender's rounds and median round.
func runGroup(g *group, rounds int, d time.Duration) []result {
	res := make([]result, len(g.cs))
	ns := make([]int, len(g.cs))
	for i, c := range g.cs {
		res[i].c = c
		res[i].rounds = make([]sample, rounds)
		if c.run == nil {
			continue
		}
		ns[i], res[i].err = calibrate(c.run, d)
	}
	for r := 0; r < rounds; r++ {
		for k := range g.cs {
			i := k
			if r%2 == 1 {
				i = len(g.cs) - 1 - k
			}
			c := g.cs[i]
			if c.run == nil || res[i].err != nil {
				continue
			}
			s, err := measure(c.run, ns[i])
			if err != nil {
				res[i].err = err
				continue
			}
			res[i].rounds[r] = s
		}
	}
	for i := range res {
		var ss []sample
		for _, s := range res[i].rounds {
			if s.nsPerOp > 0 {
				ss = append(ss, s)
			}
		}
		if len(ss) == 0 {
			continue
		}
		sort.Slice(ss, func(a, b int) bool { return ss[a].nsPerOp < ss[b].nsPerOp })
		res[i].med = ss[len(ss)/2]
	}
	return res
}

// pairedSpeed is the median over rounds of ref's time divided by r's time in the same round: contenders of
// a round run back to back, so load that drifts during the run cancels out of each round's ratio.
func pairedSpeed(r, ref result) float64 {
	var q []float64
	for i := range r.rounds {
		if i < len(ref.rounds) && r.rounds[i].nsPerOp > 0 && ref.rounds[i].nsPerOp > 0 {
			q = append(q, ref.rounds[i].nsPerOp/r.rounds[i].nsPerOp)
		}
	}
	if len(q) == 0 {
		return 0
	}
	sort.Float64s(q)
	if len(q)%2 == 0 {
		return (q[len(q)/2-1] + q[len(q)/2]) / 2
	}
	return q[len(q)/2]
}
