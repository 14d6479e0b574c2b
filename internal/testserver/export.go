package testserver

import "time"

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
