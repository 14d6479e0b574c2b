package rawmysql

import (
	"context"
	"database/sql/driver"
)

// The context-less Execer and Queryer, for code that reaches the driver connection through sql.Conn.Raw as
// go-sql-driver/mysql's README shows (dc.(driver.Execer).Exec(...).(mysql.Result).AllRowsAffected()).
// database/sql itself uses the context forms.
var (
	_ driver.Execer  = (*conn)(nil) //nolint:staticcheck // go-sql-driver/mysql compatibility
	_ driver.Queryer = (*conn)(nil) //nolint:staticcheck // go-sql-driver/mysql compatibility
	_ Result         = result{}
)

// Exec runs query with positional arguments; the result is a Result with every statement's values.
func (c *conn) Exec(query string, args []driver.Value) (driver.Result, error) {
	return c.ExecContext(context.Background(), query, namedValues(args))
}

// Query runs query with positional arguments. Results without columns before the first result set (and
// between result sets) are skipped; the returned rows also implement Result for the statements skipped.
func (c *conn) Query(query string, args []driver.Value) (driver.Rows, error) {
	return c.QueryContext(context.Background(), query, namedValues(args))
}

func namedValues(args []driver.Value) []driver.NamedValue {
	if len(args) == 0 {
		return nil
	}
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}
