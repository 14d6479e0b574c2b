package protocol

import "testing"

// Test helpers of this package's internal tests, for its external test package (protocol_test, the fake-server
// tests, which cannot be internal: protocoltest imports protocol).

// PacketBytes frames payload with sequence id seq.
func PacketBytes(seq uint8, payload []byte) []byte { return frame(seq, payload) }

// BuildCompressed wraps payload in one compressed-protocol frame (see buildCompressed).
func BuildCompressed(t testing.TB, seq uint8, payload []byte, compress bool) []byte {
	return buildCompressed(t, seq, payload, compress)
}
