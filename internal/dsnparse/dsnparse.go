// Package dsnparse cuts a DSN of go-sql-driver/mysql's grammar,
//
//	[user[:password]@][net[(addr)]]/dbname[?param1=value1&paramN=valueN]
//
// into its raw pieces and fills in default addresses. It is the one parser of that grammar in this repository:
// the driver's ParseDSN builds its Config from these pieces, and internal/testserver (which cannot import the
// driver: the driver's own tests import testserver) reads RAWMYSQL_TEST_DSN with it.
package dsnparse

import (
	"errors"
	"net"
	"strings"
)

// ErrPrefix starts every error about a DSN's structure.
const ErrPrefix = "rawmysql: invalid DSN: "

// Defaults for a DSN without an address.
const (
	DefaultPort     = "3306"
	DefaultTCPAddr  = "127.0.0.1:" + DefaultPort
	DefaultTCP6Addr = "[::1]:" + DefaultPort
	DefaultUnixAddr = "/tmp/mysql.sock"
)

// Errors about the structure of a DSN. They never quote the DSN: the part before the slash holds the password.
var (
	ErrNoSlash       = errors.New(ErrPrefix + "missing the slash separating the database name")
	ErrAddrNotClosed = errors.New(ErrPrefix + "network address not terminated (missing closing parenthesis)")
	ErrUnescaped     = errors.New(ErrPrefix + "did you forget to escape a param value?")
	ErrNetName       = errors.New(ErrPrefix + "invalid network name before the slash (is the '@' after the password missing?)")
	ErrAddrQuestion  = errors.New(ErrPrefix + "network address contains '?' (did you forget to escape a param value?)")
)

// Parts are the raw pieces of a DSN, as written: nothing is unescaped and no default is filled in.
type Parts struct {
	User, Passwd string
	Net, Addr    string
	DBName       string // still path-escaped
	Params       string // the query after '?', still escaped
}

// Split cuts dsn into its pieces. The user ends at the first ':' and the password at the last '@' before the
// slash, so the password may contain ':', '@' and '/'. The slash before the database name is the last '/' of the
// DSN, as in go-sql-driver, unless what precedes that slash is not a valid [user[:password]@][net[(addr)]]: then
// the value of a parameter holds unescaped slashes, and the separator is the first '/' after the last '@' that is
// followed by a '?' before any other '/' (parameters never contain '@' in that case, so the slash cannot be
// inside the password). Only that one alternative can be valid, because its '?' would be inside the network
// part of any slash further right.
func Split(dsn string) (Parts, error) {
	last := strings.LastIndexByte(dsn, '/')
	if last < 0 {
		return Parts{}, ErrNoSlash
	}
	p, err := splitAt(dsn, last)
	if err == nil {
		return p, nil
	}
	at := strings.LastIndexByte(dsn, '@')
	for i := at + 1; i < last; i++ {
		if dsn[i] != '/' {
			continue
		}
		rest := dsn[i+1:]
		q := strings.IndexByte(rest, '?')
		if q >= 0 && q < strings.IndexByte(rest, '/') {
			if p2, err2 := splitAt(dsn, i); err2 == nil {
				return p2, nil
			}
			break
		}
	}
	return Parts{}, err
}

// splitAt cuts dsn around the slash at index slash.
func splitAt(dsn string, slash int) (Parts, error) {
	var p Parts
	prefix := dsn[:slash]
	if at := strings.LastIndexByte(prefix, '@'); at >= 0 {
		p.User, p.Passwd, _ = strings.Cut(prefix[:at], ":")
		prefix = prefix[at+1:]
	}
	if open := strings.IndexByte(prefix, '('); open >= 0 {
		if prefix[len(prefix)-1] != ')' {
			if strings.IndexByte(prefix[open+1:], ')') >= 0 {
				return p, ErrUnescaped
			}
			return p, ErrAddrNotClosed
		}
		p.Net, p.Addr = prefix[:open], prefix[open+1:len(prefix)-1]
		if strings.IndexByte(p.Addr, '?') >= 0 {
			return p, ErrAddrQuestion
		}
	} else {
		p.Net = prefix
	}
	if p.Net != "" && !validNetName(p.Net) {
		return p, ErrNetName
	}
	p.DBName, p.Params, _ = strings.Cut(dsn[slash+1:], "?")
	return p, nil
}

// validNetName reports whether s can be a network name: ASCII letters, digits and "._+-".
func validNetName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') && c != '.' && c != '_' && c != '+' && c != '-' {
			return false
		}
	}
	return true
}

// DefaultAddr returns the address a DSN without one means for network: 127.0.0.1:3306 for tcp and tcp4,
// [::1]:3306 for tcp6, /tmp/mysql.sock for unix, and "" for any other network (which has no default).
func DefaultAddr(network string) string {
	switch network {
	case "", "tcp", "tcp4":
		return DefaultTCPAddr
	case "tcp6":
		return DefaultTCP6Addr
	case "unix":
		return DefaultUnixAddr
	}
	return ""
}

// WithDefaultPort returns addr with port 3306 added when it has none ("db" → "db:3306", "::1" and "[::1]" →
// "[::1]:3306", "db:" → "db:3306"); ok is false when addr cannot be made into host:port.
func WithDefaultPort(addr string) (string, bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
		if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1]
		}
		port = ""
	}
	if port == "" {
		port = DefaultPort
	}
	out := net.JoinHostPort(host, port)
	if h, p, err := net.SplitHostPort(out); err != nil || h != host || p != port {
		return "", false
	}
	return out, true
}
