package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The cancel storm: N goroutines share a small pool; half of their operations carry a random deadline that
// often ends while the statement runs on the server, the other half have no deadline and must all succeed.
// Per driver it reports how long a cancelled call took to return after its deadline (p50/p99/max), the
// throughput of completed operations, the failures of operations without a deadline, and the goroutines and
// file descriptors left once db.Close has returned (after a settle period for background work).

// stormConfig describes one storm.
type stormConfig struct {
	goroutines int
	pool       int
	duration   time.Duration
	maxSleep   time.Duration // statements sleep uniformly in [1ms, maxSleep]
	maxTimeout time.Duration // deadlines are uniform in [1ms, maxTimeout]
	settle     time.Duration // how long to wait for goroutines to end after db.Close
	warmup     time.Duration // unmeasured storm per driver before the rounds (0: none)
}

// stormResult is one driver's storm.
type stormResult struct {
	driver           string
	ops              int64 // completed operations (no error)
	cancelled        int64 // operations that returned their context's error
	failed           int64 // operations without a deadline that failed
	otherErrs        int64 // operations with a deadline that failed with another error than the context's
	firstFailure     error // of an operation without a deadline
	firstOther       error // of an operation with a deadline, other than the context's error
	elapsed          time.Duration
	p50, p99, max    time.Duration // cancel-to-return: return time minus deadline
	leakedGoroutines int
	leakedFDs        int
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// runStorm runs one storm with driverName on dsn.
func runStorm(driverName, dsn string, cfg stormConfig) (stormResult, error) {
	res := stormResult{driver: driverName}
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), countFDs()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return res, err
	}
	db.SetMaxOpenConns(cfg.pool)
	db.SetMaxIdleConns(cfg.pool)
	if err := db.Ping(); err != nil {
		db.Close()
		return res, err
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		ops       atomic.Int64
		cancelled atomic.Int64
		failed    atomic.Int64
		other     atomic.Int64
		firstErr  error
		firstOth  error
	)
	stop := time.Now().Add(cfg.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < cfg.goroutines; i++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			var local []time.Duration
			for time.Now().Before(stop) {
				sleep := time.Millisecond + time.Duration(rng.Int63n(int64(cfg.maxSleep)))
				q := fmt.Sprintf("SELECT SLEEP(%.3f)", sleep.Seconds())
				if rng.Intn(2) == 0 {
					// No deadline: must succeed.
					var v int
					if err := db.QueryRowContext(context.Background(), "SELECT ?", 7).Scan(&v); err != nil || v != 7 {
						failed.Add(1)
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("SELECT ? = %d: %w", v, err)
						}
						mu.Unlock()
						continue
					}
					ops.Add(1)
					continue
				}
				timeout := time.Millisecond + time.Duration(rng.Int63n(int64(cfg.maxTimeout)))
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				deadline, _ := ctx.Deadline()
				var v int
				err := db.QueryRowContext(ctx, q).Scan(&v)
				returned := time.Now()
				cancel()
				switch {
				case err == nil:
					ops.Add(1)
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
					local = append(local, max(returned.Sub(deadline), 0))
				default:
					other.Add(1)
					mu.Lock()
					if firstOth == nil {
						firstOth = fmt.Errorf("%s with a deadline: %w", q, err)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}(int64(i) + 1)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	db.Close()
	// Background work (a KILL side connection, a drain) ends within its own timeouts: wait for it.
	settle := time.Now().Add(cfg.settle)
	for {
		runtime.GC()
		res.leakedGoroutines = runtime.NumGoroutine() - g0
		res.leakedFDs = countFDs() - fd0
		if (res.leakedGoroutines <= 0 && res.leakedFDs <= 0) || time.Now().After(settle) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.leakedGoroutines = max(res.leakedGoroutines, 0)
	res.leakedFDs = max(res.leakedFDs, 0)
	res.ops, res.cancelled, res.failed, res.otherErrs, res.firstFailure, res.firstOther = ops.Load(), cancelled.Load(), failed.Load(), other.Load(), firstErr, firstOth
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if n := len(latencies); n > 0 {
		res.p50 = latencies[n/2]
		res.p99 = latencies[min(n-1, n*99/100)]
		res.max = latencies[n-1]
	}
	return res, nil
}

// stormMain runs rounds of the storm, alternating the drivers (rawmysql and go-sql-driver by default), and
// prints one line per run. A fresh server is slower at first (its thread cache is empty): each driver first
// runs an unmeasured warm-up storm of cfg.warmup, and the order of the drivers is reversed every other round,
// so neither is always the first on the server.
func stormMain(w io.Writer, dsn string, cfg stormConfig, rounds int, drivers []string) error {
	if cfg.warmup > 0 {
		wcfg := cfg
		wcfg.duration = cfg.warmup
		for _, d := range drivers {
			if _, err := runStorm(d, dsn, wcfg); err != nil {
				return fmt.Errorf("%s warm-up: %w", d, err)
			}
		}
	}
	fmt.Fprintf(w, "cancel storm: %d goroutines, pool %d, %v per run, statements sleep 1ms..%v, deadlines 1ms..%v\n",
		cfg.goroutines, cfg.pool, cfg.duration, cfg.maxSleep, cfg.maxTimeout)
	fmt.Fprintf(w, "%-9s %5s %10s %9s %9s %9s %9s %9s %9s %9s %6s\n",
		"driver", "round", "ops/s", "cancels", "p50", "p99", "max", "failures", "otherErr", "goroutns", "fds")
	for r := 1; r <= rounds; r++ {
		order := drivers
		if r%2 == 0 {
			order = make([]string, len(drivers))
			for i, d := range drivers {
				order[len(drivers)-1-i] = d
			}
		}
		for _, d := range order {
			res, err := runStorm(d, dsn, cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", d, err)
			}
			fmt.Fprintf(w, "%-9s %5d %10.0f %9d %9s %9s %9s %9d %9d %9d %6d\n", d, r,
				float64(res.ops)/res.elapsed.Seconds(), res.cancelled,
				res.p50.Round(10*time.Microsecond), res.p99.Round(10*time.Microsecond), res.max.Round(10*time.Microsecond),
				res.failed, res.otherErrs, res.leakedGoroutines, res.leakedFDs)
			if res.firstFailure != nil {
				fmt.Fprintf(w, "          first failure without a deadline: %v\n", res.firstFailure)
			}
			if res.firstOther != nil {
				fmt.Fprintf(w, "          first other error with a deadline: %v\n", res.firstOther)
			}
		}
	}
	return nil
}
