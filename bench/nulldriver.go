package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"sync"
)

// nullDriver is a database/sql driver that answers the workloads' queries from memory with the values rawmysql
// yields for them (int64, float64, []byte), already boxed: its cost is database/sql's own, the ceiling any
// driver can reach through database/sql.
type nullDriver struct{}

func init() { sql.Register("null", nullDriver{}) }

var nullColumns = []string{"id", "n", "f", "s", "b", "t"}

// nullTable holds bench_rows as driver values; built on first use.
var nullTable = sync.OnceValue(func() [][]driver.Value {
	rows := make([][]driver.Value, scanRows)
	for i := range rows {
		id := int64(i + 1)
		n, f, s, b, t := rowValues(id)
		rows[i] = []driver.Value{id, n, f, []byte(s), []byte(b), []byte(t)}
	}
	return rows
})

var nullOne = [][]driver.Value{{int64(1)}}

func (nullDriver) Open(string) (driver.Conn, error) { return &nullConn{}, nil }

type nullConn struct{}

var (
	_ driver.QueryerContext     = (*nullConn)(nil)
	_ driver.ExecerContext      = (*nullConn)(nil)
	_ driver.ConnPrepareContext = (*nullConn)(nil)
	_ driver.ConnBeginTx        = (*nullConn)(nil)
	_ driver.Pinger             = (*nullConn)(nil)
	_ driver.NamedValueChecker  = (*nullConn)(nil)
)

func (c *nullConn) Prepare(q string) (driver.Stmt, error) { return &nullStmt{c: c, q: q}, nil }
func (c *nullConn) PrepareContext(_ context.Context, q string) (driver.Stmt, error) {
	return &nullStmt{c: c, q: q}, nil
}
func (c *nullConn) Close() error              { return nil }
func (c *nullConn) Begin() (driver.Tx, error) { return nullTx{}, nil }
func (c *nullConn) BeginTx(context.Context, driver.TxOptions) (driver.Tx, error) {
	return nullTx{}, nil
}
func (c *nullConn) Ping(context.Context) error               { return nil }
func (c *nullConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c *nullConn) QueryContext(_ context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	switch q {
	case select1Query:
		return &nullRows{cols: nullColumns[:1], data: nullOne}, nil
	case scanQuery:
		return &nullRows{cols: nullColumns, data: nullTable()}, nil
	case pointQuery:
		id, _ := args[0].Value.(int64)
		if id < 1 || id > scanRows {
			return &nullRows{cols: nullColumns}, nil
		}
		return &nullRows{cols: nullColumns, data: nullTable()[id-1 : id]}, nil
	case bigQuery:
		return &nullRows{cols: nullColumns[:1], one: []driver.Value{args[0].Value}}, nil
	}
	return nil, fmt.Errorf("null driver: unknown query %q", q)
}

func (c *nullConn) ExecContext(_ context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if q == insertQuery {
		return driver.RowsAffected(1), nil
	}
	return nil, fmt.Errorf("null driver: unknown statement %q", q)
}

type nullStmt struct {
	c *nullConn
	q string
}

func (s *nullStmt) Close() error  { return nil }
func (s *nullStmt) NumInput() int { return -1 }
func (s *nullStmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, driver.ErrSkip
}
func (s *nullStmt) Query(args []driver.Value) (driver.Rows, error) { return nil, driver.ErrSkip }
func (s *nullStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.q, args)
}
func (s *nullStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.q, args)
}
func (s *nullStmt) CheckNamedValue(*driver.NamedValue) error { return nil }

type nullTx struct{}

func (nullTx) Commit() error   { return nil }
func (nullTx) Rollback() error { return nil }

type nullRows struct {
	cols []string
	data [][]driver.Value
	one  []driver.Value
	pos  int
}

func (r *nullRows) Columns() []string { return r.cols }
func (r *nullRows) Close() error      { return nil }
func (r *nullRows) Next(dest []driver.Value) error {
	if r.one != nil {
		copy(dest, r.one)
		r.one = nil
		r.pos = -1
		return nil
	}
	if r.pos < 0 || r.pos >= len(r.data) {
		return io.EOF
	}
	copy(dest, r.data[r.pos])
	r.pos++
	return nil
}
