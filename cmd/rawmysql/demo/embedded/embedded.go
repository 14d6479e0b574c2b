// Package embedded runs an in-memory MySQL-compatible server (github.com/dolthub/go-mysql-server) inside the
// current process, on a loopback port, so that rawmysql can be tried and tested with no server installed.
//
// It accepts any user name and password (go-mysql-server without user accounts) and speaks the MySQL protocol
// with mysql_native_password. Data lives in memory and disappears with Close.
package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"sync"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"

	_ "github.com/rawmysql/rawmysql" // the "rawmysql" driver, for LoadSample's callers
)

// Server is a running embedded server.
type Server struct {
	// Addr is the host:port the server listens on (127.0.0.1 and a free port).
	Addr string
	// DBName is the database created at start.
	DBName string

	srv       *server.Server
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

var quietOnce sync.Once

// Start starts a server on 127.0.0.1 on a free port with one empty database, dbName ("test" if empty). The
// server's own logging (logrus) is silenced.
func Start(dbName string) (*Server, error) {
	if dbName == "" {
		dbName = "test"
	}
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	})
	db := memory.NewDatabase(dbName)
	db.BaseDatabase.EnablePrimaryKeyIndexes()
	pro := memory.NewDBProvider(db)
	engine := sqle.NewDefault(pro)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embedded: listen on loopback: %w", err)
	}
	cfg := server.Config{Protocol: "tcp", Address: ln.Addr().String(), Listener: ln}
	srv, err := server.NewServer(cfg, engine, gmssql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded: new server: %w", err)
	}
	s := &Server{Addr: ln.Addr().String(), DBName: dbName, srv: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Start() }()
	return s, nil
}

// DSN returns a rawmysql (and go-sql-driver/mysql) DSN for the server's database, with params (e.g.
// "parseTime=true") appended when not empty.
func (s *Server) DSN(params string) string {
	dsn := "root@tcp(" + s.Addr + ")/" + s.DBName
	if params != "" {
		dsn += "?" + params
	}
	return dsn
}

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		<-s.done
	})
	return s.closeErr
}

// SampleSchema creates and fills the sample database: customers, products, orders and order_items, a small
// shop to join and aggregate.
var SampleSchema = []string{
	`CREATE TABLE customers (
		id INT PRIMARY KEY,
		name VARCHAR(64) NOT NULL,
		email VARCHAR(128),
		city VARCHAR(64),
		joined DATE NOT NULL
	)`,
	`CREATE TABLE products (
		id INT PRIMARY KEY,
		name VARCHAR(64) NOT NULL,
		price DECIMAL(10,2) NOT NULL,
		stock INT NOT NULL
	)`,
	`CREATE TABLE orders (
		id INT PRIMARY KEY,
		customer_id INT NOT NULL,
		placed_at DATETIME NOT NULL,
		note TEXT
	)`,
	`CREATE TABLE order_items (
		order_id INT NOT NULL,
		product_id INT NOT NULL,
		quantity INT NOT NULL,
		PRIMARY KEY (order_id, product_id)
	)`,
	`INSERT INTO customers VALUES
		(1, 'Ada Lovelace', 'ada@example.com', 'London', '2024-01-15'),
		(2, 'Grace Hopper', 'grace@example.com', 'New York', '2024-02-03'),
		(3, 'Alan Turing', NULL, 'Manchester', '2024-03-21'),
		(4, 'Katherine Johnson', 'kj@example.com', NULL, '2024-05-30')`,
	`INSERT INTO products VALUES
		(1, 'Keyboard', 49.90, 120),
		(2, 'Mouse', 19.50, 300),
		(3, 'Monitor', 229.00, 35),
		(4, 'USB cable', 4.99, 1000)`,
	`INSERT INTO orders VALUES
		(100, 1, '2024-06-01 10:15:00', 'gift wrap'),
		(101, 2, '2024-06-02 14:40:30', NULL),
		(102, 1, '2024-06-05 09:05:10', NULL),
		(103, 3, '2024-06-07 18:20:00', 'deliver after 6pm')`,
	`INSERT INTO order_items VALUES
		(100, 1, 1), (100, 2, 1),
		(101, 3, 2), (101, 4, 3),
		(102, 4, 10),
		(103, 2, 1), (103, 3, 1)`,
}

// LoadSample runs SampleSchema on db.
func LoadSample(ctx context.Context, db *sql.DB) error {
	for _, q := range SampleSchema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("embedded: loading the sample database: %w", err)
		}
	}
	return nil
}
