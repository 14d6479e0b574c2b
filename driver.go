// Package rawmysql is a pure-Go MySQL and MariaDB driver for database/sql, written from the wire up.
//
// Switch existing code from github.com/go-sql-driver/mysql by changing the import and the driver name; the DSN
// stays the same:
//
//	import _ "github.com/rawmysql/rawmysql"
//
//	db, err := sql.Open("rawmysql", "user:password@tcp(127.0.0.1:3306)/dbname?parseTime=true")
//
// The DSN grammar and its parameters are those of go-sql-driver/mysql; see ParseDSN and Config. For settings
// without a DSN form — Config.Logger (log/slog), Config.Tracer (query, exec, prepare and connect tracing in the
// style of pgx), Config.PacketTrace, Config.DialFunc, a *tls.Config — build a Config and open the database with
// NewConnector and sql.OpenDB.
//
// Queries with arguments run as server-side prepared statements, cached per connection (stmtCacheSize) within
// a budget for the whole pool (stmtCacheTotal), so a repeated query costs one round trip; interpolateParams=true interpolates them on the client instead. Server
// errors are *MySQLError values with the error number and SQLSTATE. RegisterTLSConfig, RegisterServerPubKey,
// RegisterDialContext, RegisterLocalFile and RegisterReaderHandler are the registration functions of
// go-sql-driver/mysql. The wire protocol itself is in the protocol package.
package rawmysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
)

// DriverName is the name rawmysql registers with database/sql.
const DriverName = "rawmysql"

// Driver is the database/sql driver. It is registered as "rawmysql".
type Driver struct{}

func init() { sql.Register(DriverName, &Driver{}) }

// Open opens a new connection with a DSN. database/sql prefers OpenConnector.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses the DSN once; a malformed DSN is reported here, i.e. by sql.Open.
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return newConnector(cfg), nil
}

// Interfaces implemented.
var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)

	_ driver.Connector = (*Connector)(nil)

	_ driver.Conn               = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)

	_ driver.Tx     = (*tx)(nil)
	_ driver.Result = result{}

	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)

// RegisterDriverName registers rawmysql's driver under another database/sql driver name too — typically "mysql"
// — so that libraries which open connections by that name (sql.Open("mysql", dsn): goose's OpenDBWithDriver,
// dbr.Open, xorm.NewEngine, ent's entsql.Open) use rawmysql with the same DSN:
//
//	if err := rawmysql.RegisterDriverName("mysql"); err != nil { ... }
//
// It returns an error, instead of database/sql's panic, when the name is taken: "mysql" is whenever
// github.com/go-sql-driver/mysql is linked into the program (gorm.io/driver/mysql and golang-migrate's mysql
// driver import it); hand those libraries a *sql.DB opened with "rawmysql" instead (see the README).
func RegisterDriverName(name string) (err error) {
	if name == "" || slices.Contains(sql.Drivers(), name) {
		return fmt.Errorf("rawmysql: RegisterDriverName: a database/sql driver named %q is already registered", name)
	}
	defer func() {
		if r := recover(); r != nil { // registered concurrently since the check
			err = fmt.Errorf("rawmysql: RegisterDriverName: %v", r)
		}
	}()
	sql.Register(name, &Driver{})
	return nil
}

// The context-less Execer and Queryer, for code that reaches the driver connection through sql.Conn.Raw as
// go-sql-driver/mysql's README shows (dc.(driver.Execer).Exec(...).(mysql.Result).AllRowsAffected()).
// database/sql itself uses the context forms.
var (
	_ driver.Execer  = (*conn)(nil) //nolint:staticcheck // go-sql-driver/mysql compatibility
	_ driver.Queryer = (*conn)(nil) //nolint:staticcheck // go-sql-driver/mysql compatibility
	_ Result         = result{}
)
