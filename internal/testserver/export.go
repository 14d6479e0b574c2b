package testserver

import (
	"fmt"
	"time"
)

// TLSFiles names the PEM files written by WriteTLSFiles.
type TLSFiles = tlsFiles

// WriteTLSFiles writes a throw-away CA, a server certificate for 127.0.0.1, ::1 and localhost and a client
// certificate into dir (ca.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem). The test
// container launcher (internal/testenv) uses it so that containers get the same kind of certificates as private
// servers.
func WriteTLSFiles(dir string) (TLSFiles, error) { return writeTLSFiles(dir) }

// ProbeVersion connects to network/addr and returns the server version from its greeting, or an error when
// what answers is not a MySQL/MariaDB server ready for connections. It does not log in.
func ProbeVersion(network, addr string, timeout time.Duration) (string, error) {
	return probeHandshake(network, addr, timeout)
}

// Launch starts a new private server (mariadbd or mysqld, found as Get finds them) outside a test, for programs
// such as the benchmarks in bench/. extraArgs are server options placed after this package's own, so that one
// given here wins (e.g. "--max-allowed-packet=256M"). The caller must Close the server.
func Launch(extraArgs ...string) (*Server, error) {
	bin, err := findServerBinary()
	if err != nil {
		return nil, fmt.Errorf("rawmysql: testserver: %w", err)
	}
	return startPrivate(bin, extraArgs)
}

// Close stops a server started by Launch (or StartPrivate) and removes its directory; a container is removed.
// A server named by RAWMYSQL_TEST_DSN is left alone. Safe to call more than once.
func (s *Server) Close() error { return s.release() }
