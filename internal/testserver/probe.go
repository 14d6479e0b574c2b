package testserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// maxGreeting bounds the first packet a probed server may send; a real greeting is about 100 bytes.
const maxGreeting = 64 << 10

// probeHandshake connects to a server and reads its first packet, returning the server version from a
// Handshake v10 greeting. An ERR packet in its place (too many connections, host blocked, ...) is an error, as is
// anything that is not a greeting. The connection is closed without answering, which servers count as an
// aborted connection only.
//
// This is a readiness check that does not depend on the driver under test: only the packet header
// (3-byte little-endian length, 1-byte sequence id) and the greeting's first fields (protocol version 10,
// NUL-terminated server version) are read.
func probeHandshake(network, addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return "", fmt.Errorf("rawmysql: testserver: reading greeting header: %w", err)
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n == 0 || n > maxGreeting {
		return "", fmt.Errorf("rawmysql: testserver: implausible greeting length %d", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c, payload); err != nil {
		return "", fmt.Errorf("rawmysql: testserver: reading greeting: %w", err)
	}
	return parseGreeting(payload)
}

// parseGreeting extracts the server version from the payload of the server's first packet.
func parseGreeting(p []byte) (string, error) {
	switch {
	case len(p) == 0:
		return "", errors.New("rawmysql: testserver: empty greeting")
	case p[0] == 0xff:
		// ERR packet: 0xff, error code (2 bytes LE), then the message (no SQL state before the handshake).
		if len(p) < 3 {
			return "", errors.New("rawmysql: testserver: server refused the connection")
		}
		code := binary.LittleEndian.Uint16(p[1:3])
		return "", fmt.Errorf("rawmysql: testserver: server refused the connection: error %d: %s", code, p[3:])
	case p[0] != 10:
		return "", fmt.Errorf("rawmysql: testserver: unexpected greeting protocol version %d", p[0])
	}
	end := bytes.IndexByte(p[1:], 0)
	if end < 0 {
		return "", errors.New("rawmysql: testserver: greeting: server version not NUL-terminated")
	}
	v := string(p[1 : 1+end])
	// MariaDB before 11.0 prefixes its version with "5.5.5-" for old replication clients.
	if rest, ok := strings.CutPrefix(v, "5.5.5-"); ok && strings.Contains(rest, "MariaDB") {
		v = rest
	}
	return v, nil
}
