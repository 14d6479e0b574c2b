package testserver

import (
	"fmt"
	"net/url"

	"github.com/rawmysql/rawmysql/internal/dsnparse"
)

// parseEnvDSN reads a DSN in go-sql-driver grammar with the driver's own splitter (internal/dsnparse),
// far enough to describe the server: user, password, TCP address or unix socket, database and the raw
// parameter string (kept so that DSN() passes them on). The driver's ParseDSN itself cannot be used: the driver's
// tests import this package, so this package importing the driver would be an import cycle. Only tcp and unix
// networks can be reached by the admin client (Exec), so other networks are refused.
func parseEnvDSN(dsn string) (*Server, error) {
	p, err := dsnparse.Split(dsn)
	if err != nil {
		return nil, err
	}
	s := &Server{Kind: KindEnv, User: p.User, Password: p.Passwd, params: p.Params}
	if s.DBName, err = url.PathUnescape(p.DBName); err != nil {
		return nil, fmt.Errorf("%sdatabase name: %w", dsnparse.ErrPrefix, err)
	}
	addr := p.Addr
	if addr == "" {
		addr = dsnparse.DefaultAddr(p.Net)
	}
	switch p.Net {
	case "", "tcp", "tcp4", "tcp6":
		var ok bool
		if s.Addr, ok = dsnparse.WithDefaultPort(addr); !ok {
			return nil, fmt.Errorf("%sinvalid TCP address %q", dsnparse.ErrPrefix, addr)
		}
	case "unix":
		s.Socket = addr
	default:
		return nil, fmt.Errorf("rawmysql: testserver: network %q is not supported (use tcp or unix)", p.Net)
	}
	return s, nil
}
