package rawmysql

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseDSN checks that ParseDSN never panics, that its errors are ours, and that a DSN it accepts survives
// FormatDSN: parse → format → parse gives an equal Config, formatting that again gives the same text, and
// normalize changes nothing more.
func FuzzParseDSN(f *testing.F) {
	for _, tt := range validDSNs {
		f.Add(tt.dsn)
	}
	for _, tt := range invalidDSNs {
		f.Add(tt.dsn)
	}
	for _, tt := range formatCases {
		f.Add(tt.in)
		f.Add(tt.out)
	}
	f.Add("u:p@tcp(h)/db?tls=fuzz-tls&x=%2F&loc=Asia/Tokyo")
	f.Add("u:p@tcp(h1,h2:1,[::1])/db?loadBalance=random&targetServer=primary&hostBackoff=1s&targetRecheck=0s")

	if err := RegisterTLSConfig("fuzz-tls", &tls.Config{MinVersion: tls.VersionTLS12}); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { DeregisterTLSConfig("fuzz-tls") })

	f.Fuzz(func(t *testing.T, dsn string) {
		cfg, err := ParseDSN(dsn)
		if err != nil {
			require.Nil(t, cfg)
			require.True(t, strings.HasPrefix(err.Error(), "rawmysql: invalid DSN: "), "%q: %v", dsn, err)
			return
		}

		formatted := cfg.FormatDSN()
		again, err := ParseDSN(formatted)
		require.NoError(t, err, "%q formatted as %q", dsn, formatted)
		assertConfigEqual(t, cfg, again)
		require.Equal(t, formatted, again.FormatDSN(), "format is not stable for %q", dsn)

		cp := cfg.Clone()
		require.NoError(t, cp.normalize())
		assertConfigEqual(t, cfg, cp)
	})
}
