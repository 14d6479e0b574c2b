package main

// The bulk-write comparison of issue 14: N rows of 6 columns written by go-sql-driver/mysql the ways its
// users do (single-row INSERTs in a transaction — the baseline —, a hand-built 1,000-row INSERT, LOAD DATA
// LOCAL from a Reader:: handler) and by rawmysql's CopyFrom and SendBatch, on loopback and through a proxy
// adding latency. Each contender writes into a freshly truncated table; the figure is the median round.
//
//	cd bench && go run . -bulk                       # 100,000 rows, loopback and 1 ms
//	go run . -bulk -bulk-rows 10000 -bulk-latency 0  # loopback only

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/rawmysql/rawmysql"
)

const bulkTable = "bench_bulk"

// lastAlloc is the bytes allocated per row by the last bulkOnce (the whole process: client and proxy).
var lastAlloc float64

// bulkFilter, when set, keeps only the contenders whose name contains it (and the baseline, unless
// bulkNoBaseline: with added latency the baseline alone takes minutes).
var (
	bulkFilter     string
	bulkNoBaseline bool
)

// bulkRow returns row i: BIGINT, INT, VARCHAR(64), DOUBLE, DATETIME(6), VARBINARY(32).
func bulkRow(i int, dst []any) []any {
	return append(dst[:0], int64(i), int32(i%100000), "name-"+strconv.Itoa(i)+"-abcdefghij", float64(i)*1.25,
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Second),
		[]byte{byte(i), byte(i >> 8), byte(i >> 16), 0x5c, 0x09, 'x'})
}

const bulkCreate = "CREATE TABLE " + bulkTable + " (id BIGINT PRIMARY KEY, a INT, b VARCHAR(64), c DOUBLE, d DATETIME(6), e VARBINARY(32)) ENGINE=InnoDB"

var bulkCols = []string{"id", "a", "b", "c", "d", "e"}

type bulkContender struct {
	name   string
	driver string
	run    func(ctx context.Context, db *sql.DB, n int) error
}

func bulkContenders() []bulkContender {
	ins1 := "INSERT INTO " + bulkTable + " (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)"
	return []bulkContender{
		{"single-row INSERTs in a tx", "mysql", func(ctx context.Context, db *sql.DB, n int) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			st, err := tx.PrepareContext(ctx, ins1)
			if err != nil {
				return err
			}
			var row []any
			for i := 0; i < n; i++ {
				row = bulkRow(i, row)
				if _, err := st.ExecContext(ctx, row...); err != nil {
					return err
				}
			}
			return tx.Commit()
		}},
		{"1,000-row INSERTs in a tx", "mysql", func(ctx context.Context, db *sql.DB, n int) error {
			return multiRowInsert(ctx, db, n, 1000)
		}},
		{"LOAD DATA LOCAL Reader::", "mysql", func(ctx context.Context, db *sql.DB, n int) error {
			name := "bench" + strconv.Itoa(int(readerSeq.Add(1)))
			mysql.RegisterReaderHandler(name, func() io.Reader { return &tsvReader{n: n} })
			defer mysql.DeregisterReaderHandler(name)
			_, err := db.ExecContext(ctx, "LOAD DATA LOCAL INFILE 'Reader::"+name+"' INTO TABLE "+bulkTable+
				" CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (id, a, b, c, d, e)")
			return err
		}},
		{"CopyFrom", "rawmysql", func(ctx context.Context, db *sql.DB, n int) error {
			i := 0
			var row []any
			got, err := rawmysql.CopyFrom(ctx, db, bulkTable, bulkCols, rawmysql.CopyFromFunc(func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				row = bulkRow(i, row)
				i++
				return row, nil
			}))
			if err == nil && got != int64(n) {
				err = fmt.Errorf("CopyFrom stored %d rows", got)
			}
			return err
		}},
		{"Batch (bulk execute)", "rawmysql", func(ctx context.Context, db *sql.DB, n int) error {
			return batchInsert(ctx, db, n, false)
		}},
		{"Batch in a tx", "rawmysql", func(ctx context.Context, db *sql.DB, n int) error {
			return batchInsert(ctx, db, n, true)
		}},
	}
}

var readerSeq atomic.Int64

// batchInsert queues n single-row INSERTs in batches of 10,000 statements (a Batch holds its arguments).
func batchInsert(ctx context.Context, db *sql.DB, n int, inTx bool) error {
	ins1 := "INSERT INTO " + bulkTable + " (id, a, b, c, d, e) VALUES (?, ?, ?, ?, ?, ?)"
	var target rawmysql.BatchTarget = db
	var tx *sql.Tx
	if inTx {
		var err error
		if tx, err = db.BeginTx(ctx, nil); err != nil {
			return err
		}
		defer tx.Rollback()
		target = tx
	}
	for start := 0; start < n; start += 10000 {
		b := &rawmysql.Batch{}
		for i := start; i < min(n, start+10000); i++ {
			b.Queue(ins1, bulkRow(i, nil)...)
		}
		if err := rawmysql.SendBatch(ctx, target, b).Err(); err != nil {
			return err
		}
	}
	if tx != nil {
		return tx.Commit()
	}
	return nil
}

// multiRowInsert writes n rows with prepared INSERTs of per rows each, in a transaction.
func multiRowInsert(ctx context.Context, db *sql.DB, n, per int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	q := func(rows int) string {
		return "INSERT INTO " + bulkTable + " (id, a, b, c, d, e) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?),", rows), ",")
	}
	st, err := tx.PrepareContext(ctx, q(per))
	if err != nil {
		return err
	}
	args := make([]any, 0, per*6)
	var row []any
	for start := 0; start < n; start += per {
		args = args[:0]
		cnt := min(per, n-start)
		for i := start; i < start+cnt; i++ {
			row = bulkRow(i, row)
			args = append(args, row...)
		}
		if cnt == per {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q(cnt), args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

// tsvReader produces the rows as LOAD DATA text, escaped by hand as a go-sql-driver user would.
type tsvReader struct {
	n, i int
	buf  []byte
	row  []any
}

func (r *tsvReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i < r.n {
		r.row = bulkRow(r.i, r.row)
		r.i++
		b := r.buf
		b = strconv.AppendInt(b, r.row[0].(int64), 10)
		b = append(b, '\t')
		b = strconv.AppendInt(b, int64(r.row[1].(int32)), 10)
		b = append(b, '\t')
		b = append(b, r.row[2].(string)...)
		b = append(b, '\t')
		b = strconv.AppendFloat(b, r.row[3].(float64), 'g', -1, 64)
		b = append(b, '\t')
		b = r.row[4].(time.Time).AppendFormat(b, "2006-01-02 15:04:05.999999")
		b = append(b, '\t')
		for _, c := range r.row[5].([]byte) {
			switch c {
			case '\\', '\t', '\n':
				b = append(b, '\\', map[byte]byte{'\\': '\\', '\t': 't', '\n': 'n'}[c])
			case 0:
				b = append(b, '\\', '0')
			default:
				b = append(b, c)
			}
		}
		b = append(b, '\n')
		r.buf = b
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// latencyProxy forwards TCP connections to target, holding every chunk for delay in each direction (so
// delay adds 2×delay to each round trip) without limiting the throughput.
type latencyProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
}

func newLatencyProxy(target string, delay time.Duration) (*latencyProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &latencyProxy{ln: ln, target: target, delay: delay}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); p.pipe(c, s) }()
			go func() { defer p.wg.Done(); p.pipe(s, c) }()
		}
	}()
	return p, nil
}

func (p *latencyProxy) Addr() string { return p.ln.Addr().String() }

func (p *latencyProxy) Close() { p.ln.Close(); p.wg.Wait() }

type chunk struct {
	at time.Time
	b  []byte
}

// pipe copies src to dst, each chunk delayed by p.delay from its arrival.
func (p *latencyProxy) pipe(src, dst net.Conn) {
	ch := make(chan chunk, 4096)
	go func() {
		defer close(ch)
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				ch <- chunk{time.Now().Add(p.delay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		if d := time.Until(c.at); d > 0 {
			time.Sleep(d)
		}
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	src.Close()
	dst.Close()
	for range ch {
	}
}

type bulkFigure struct {
	name, driver string
	rows         int
	dur          time.Duration
	heap         uint64  // peak live-heap growth during the run
	alloc        float64 // bytes allocated per row (median round's)
	err          error
}

// runBulk measures every contender over rounds (median), at each latency.
func runBulk(w io.Writer, dsn string, rows []int, latencies []time.Duration, rounds int) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	for _, lat := range latencies {
		addr := cfg.Addr
		var proxy *latencyProxy
		if lat > 0 {
			if proxy, err = newLatencyProxy(cfg.Addr, lat/2); err != nil {
				return err
			}
			addr = proxy.Addr()
		}
		c2 := cfg.Clone()
		c2.Addr = addr
		d := c2.FormatDSN()
		dbs := map[string]*sql.DB{}
		for _, drv := range []string{"mysql", "rawmysql"} {
			db, err := sql.Open(drv, d)
			if err != nil {
				return err
			}
			db.SetMaxOpenConns(4)
			defer db.Close()
			dbs[drv] = db
		}
		for _, n := range rows {
			var figs []bulkFigure
			for _, c := range bulkContenders() {
				isBase := c.name == "single-row INSERTs in a tx"
				if bulkFilter != "" && !strings.Contains(c.name, bulkFilter) && !isBase || isBase && bulkNoBaseline {
					continue
				}
				r := rounds
				if c.name == "single-row INSERTs in a tx" && lat > 0 {
					r = 1 // 100,000 round trips of latency each
				}
				var durs []time.Duration
				var heap uint64
				var allocs []float64
				var ferr error
				for i := 0; i < r; i++ {
					dur, h, err := bulkOnce(dbs[c.driver], c, n)
					if err != nil {
						ferr = err
						break
					}
					durs = append(durs, dur)
					allocs = append(allocs, lastAlloc)
					heap = max(heap, h)
				}
				f := bulkFigure{name: c.name, driver: c.driver, rows: n, heap: heap, err: ferr}
				if len(durs) > 0 {
					sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
					f.dur = durs[len(durs)/2]
					sort.Float64s(allocs)
					f.alloc = allocs[len(allocs)/2]
				}
				fmt.Fprintf(w, "# %v latency, %d rows, %s %s: %v %v\n", lat, n, c.driver, c.name, f.dur, ferr)
				figs = append(figs, f)
			}
			printBulk(w, lat, n, figs)
		}
		if proxy != nil {
			for _, db := range dbs {
				db.Close()
			}
			proxy.Close()
		}
	}
	return nil
}

// bulkOnce truncates the table and runs c once; it returns the duration and the peak heap growth.
func bulkOnce(db *sql.DB, c bulkContender, n int) (time.Duration, uint64, error) {
	ctx := context.Background()
	if _, err := db.Exec("DROP TABLE IF EXISTS " + bulkTable); err != nil {
		return 0, 0, err
	}
	if _, err := db.Exec(bulkCreate); err != nil {
		return 0, 0, err
	}
	runtime.GC()
	// Live heap (as of the last GC, no stop-the-world to read it) sampled during the run: what the run keeps
	// reachable, not the garbage between collections.
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBase := ms.TotalAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > base && v-base > peak.Load() {
					peak.Store(v - base)
				}
			}
		}
	}()
	start := time.Now()
	err := c.run(ctx, db, n)
	dur := time.Since(start)
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	lastAlloc = float64(ms.TotalAlloc-allocBase) / float64(n)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", c.name, err)
	}
	var got int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + bulkTable).Scan(&got); err != nil || got != n {
		return 0, 0, fmt.Errorf("%s: %d rows stored, want %d (%v)", c.name, got, n, err)
	}
	return dur, peak.Load(), nil
}

func printBulk(w io.Writer, lat time.Duration, n int, figs []bulkFigure) {
	var base time.Duration
	for _, f := range figs {
		if f.driver == "mysql" && f.name == "single-row INSERTs in a tx" {
			base = f.dur
		}
	}
	fmt.Fprintf(w, "\n%d rows x 6 columns, added round-trip latency %v\n", n, lat)
	fmt.Fprintf(w, "| %-9s | %-28s | %10s | %10s | %8s | %10s | %9s |\n", "driver", "method", "time", "rows/s", "vs base", "live heap", "B/row")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 11), strings.Repeat("-", 30), strings.Repeat("-", 12),
		strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 12), strings.Repeat("-", 11))
	for _, f := range figs {
		if f.err != nil {
			fmt.Fprintf(w, "| %-9s | %-28s | error: %v |\n", f.driver, f.name, f.err)
			continue
		}
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.1fx", float64(base)/float64(f.dur))
		}
		fmt.Fprintf(w, "| %-9s | %-28s | %10s | %10.0f | %8s | %7.1f MB | %9.0f |\n", f.driver, f.name, f.dur.Round(time.Millisecond),
			float64(n)/f.dur.Seconds(), ratio, float64(f.heap)/(1<<20), f.alloc)
	}
	fmt.Fprintln(w)
}

// bulkMain parses the -bulk flags, finds a server and runs the comparison; it returns the exit code.
func bulkMain(dsn, rowList, latList string, rounds int, filter string) int {
	bulkFilter = filter
	var rows []int
	for _, s := range strings.Split(rowList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Println("bench: bad -bulk-rows", s)
			return 2
		}
		rows = append(rows, n)
	}
	var lats []time.Duration
	for _, s := range strings.Split(latList, ",") {
		s = strings.TrimSpace(s)
		if s == "0" {
			lats = append(lats, 0)
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			fmt.Println("bench: bad -bulk-latency", s)
			return 2
		}
		lats = append(lats, d)
	}
	srv, err := findServer(dsn)
	if err != nil {
		fmt.Println("bench:", err)
		return 1
	}
	if srv.stop != nil {
		defer srv.stop()
	}
	fmt.Printf("# bulk writes on %s (go-sql-driver/mysql and rawmysql in the same run)\n", srv.desc)
	if err := runBulk(os.Stdout, srv.dsn, rows, lats, rounds); err != nil {
		fmt.Println("bench:", err)
		return 1
	}
	return 0
}
