package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Table sizes and queries shared by every workload.
const (
	scanRows     = 100_000
	pointIDs     = 32 // point SELECTs cycle through this many ids (so a replay server knows every answer)
	insertsPerTx = 100
	parallelism  = 8
	bigValueSize = 16 << 20

	select1Query = "SELECT 1"
	pointQuery   = "SELECT id, n, f, s, b, t FROM bench_rows WHERE id = ?"
	scanQuery    = "SELECT id, n, f, s, b, t FROM bench_rows"
	insertQuery  = "INSERT INTO bench_ins (a, s) VALUES (?, ?)"
	bigQuery     = "SELECT ?"
)

// workload is one measured operation. start opens what the operation needs on db (a prepared statement, a
// second pool for connect+ping) and returns run, which performs n operations.
type workload struct {
	name     string
	rowsPer  int  // rows produced or written per operation (0: none)
	parallel bool // run uses several goroutines
	single   bool // one connection, deterministic commands: a floor client can replay it
	start    func(t *target) (run func(n int) error, stop func(), err error)
}

// target is one driver on one server, with its pool.
type target struct {
	driver string // "rawmysql", "mysql" or "null"
	dsn    string
	db     *sql.DB
}

func (t *target) open() (*sql.DB, error) {
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(parallelism + 2)
	db.SetMaxOpenConns(parallelism + 2)
	return db, nil
}

// pointID is the id of the i-th point SELECT.
func pointID(i int) int64 { return int64(1 + (i*7)%pointIDs) }

// bigValue is the 16 MiB value of the round-trip workload.
var bigValue = func() []byte {
	b := make([]byte, bigValueSize)
	for i := range b {
		b[i] = byte('a' + i%23)
	}
	return b
}()

// typedRow receives a row of bench_rows as typed values.
type typedRow struct {
	id, n int64
	f     float64
	s     string
	b     []byte
	t     string
}

func (r *typedRow) dest() []any { return []any{&r.id, &r.n, &r.f, &r.s, &r.b, &r.t} }

var workloads = []workload{
	{name: "SELECT 1", rowsPer: 1, single: true, start: func(t *target) (func(int) error, func(), error) {
		var v int64
		return func(n int) error {
			for i := 0; i < n; i++ {
				if err := t.db.QueryRow(select1Query).Scan(&v); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
	{name: "point QueryRow(arg)", rowsPer: 1, single: true, start: func(t *target) (func(int) error, func(), error) {
		var r typedRow
		d := r.dest()
		i := 0
		return func(n int) error {
			for end := i + n; i < end; i++ {
				if err := t.db.QueryRow(pointQuery, pointID(i)).Scan(d...); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
	{name: "point Stmt.QueryRow", rowsPer: 1, single: true, start: func(t *target) (func(int) error, func(), error) {
		st, err := t.db.Prepare(pointQuery)
		if err != nil {
			return nil, nil, err
		}
		var r typedRow
		d := r.dest()
		i := 0
		return func(n int) error {
			for end := i + n; i < end; i++ {
				if err := st.QueryRow(pointID(i)).Scan(d...); err != nil {
					return err
				}
			}
			return nil
		}, func() { st.Close() }, nil
	}},
	{name: "scan 100k×6 typed", rowsPer: scanRows, single: true, start: func(t *target) (func(int) error, func(), error) {
		var r typedRow
		d := r.dest()
		return func(n int) error {
			for i := 0; i < n; i++ {
				if err := scanAll(t.db, d); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
	{name: "scan 100k×6 RawBytes", rowsPer: scanRows, single: true, start: func(t *target) (func(int) error, func(), error) {
		var r [6]sql.RawBytes
		d := []any{&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]}
		return func(n int) error {
			for i := 0; i < n; i++ {
				if err := scanAll(t.db, d); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
	{name: "100 INSERTs in tx", rowsPer: insertsPerTx, single: true, start: func(t *target) (func(int) error, func(), error) {
		return func(n int) error {
			for i := 0; i < n; i++ {
				tx, err := t.db.Begin()
				if err != nil {
					return err
				}
				for j := 0; j < insertsPerTx; j++ {
					if _, err := tx.Exec(insertQuery, int64(j), "some text value"); err != nil {
						tx.Rollback()
						return err
					}
				}
				if err := tx.Commit(); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
	{name: "connect+ping", start: func(t *target) (func(int) error, func(), error) {
		db, err := sql.Open(t.driver, t.dsn)
		if err != nil {
			return nil, nil, err
		}
		db.SetMaxIdleConns(0) // every Ping dials; the connection is closed when released
		return func(n int) error {
			for i := 0; i < n; i++ {
				if err := db.Ping(); err != nil {
					return err
				}
			}
			return nil
		}, func() { db.Close() }, nil
	}},
	{name: "point ×8 goroutines", rowsPer: 1, parallel: true, start: func(t *target) (func(int) error, func(), error) {
		return func(n int) error {
			var wg sync.WaitGroup
			errs := make([]error, parallelism)
			for g := 0; g < parallelism; g++ {
				k := n / parallelism
				if g < n%parallelism {
					k++
				}
				wg.Add(1)
				go func(g, k int) {
					defer wg.Done()
					var r typedRow
					d := r.dest()
					for i := 0; i < k; i++ {
						if err := t.db.QueryRow(pointQuery, pointID(g+i*parallelism)).Scan(d...); err != nil {
							errs[g] = err
							return
						}
					}
				}(g, k)
			}
			wg.Wait()
			return errors.Join(errs...)
		}, nil, nil
	}},
	{name: "16 MiB value round trip", rowsPer: 1, single: true, start: func(t *target) (func(int) error, func(), error) {
		var raw sql.RawBytes
		return func(n int) error {
			for i := 0; i < n; i++ {
				rows, err := t.db.Query(bigQuery, bigValue)
				if err != nil {
					return err
				}
				if !rows.Next() {
					rows.Close()
					return fmt.Errorf("no row: %v", rows.Err())
				}
				if err := rows.Scan(&raw); err != nil {
					rows.Close()
					return err
				}
				if len(raw) != bigValueSize {
					rows.Close()
					return fmt.Errorf("got %d bytes back, sent %d", len(raw), bigValueSize)
				}
				if err := rows.Close(); err != nil {
					return err
				}
			}
			return nil
		}, nil, nil
	}},
}

// scanAll reads every row of bench_rows into dest and checks the count.
func scanAll(db *sql.DB, dest []any) error {
	rows, err := db.Query(scanQuery)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		n++
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != scanRows {
		return fmt.Errorf("scanned %d rows, want %d", n, scanRows)
	}
	return nil
}

// rowValues returns the deterministic contents of row id of bench_rows, as the text protocol sends them.
func rowValues(id int64) (n int64, f float64, s, b, t string) {
	n = (id * 7919) % 1_000_003
	f = float64(id) * 1.25
	s = fmt.Sprintf("name-%08d-%s", id, strings.Repeat("x", int(id%17)))
	b = fmt.Sprintf("blob%06d", id*3)
	t = fmt.Sprintf("2024-%02d-%02d %02d:%02d:%02d", 1+id%12, 1+id%28, id%24, id%60, (id*13)%60)
	return
}

// setupSchema creates and fills bench_rows (once) and empties bench_ins.
func setupSchema(ctx context.Context, db *sql.DB) error {
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS bench_rows (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL, f DOUBLE NOT NULL, " +
			"s VARCHAR(64) NOT NULL, b VARBINARY(64) NOT NULL, t DATETIME NOT NULL) ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS bench_ins (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, a BIGINT NOT NULL, " +
			"s VARCHAR(64) NOT NULL) ENGINE=InnoDB",
		"TRUNCATE TABLE bench_ins",
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	var count, sum int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(id), 0) FROM bench_rows").Scan(&count, &sum); err != nil {
		return err
	}
	if count == scanRows && sum == scanRows*(scanRows+1)/2 {
		return nil
	}
	if _, err := db.ExecContext(ctx, "TRUNCATE TABLE bench_rows"); err != nil {
		return err
	}
	const batch = 1000
	var q strings.Builder
	args := make([]any, 0, batch*6)
	for start := int64(1); start <= scanRows; start += batch {
		q.Reset()
		args = args[:0]
		q.WriteString("INSERT INTO bench_rows (id, n, f, s, b, t) VALUES ")
		for id := start; id < start+batch && id <= scanRows; id++ {
			if id > start {
				q.WriteByte(',')
			}
			q.WriteString("(?,?,?,?,?,?)")
			n, f, s, b, t := rowValues(id)
			args = append(args, id, n, f, s, []byte(b), t)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
