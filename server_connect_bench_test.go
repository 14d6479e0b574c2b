package rawmysql

import (
	"context"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
)

// BenchmarkConnect measures opening one connection (dial, handshake, authentication, session setup) with the
// default DSN (TLS when the server offers it) and with tls=false.
func BenchmarkConnect(b *testing.B) {
	for _, params := range []string{"", "tls=false"} {
		name := "default"
		if params != "" {
			name = params
		}
		b.Run(name, func(b *testing.B) {
			srv := testserver.Get(b)
			cfg, err := ParseDSN(srv.DSN(params))
			if err != nil {
				b.Fatal(err)
			}
			benchConnect(b, cfg)
		})
	}
}

// benchConnect opens and closes one connection per iteration with cfg, allocations reported.
func benchConnect(b *testing.B, cfg *Config) {
	connector, err := NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := connector.Connect(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
