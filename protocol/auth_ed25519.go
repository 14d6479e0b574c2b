package protocol

import (
	"crypto/sha512"

	"filippo.io/edwards25519"
)

// client_ed25519 is MariaDB's ed25519 authentication (server plugin "ed25519", MariaDB 10.1.22+).
// See https://mariadb.com/kb/en/authentication-plugin-ed25519/.
//
// The password is the signing secret: like an Ed25519 seed it is hashed with SHA-512, the first half (clamped)
// is the secret scalar a and the second half the nonce prefix, but — unlike RFC 8032 — the password may have any
// length. The client signs the server's 32-byte nonce m and answers the 64-byte signature R ‖ S with
// r = SHA512(prefix ‖ m) mod L, R = rB, A = aB, k = SHA512(R ‖ A ‖ m) mod L, S = r + k·a mod L.

func init() { RegisterAuthPlugin(ed25519Password{}) }

type ed25519Password struct{}

func (ed25519Password) Name() string { return "client_ed25519" }

func (ed25519Password) Start(a *AuthState) ([]byte, error) {
	return SignEd25519(a.Scramble, a.Password)
}

func (ed25519Password) Continue(a *AuthState, data []byte) ([]byte, bool, error) {
	return nil, false, protoErr("AuthMoreData (client_ed25519)", "unexpected packet of %d bytes", len(data))
}

// SignEd25519 computes the client_ed25519 response to the server's nonce for password.
func SignEd25519(nonce []byte, password string) ([]byte, error) {
	h := sha512.Sum512([]byte(password))
	defer clear(h[:])
	s, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		return nil, err
	}
	A := new(edwards25519.Point).ScalarBaseMult(s).Bytes()

	rh := sha512.New()
	rh.Write(h[32:])
	rh.Write(nonce)
	r, err := edwards25519.NewScalar().SetUniformBytes(rh.Sum(nil))
	if err != nil {
		return nil, err
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	kh := sha512.New()
	kh.Write(R)
	kh.Write(A)
	kh.Write(nonce)
	k, err := edwards25519.NewScalar().SetUniformBytes(kh.Sum(nil))
	if err != nil {
		return nil, err
	}
	S := edwards25519.NewScalar().MultiplyAdd(k, s, r)
	return append(R, S.Bytes()...), nil
}
