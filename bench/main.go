// Command bench compares rawmysql with github.com/go-sql-driver/mysql through database/sql on the same
// server and prints one table.
//
//	cd bench && go run .            # private mariadbd (or RAWMYSQL_BENCH_DSN / -dsn)
//	go run . -run scan -rounds 7    # only the workloads matching a regexp
//	go run . -storm                 # the cancel storm instead (see storm.go)
//
// Every workload runs against the real server ("mariadb") and against a replay server that answers with the
// bytes the real server sent ("replay", the client's own cost). The replay group adds a floor client that
// drains the same bytes without decoding them (the wire limit) and a null database/sql driver answering from
// memory (the cost of database/sql itself). Contenders alternate round by round; each figure is the median
// round, and "speed" is the median of the per-round ratios to go-sql-driver on the same server.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

func main() {
	dsn := flag.String("dsn", "", "server DSN in go-sql-driver grammar (default $"+envDSN+", else a private mariadbd)")
	rounds := flag.Int("rounds", 7, "rounds per workload; contenders alternate within a round")
	per := flag.Duration("time", 300*time.Millisecond, "approximate duration of one contender's round")
	run := flag.String("run", "", "only workloads whose name matches this regexp")
	live := flag.Bool("live", true, "measure against the real server")
	replay := flag.Bool("replay", true, "measure against the replay server, with the floor client and the null driver")
	storm := flag.Bool("storm", false, "run the cancel storm (see storm.go) instead of the workloads")
	stormN := flag.Int("storm-goroutines", 1000, "cancel storm: goroutines")
	stormPool := flag.Int("storm-pool", 10, "cancel storm: pool size (SetMaxOpenConns)")
	stormTime := flag.Duration("storm-time", 10*time.Second, "cancel storm: duration of one driver's run")
	stormRounds := flag.Int("storm-rounds", 2, "cancel storm: runs per driver, alternating")
	bulk := flag.Bool("bulk", false, "run the bulk-write comparison (see bulk.go) instead of the workloads")
	bulkRows := flag.String("bulk-rows", "100000", "bulk: comma-separated row counts")
	bulkLat := flag.String("bulk-latency", "0,1ms", "bulk: comma-separated added round-trip latencies")
	bulkRounds := flag.Int("bulk-rounds", 3, "bulk: rounds per contender (median)")
	flag.BoolVar(&bulkNoBaseline, "bulk-no-baseline", false, "bulk: skip the baseline (single-row INSERTs; minutes with added latency)")
	stormDrivers := flag.String("storm-drivers", "rawmysql,mysql", "cancel storm: comma-separated drivers to run, in order")
	stormWarmup := flag.Duration("storm-warmup", 3*time.Second, "cancel storm: unmeasured warm-up storm per driver before the rounds")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run (storm or workloads) to this file")
	flag.Parse()

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer stop()
	}

	if *bulk {
		os.Exit(bulkMain(*dsn, *bulkRows, *bulkLat, *bulkRounds, *run))
	}

	if *storm {
		srv, err := findServer(*dsn)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		cfg := stormConfig{goroutines: *stormN, pool: *stormPool, duration: *stormTime,
			maxSleep: 100 * time.Millisecond, maxTimeout: 50 * time.Millisecond, settle: 15 * time.Second, warmup: *stormWarmup}
		fmt.Fprintf(os.Stderr, "bench: cancel storm on %s\n", srv.desc)
		err = stormMain(os.Stdout, srv.dsn, cfg, *stormRounds, strings.Split(*stormDrivers, ","))
		if srv.stop != nil {
			srv.stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1) // no profile: the run failed
		}
		return
	}

	o := options{dsn: *dsn, live: *live, replay: *replay, progress: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+f+"\n", a...)
	}}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(2)
		}
		o.filter = re.MatchString
	}
	s, err := newSuite(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer s.close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { // stop a private server on ^C too
		<-sig
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		s.close()
		os.Exit(130)
	}()
	var all [][]result
	for _, g := range s.groups {
		fmt.Fprintf(os.Stderr, "bench: %s\n", g.w.name)
		all = append(all, runGroup(g, *rounds, *per))
	}
	printTable(os.Stdout, s.groups, all)
}

// printTable writes one line per contender. rows/s, ns/op, allocs/op and B/op are the contender's median round.
// "speed" compares with go-sql-driver on the same server: the median over rounds of mysql's time divided by
// this contender's time in the same round. "allocs" is this contender's allocs/op divided by mysql's.
func printTable(w io.Writer, groups []*group, all [][]result) {
	fmt.Fprintf(w, "%-24s %-7s %-9s %12s %11s %10s %11s %7s %7s\n",
		"workload", "server", "driver", "ns/op", "rows/s", "allocs/op", "B/op", "speed", "allocs")
	fmt.Fprintln(w, strings.Repeat("-", 106))
	for gi, g := range groups {
		res := all[gi]
		ref := map[string]result{}
		for _, r := range res {
			if r.c.driver == "mysql" && r.err == nil && r.med.nsPerOp > 0 {
				ref[r.c.server] = r
			}
		}
		for _, r := range res {
			line := fmt.Sprintf("%-24s %-7s %-9s ", g.w.name, r.c.server, r.c.driver)
			switch {
			case r.c.skip != "":
				fmt.Fprintf(w, "%s%12s\n", line, "-")
				continue
			case r.err != nil:
				fmt.Fprintf(w, "%serror: %v\n", line, r.err)
				continue
			case r.med.nsPerOp == 0:
				fmt.Fprintf(w, "%s%12s\n", line, "-")
				continue
			}
			m := r.med
			rows := "-"
			if g.w.rowsPer > 0 {
				rows = fmt.Sprintf("%.0f", float64(g.w.rowsPer)*1e9/m.nsPerOp)
			}
			refServer := r.c.server
			if refServer == "memory" {
				refServer = "replay"
			}
			speed, allocs := "", ""
			if ref, ok := ref[refServer]; ok && r.c.driver != "mysql" {
				speed = fmt.Sprintf("%.2fx", pairedSpeed(r, ref))
				if ref.med.allocsPerOp > 0 {
					allocs = fmt.Sprintf("%.2fx", m.allocsPerOp/ref.med.allocsPerOp)
				}
			}
			fmt.Fprintf(w, "%s%12.0f %11s %10s %11.0f %7s %7s\n", line, m.nsPerOp, rows, fmtAllocs(m.allocsPerOp),
				m.bytesPerOp, speed, allocs)
		}
	}
}

func fmtAllocs(a float64) string {
	if a >= 100 {
		return fmt.Sprintf("%.0f", a)
	}
	return fmt.Sprintf("%.2f", a)
}
