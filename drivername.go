package rawmysql

import (
	"database/sql"
	"fmt"
	"slices"
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
