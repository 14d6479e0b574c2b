package protocol

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// Fuzz targets for every decoder, seeded with the captured fixtures. Decoders must never panic; where an
// encoder exists, decode → encode → decode must be stable.

func FuzzHandshake(f *testing.F) {
	full := unhex(f, fixtureHandshakeMariaDB)
	f.Add(full)
	f.Add([]byte{10, 0})
	f.Add(full[:1+len("5.5.5-10.11.19-MariaDB-0+deb12u1")+1+4+8+1+2]) // old server: stops after the lower capabilities
	long := Handshake{ProtocolVersion: 10, ServerVersion: "8.0.36", ConnectionID: 7,
		AuthData:     bytes.Repeat([]byte("s"), 40), // longer than the usual 20-byte scramble
		Capabilities: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth | ClientLongPassword,
		AuthPlugin:   "caching_sha2_password"}
	f.Add(long.AppendTo(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Handshake
		if h.Decode(b) != nil {
			return
		}
		// Whatever Decode accepts, AppendTo must encode so that it decodes to the same handshake.
		var h2 Handshake
		enc := h.AppendTo(nil)
		if err := h2.Decode(enc); err != nil {
			t.Fatalf("re-decode of %x: %v", enc, err)
		}
		if strings.HasPrefix(h.ServerVersion, "5.5.5-") { // the prefix is stripped once per decode
			h2.ServerVersion = h.ServerVersion
		}
		if !h.Capabilities.Has(ClientPluginAuth) && len(h.AuthData) > 21 {
			// Without CLIENT_PLUGIN_AUTH the length byte is 0 on the wire, so only 8+13 bytes can be encoded.
			h2.AuthData = h.AuthData
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("round trip changed the handshake:\n%+v\n%+v", h, h2)
		}
	})
}

func FuzzHandshakeResponse(f *testing.F) {
	f.Add(unhex(f, fixtureHandshakeResponse))
	// The three auth-response encodings: length-encoded, one length byte, NUL-terminated.
	for _, caps := range []Capability{
		ClientProtocol41 | ClientPluginAuthLenencClientData | ClientPluginAuth | ClientConnectWithDB | ClientConnectAttrs,
		ClientProtocol41 | ClientSecureConnection | ClientConnectWithDB,
		ClientProtocol41,
	} {
		p := HandshakeResponse{Capabilities: caps, MaxPacketSize: 1 << 24, Charset: 45, User: "bob",
			AuthResponse: []byte("0123456789abcdefghij"), Database: "test", AuthPlugin: "mysql_native_password",
			Attributes: [][2]string{{"_client_name", "rawmysql"}, {"", ""}}}
		f.Add(p.AppendTo(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p HandshakeResponse
		if p.Decode(b) != nil {
			return
		}
		var p2 HandshakeResponse
		if err := p2.Decode(p.AppendTo(nil)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if p2.Capabilities != p.Capabilities || p2.MaxPacketSize != p.MaxPacketSize || p2.Charset != p.Charset ||
			p2.User != p.User || !bytes.Equal(p2.AuthResponse, p.AuthResponse) || p2.Database != p.Database ||
			p2.AuthPlugin != p.AuthPlugin || !reflect.DeepEqual(p2.Attributes, p.Attributes) || p2.MariaDBCaps != p.MariaDBCaps {
			t.Fatalf("round trip changed the packet: %+v vs %+v", p, p2)
		}
	})
}

func FuzzOKPacket(f *testing.F) {
	f.Add(unhex(f, "00 01 fc3412 0300 0100"))
	f.Add(unhex(f, "fe 00 00 0200 0000"))
	f.Add(append(unhex(f, "00 fe0001000000000000 fd000001 2200 0100"), "Rows matched: 1  Changed: 1  Warnings: 0"...))
	f.Add(unhex(f, "00 fc0100 00 02")) // non-canonical affected rows; truncated status
	f.Fuzz(func(t *testing.T, b []byte) {
		var ok OKPacket
		if ok.Decode(b) != nil {
			return
		}
		var ok2 OKPacket
		if err := ok2.Decode(ok.AppendTo(nil)); err != nil || ok2 != ok {
			t.Fatalf("round trip: %v %+v %+v", err, ok, ok2)
		}
	})
}

func FuzzEOFPacket(f *testing.F) {
	f.Add(unhex(f, "fe 0000 0200"))
	f.Add(unhex(f, "fe"))                   // pre-4.1 EOF
	f.Add(unhex(f, "fe 00 00 0200 0000"))   // OK with an 0xFE header (CLIENT_DEPRECATE_EOF)
	f.Add(unhex(f, "fe 0800000000000000 ")) // a row whose first value is 8 bytes long
	f.Fuzz(func(t *testing.T, b []byte) {
		var e EOFPacket
		if e.Decode(b) == nil {
			if len(b) > 1 && len(b) < 5 {
				t.Fatalf("accepted a truncated EOF %x", b)
			}
			var e2 EOFPacket
			if err := e2.Decode(e.AppendTo(nil)); err != nil || e2 != e {
				t.Fatalf("round trip: %v %+v %+v", err, e, e2)
			}
		}
		// A packet the result reader takes for an EOF must start with 0xFE, and without CLIENT_DEPRECATE_EOF
		// be shorter than a row can be.
		if IsEOFPacket(b, false) && (b[0] != 0xfe || len(b) >= 9 || !IsEOFPacket(b, true)) {
			t.Fatalf("IsEOFPacket(%x, false)", b)
		}
		if IsEOFPacket(b, true) && (b[0] != 0xfe || len(b) >= MaxPayloadLen) {
			t.Fatalf("IsEOFPacket(%x, true)", b)
		}
	})
}

func FuzzErrorPacket(f *testing.F) {
	f.Add(append(unhex(f, "ff 2804 23 3432303030"), "syntax"...))
	f.Add(unhex(f, "ff 1504"))
	f.Add(append(unhex(f, "ff 1504 23"), "#28000#"...)) // a message that itself starts like a SQL state
	f.Add(append(unhex(f, "ff 1504"), "#abc"...))       // '#' but too short for a SQL state
	f.Fuzz(func(t *testing.T, b []byte) {
		err := DecodeError(b)
		if se, ok := err.(*ServerError); ok {
			if got := DecodeError(AppendError(nil, se)); !reflect.DeepEqual(got, se) {
				t.Fatalf("round trip: %#v vs %#v", se, got)
			}
		}
	})
}

func FuzzColumnDefinition(f *testing.F) {
	for _, c := range fixtureColumns {
		f.Add(unhex(f, c.raw))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Column
		if c.Decode(b) != nil {
			return
		}
		var c2 Column
		if err := c2.Decode(c.AppendTo(nil)); err != nil || c2 != c {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzTextRow(f *testing.F) {
	f.Add(unhex(f, "03 2d3132 06 68c3a96c6c6f fb 04 332e3530"), uint8(4))
	f.Add(unhex(f, "00 fb fc0300 616263 fd010000 78"), uint8(4)) // empty, NULL, non-canonical lengths
	f.Add(unhex(f, "fe0100000000000000 41"), uint8(1))           // 9-byte length
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, n uint8) {
		vals := make([][]byte, int(n%32))
		// Walking the row with TextValue accepts exactly what DecodeTextRow accepts, with the same values.
		walked, pos, walkOK := make([][]byte, 0, len(vals)), 0, true
		for range vals {
			v, next, ok := TextValue(b, pos)
			if !ok {
				walkOK = false
				break
			}
			walked, pos = append(walked, v), next
		}
		walkOK = walkOK && pos == len(b)
		if err := DecodeTextRow(b, vals); err != nil {
			if walkOK {
				t.Fatalf("TextValue accepts a row DecodeTextRow refuses: %v", err)
			}
			return
		}
		if !walkOK || !reflect.DeepEqual(vals, walked) {
			t.Fatalf("TextValue walk (ok %v) gives %q, DecodeTextRow %q", walkOK, walked, vals)
		}
		for i, v := range vals {
			if cap(v) != len(v) {
				t.Fatalf("value %d is not capped: len %d cap %d", i, len(v), cap(v))
			}
		}
		// Non-canonical length encodings are accepted but re-encode shorter; the values must survive.
		enc := AppendTextRow(nil, vals)
		if len(enc) > len(b) {
			t.Fatalf("re-encoding grew the row from %d to %d bytes", len(b), len(enc))
		}
		vals2 := make([][]byte, len(vals))
		if err := DecodeTextRow(enc, vals2); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(vals, vals2) {
			t.Fatalf("round trip changed the values: %q vs %q", vals, vals2)
		}
	})
}

func FuzzAuthSwitchRequest(f *testing.F) {
	f.Add(append([]byte{0xfe}, "mysql_native_password\x000123456789abcdefghij\x00"...))
	f.Add([]byte{0xfe}) // old-style switch to mysql_old_password
	f.Add(append(append([]byte{0xfe}, "client_ed25519\x00"...), make([]byte, 32)...))
	f.Add(append([]byte{0xfe}, "caching_sha2_password"...)) // no NUL after the name
	f.Fuzz(func(t *testing.T, b []byte) {
		var p AuthSwitchRequest
		if p.Decode(b) != nil {
			return
		}
		if strings.IndexByte(p.Plugin, 0) >= 0 {
			t.Fatalf("plugin name %q has a NUL", p.Plugin)
		}
		// Data is a copy: the packet buffer is reused for the next read.
		data := append([]byte(nil), p.Data...)
		clear(b)
		if !bytes.Equal(p.Data, data) {
			t.Fatal("Data aliases the packet")
		}
		if len(b) > 1 {
			// Re-encoding gives the same request (the trimmed scramble NUL comes back, or is not needed).
			enc := p.AppendTo(nil)
			var p2 AuthSwitchRequest
			if err := p2.Decode(enc); err != nil || p2.Plugin != p.Plugin || !bytes.Equal(p2.Data, p.Data) {
				t.Fatalf("round trip: %v %+v %+v", err, p, p2)
			}
		}
	})
}

func FuzzReadPacket(f *testing.F) {
	f.Add(append(frame(0, []byte("abc")), frame(1, nil)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2})
	f.Add(append(frame(0, []byte("a")), frame(2, []byte("b"))...)) // sequence gap
	f.Add(append(frame(0, nil), 0x01, 0x00, 0x10, 0x01))           // payload over the limit
	f.Add(append(frame(0, nil), 0x05, 0x00, 0x00, 0x01, 'a'))      // truncated payload
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, _ := newTestFramer(b)
		fr.maxRead = 1 << 20
		// Reference: packet i is returned iff it is complete, has sequence id i and fits the limit.
		rest := b
		for i := 0; i < 8; i++ {
			var want []byte
			ok := len(rest) >= 4
			if ok {
				n := int(rest[0]) | int(rest[1])<<8 | int(rest[2])<<16
				ok = rest[3] == byte(i) && n <= fr.maxRead && len(rest) >= 4+n
				if ok {
					want, rest = rest[4:4+n], rest[4+n:]
				}
			}
			got, err := fr.readPacket()
			if ok != (err == nil) {
				t.Fatalf("packet %d: valid: %v; framer error: %v", i, ok, err)
			}
			if !ok {
				break
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("packet %d: got %x, want %x", i, got, want)
			}
		}
		if len(fr.buf) > 2*len(b)+2*defaultReadBufSize {
			t.Fatalf("buffer of %d bytes for %d input bytes", len(fr.buf), len(b))
		}
	})
}

func FuzzLenEncInt(f *testing.F) {
	f.Add([]byte{0xfc, 1, 2})
	f.Add([]byte{0xfa})
	f.Add([]byte{0xfb})
	f.Add([]byte{0xfd, 1, 2, 3})
	f.Add([]byte{0xfe, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0xff, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, null, n := ReadLenEncInt(b)
		if n > len(b) || n > 9 {
			t.Fatalf("used %d of %d bytes", n, len(b))
		}
		if n == 0 || null {
			if null && (n != 1 || b[0] != 0xfb) {
				t.Fatalf("NULL from %x", b)
			}
			return
		}
		r := newReader("x", b)
		if got, _ := r.lenencInt("v"); got != v || r.pos != n {
			t.Fatalf("reader disagrees: %d (%d bytes) vs %d (%d bytes)", got, r.pos, v, n)
		}
		// The canonical encoding is never longer and decodes to the same value.
		enc := AppendLenEncInt(nil, v)
		if len(enc) > n {
			t.Fatalf("canonical encoding of %d is %d bytes, input used %d", v, len(enc), n)
		}
		if v2, null2, n2 := ReadLenEncInt(enc); v2 != v || null2 || n2 != len(enc) {
			t.Fatalf("round trip of %d: %d %v %d", v, v2, null2, n2)
		}
	})
}

// TestHandshakeAppendToLongScramble: the length byte says how long part 2 of the scramble is (at least 13
// bytes); AppendTo once wrote 13 bytes whatever the length, so a longer scramble swallowed the plugin name on
// decode. Found by FuzzHandshake's round trip.
func TestHandshakeAppendToLongScramble(t *testing.T) {
	for _, n := range []int{8, 20, 21, 22, 40, 254, 255} {
		h := Handshake{ProtocolVersion: 10, ServerVersion: "8.0.36", ConnectionID: 7,
			AuthData:     bytes.Repeat([]byte("s"), n),
			Capabilities: ClientProtocol41 | ClientSecureConnection | ClientPluginAuth,
			AuthPlugin:   "caching_sha2_password"}
		var h2 Handshake
		if err := h2.Decode(h.AppendTo(nil)); err != nil {
			t.Fatalf("%d-byte scramble: %v", n, err)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("%d-byte scramble:\n%+v\n%+v", n, h, h2)
		}
	}
}
