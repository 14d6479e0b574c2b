// Package compat tests rawmysql against third-party MySQL server code and libraries that are too heavy for the
// root module: the MySQL 8 authentication exchanges are checked against the server side of
// github.com/dolthub/vitess go/mysql (see auth_test.go).
package compat
