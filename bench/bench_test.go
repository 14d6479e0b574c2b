package main

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// go test -bench runs the same workloads and contenders as the program, one sub-benchmark each:
//
//	go test -bench 'Drivers/scan_100k×6_typed/replay' -benchmem -cpuprofile cpu.out
//
// -bench.live=false or -bench.replay=false leave one server out; -bench.workloads narrows the set that is
// prepared (recording every workload for the replay server takes a while).
var (
	benchLive      = flag.Bool("bench.live", true, "benchmark against the real server")
	benchReplay    = flag.Bool("bench.replay", true, "benchmark against the replay server, floor client and null driver")
	benchWorkloads = flag.String("bench.workloads", "", "regexp of the workloads to prepare")
)

var (
	suiteOnce sync.Once
	theSuite  *suite
	suiteErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theSuite != nil {
		theSuite.close()
	}
	os.Exit(code)
}

func getSuite(b *testing.B) *suite {
	suiteOnce.Do(func() {
		o := options{live: *benchLive, replay: *benchReplay, progress: b.Logf}
		if *benchWorkloads != "" {
			re, err := regexp.Compile(*benchWorkloads)
			if err != nil {
				suiteErr = err
				return
			}
			o.filter = re.MatchString
		}
		theSuite, suiteErr = newSuite(o)
	})
	if suiteErr != nil {
		b.Fatal(suiteErr)
	}
	return theSuite
}

func BenchmarkDrivers(b *testing.B) {
	s := getSuite(b)
	for _, g := range s.groups {
		b.Run(strings.ReplaceAll(g.w.name, " ", "_"), func(b *testing.B) {
			for _, c := range g.cs {
				b.Run(c.server+"/"+c.driver, func(b *testing.B) {
					if c.run == nil {
						b.Skip(c.skip)
					}
					b.ReportAllocs()
					if err := c.run(1); err != nil { // warm up: connections, prepared statements
						b.Fatal(err)
					}
					b.ResetTimer()
					cpu := processCPU()
					if err := c.run(b.N); err != nil {
						b.Fatal(err)
					}
					if cpu > 0 {
						// The process's CPU time (the client, and the replay server when it answers):
						// less disturbed than ns/op by other load on the machine.
						b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
					}
					if g.w.rowsPer > 0 {
						b.ReportMetric(float64(g.w.rowsPer)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
					}
				})
			}
		})
	}
}
