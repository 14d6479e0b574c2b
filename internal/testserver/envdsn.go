package testserver

import (
	"errors"
	"net"
	"strings"
)

// parseEnvDSN reads a DSN in go-sql-driver grammar,
//
//	[user[:password]@][net[(addr)]]/dbname[?param1=value1&paramN=valueN]
//
// far enough to describe the server: user, password, TCP address or unix socket, database and the raw
// parameter string (kept so that DSN() passes them on). It is a deliberately small parser so that this package
// does not import the root package (that would be an import cycle for the root package's tests).
//
// As in go-sql-driver, the last '/' ends the address part (so parameter values must be URL-escaped), the last
// '@' before it ends the user information, and the first ':' splits user from password.
func parseEnvDSN(dsn string) (*Server, error) {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return nil, errors.New("rawmysql: testserver: invalid DSN: missing '/' before the database name")
	}
	head, tail := dsn[:slash], dsn[slash+1:]

	s := &Server{Kind: KindEnv}
	s.DBName, s.params, _ = strings.Cut(tail, "?")

	netAddr := head
	if at := strings.LastIndexByte(head, '@'); at >= 0 {
		userInfo := head[:at]
		netAddr = head[at+1:]
		s.User, s.Password, _ = strings.Cut(userInfo, ":")
	}

	network, addr := netAddr, ""
	if open := strings.IndexByte(netAddr, '('); open >= 0 {
		if !strings.HasSuffix(netAddr, ")") {
			return nil, errors.New("rawmysql: testserver: invalid DSN: network address not terminated (missing closing parenthesis)")
		}
		network, addr = netAddr[:open], netAddr[open+1:len(netAddr)-1]
	} else if strings.ContainsAny(netAddr, ":)") {
		return nil, errors.New("rawmysql: testserver: invalid DSN: address must be written as net(addr), e.g. tcp(127.0.0.1:3306)")
	}

	switch network {
	case "", "tcp", "tcp4", "tcp6":
		if addr == "" {
			addr = "127.0.0.1:3306"
		} else if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(strings.Trim(addr, "[]"), "3306")
		}
		s.Addr = addr
	case "unix":
		if addr == "" {
			addr = "/tmp/mysql.sock"
		}
		s.Socket = addr
	default:
		return nil, errors.New("rawmysql: testserver: invalid DSN: unsupported network " + network + " (use tcp or unix)")
	}
	return s, nil
}
