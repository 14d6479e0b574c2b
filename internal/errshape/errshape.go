// Package errshape holds, for rawmysql's tests, an error type of the shape of go-sql-driver/mysql's MySQLError
// (same name and fields) without importing that driver. The real type is tested in compat/.
package errshape

import "fmt"

// MySQLError has the name, fields and field types of go-sql-driver/mysql's MySQLError.
type MySQLError struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

func (e *MySQLError) Error() string { return fmt.Sprintf("errshape %d", e.Number) }

// NotMySQLError has the fields but another name.
type NotMySQLError struct {
	Number   uint16
	SQLState [5]byte
	Message  string
}

func (e *NotMySQLError) Error() string { return "not" }
