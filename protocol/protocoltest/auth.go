package protocoltest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
)

// The checks below follow the server's side of each scheme: the server knows
// only the stored hash of the password (stage 2), recovers the client's stage 1
// from the response and compares its hash with stage 2. A client computes the
// response the other way round, so a client test checked with these functions
// checks against independent math.

// trimScramble drops the NUL that ends the scramble on the wire, so callers may
// pass either the 20 bytes or the 21 bytes of auth plugin data.
func trimScramble(s []byte) []byte {
	if len(s) == 21 && s[20] == 0 {
		return s[:20]
	}
	return s
}

// NativePasswordCheck reports whether response is a valid
// mysql_native_password answer to scramble for password. Server side:
// stage2 = SHA1(SHA1(password)); stage1 = response XOR SHA1(scramble ‖ stage2);
// valid when SHA1(stage1) = stage2. An empty password expects an empty
// response. A trailing NUL on a 21-byte scramble is ignored.
func NativePasswordCheck(scramble []byte, password string, response []byte) bool {
	if password == "" {
		return len(response) == 0
	}
	if len(response) != sha1.Size {
		return false
	}
	s1 := sha1.Sum([]byte(password))
	stage2 := sha1.Sum(s1[:])
	h := sha1.New()
	h.Write(trimScramble(scramble))
	h.Write(stage2[:])
	mask := h.Sum(nil)
	stage1 := make([]byte, sha1.Size)
	for i := range stage1 {
		stage1[i] = response[i] ^ mask[i]
	}
	got := sha1.Sum(stage1)
	return bytes.Equal(got[:], stage2[:])
}

// CachingSHA2Check reports whether response is a valid caching_sha2_password
// fast-auth answer to scramble for password. Server side (its cache holds
// stage2 = SHA256(SHA256(password))): stage1 = response XOR SHA256(stage2 ‖
// scramble); valid when SHA256(stage1) = stage2. An empty password expects an
// empty response. A trailing NUL on a 21-byte scramble is ignored.
func CachingSHA2Check(scramble []byte, password string, response []byte) bool {
	if password == "" {
		return len(response) == 0
	}
	if len(response) != sha256.Size {
		return false
	}
	s1 := sha256.Sum256([]byte(password))
	stage2 := sha256.Sum256(s1[:])
	h := sha256.New()
	h.Write(stage2[:])
	h.Write(trimScramble(scramble))
	mask := h.Sum(nil)
	stage1 := make([]byte, sha256.Size)
	for i := range stage1 {
		stage1[i] = response[i] ^ mask[i]
	}
	got := sha256.Sum256(stage1)
	return bytes.Equal(got[:], stage2[:])
}
