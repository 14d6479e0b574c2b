package rawmysql

import (
	"context"
	"database/sql/driver"
)

// stmt is a prepared statement. Until server-side prepared statements land it runs the query text as is and
// refuses arguments.
type stmt struct {
	c     *conn
	query string
}

// Close releases the statement.
func (s *stmt) Close() error { return nil }

// NumInput returns -1: the argument count is not checked by database/sql.
func (s *stmt) NumInput() int { return -1 }

// Exec is the context-less form of ExecContext.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	if len(args) > 0 {
		return nil, ErrArgsNotSupported
	}
	return s.c.exec(context.Background(), s.query)
}

// Query is the context-less form of QueryContext.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	if len(args) > 0 {
		return nil, ErrArgsNotSupported
	}
	return s.c.QueryContext(context.Background(), s.query, nil)
}
