package protocol

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressedPacket is one parsed compressed packet.
type compressedPacket struct {
	seq     uint8
	ulen    int    // uncompressed length from the header (0: not compressed)
	payload []byte // the payload after decompression
}

// parseCompressed splits a byte stream into compressed packets, decompressing with compress/zlib directly
// (independently of the code under test).
func parseCompressed(t *testing.T, b []byte) []compressedPacket {
	t.Helper()
	var out []compressedPacket
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 7, "truncated compressed header")
		clen := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		p := compressedPacket{seq: b[3], ulen: int(b[4]) | int(b[5])<<8 | int(b[6])<<16}
		require.GreaterOrEqual(t, len(b)-7, clen, "truncated compressed payload")
		data := b[7 : 7+clen]
		if p.ulen == 0 {
			p.payload = append([]byte(nil), data...)
		} else {
			zr, err := zlib.NewReader(bytes.NewReader(data))
			require.NoError(t, err)
			p.payload, err = io.ReadAll(zr)
			require.NoError(t, err)
			require.Len(t, p.payload, p.ulen)
		}
		out = append(out, p)
		b = b[7+clen:]
	}
	return out
}

// buildCompressed makes one compressed packet from payload (zlib-compressed when compress is set).
func buildCompressed(t testing.TB, seq uint8, payload []byte, compress bool) []byte {
	t.Helper()
	data, ulen := payload, 0
	if compress {
		var zb bytes.Buffer
		zw := zlib.NewWriter(&zb)
		_, err := zw.Write(payload)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		data, ulen = zb.Bytes(), len(payload)
	}
	h := []byte{byte(len(data)), byte(len(data) >> 8), byte(len(data) >> 16), seq, byte(ulen), byte(ulen >> 8), byte(ulen >> 16)}
	return append(h, data...)
}

// rwBuffer is an io.ReadWriter over separate input and output buffers.
type rwBuffer struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (b *rwBuffer) Read(p []byte) (int, error)  { return b.in.Read(p) }
func (b *rwBuffer) Write(p []byte) (int, error) { return b.out.Write(p) }

// compressedFramer returns a framer writing to and reading from a compressor over rw.
func compressedFramer(rw io.ReadWriter) *framer {
	z := newCompressor(rw, &zlibCodec{})
	return &framer{rd: z, wr: z, comp: z, maxRead: DefaultMaxReadPacket, maxWrite: 1 << 30}
}

func TestCompressedWriteFraming(t *testing.T) {
	rw := &rwBuffer{in: bytes.NewReader(nil)}
	f := compressedFramer(rw)

	// A small packet travels uncompressed: uncompressed length 0.
	require.NoError(t, f.writePacket(append(f.startPacket(), byte(ComPing))))
	raw := rw.out.Bytes()
	assert.Equal(t, []byte{5, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, byte(ComPing)}, raw,
		"header: 3-byte length 5, compressed seq 0, uncompressed length 0; then the packet as is")

	// A compressible packet is zlib-compressed and numbered next.
	rw.out.Reset()
	query := append([]byte{byte(ComQuery)}, bytes.Repeat([]byte("SELECT 1 UNION ALL "), 40)...)
	require.NoError(t, f.writePacket(append(f.startPacket(), query...)))
	pkts := parseCompressed(t, rw.out.Bytes())
	require.Len(t, pkts, 1)
	assert.Equal(t, uint8(1), pkts[0].seq)
	assert.Equal(t, len(query)+4, pkts[0].ulen)
	assert.Less(t, rw.out.Len(), len(query)/4, "the payload shrank")
	assert.Equal(t, frame(1, query), pkts[0].payload)

	// A new command restarts both sequences.
	f.resetSeq()
	rw.out.Reset()
	require.NoError(t, f.writePacket(append(f.startPacket(), byte(ComPing))))
	assert.Equal(t, uint8(0), rw.out.Bytes()[3])
}

func TestCompressedWriteIncompressible(t *testing.T) {
	rw := &rwBuffer{in: bytes.NewReader(nil)}
	f := compressedFramer(rw)
	noise := make([]byte, 4000)
	_, _ = rand.Read(noise) // random bytes: zlib cannot shrink them
	require.NoError(t, f.writePacket(append(f.startPacket(), noise...)))
	pkts := parseCompressed(t, rw.out.Bytes())
	require.Len(t, pkts, 1)
	assert.Equal(t, 0, pkts[0].ulen, "sent as is when compression does not help")
	assert.Equal(t, frame(0, noise), pkts[0].payload)
}

func TestCompressedLargeMultiPacketRoundTrip(t *testing.T) {
	// 20 MiB: the packet layer splits it into a 16 MiB - 1 frame and a rest, and the compressed layer carries at
	// most 16 MiB - 1 uncompressed bytes per compressed packet, so frames span compressed packets.
	payload := make([]byte, 20<<20)
	for i := range payload {
		payload[i] = byte(i % 251)
	}
	w := &rwBuffer{in: bytes.NewReader(nil)}
	fw := compressedFramer(w)
	require.NoError(t, fw.writePacket(append(fw.startPacket(), payload...)))
	pkts := parseCompressed(t, w.out.Bytes())
	require.GreaterOrEqual(t, len(pkts), 2)
	var stream []byte
	for i, p := range pkts {
		assert.Equal(t, uint8(i), p.seq)
		assert.LessOrEqual(t, len(p.payload), MaxPayloadLen)
		stream = append(stream, p.payload...)
	}
	want, _ := AppendPacket(nil, 0, payload) // a MaxPayloadLen frame and the rest
	require.True(t, bytes.Equal(want, stream), "the stream inside is the ordinary packet stream")

	// Read it back through another compressed framer.
	r := &rwBuffer{in: bytes.NewReader(w.out.Bytes())}
	fr := compressedFramer(r)
	got, err := fr.readPacket()
	require.NoError(t, err)
	require.True(t, bytes.Equal(payload, got))
}

func TestCompressedReadFraming(t *testing.T) {
	ok := []byte{0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00}
	row := bytes.Repeat([]byte("abcdefgh"), 100)
	stream := frame(1, ok)
	stream = append(stream, frame(2, row)...)
	var in []byte
	// Compressed packet 1: the OK and the first 100 bytes of the row packet, as is; packet 2: the rest, zlib.
	in = append(in, buildCompressed(t, 1, stream[:len(ok)+4+100], false)...)
	in = append(in, buildCompressed(t, 2, stream[len(ok)+4+100:], true)...)
	f := compressedFramer(&rwBuffer{in: bytes.NewReader(in)})
	f.seq = 1
	p, err := f.readPacket()
	require.NoError(t, err)
	assert.Equal(t, ok, p)
	p, err = f.readPacket()
	require.NoError(t, err)
	assert.Equal(t, row, p)
	assert.Equal(t, uint8(3), f.comp.seq, "the compressed sequence follows the server")
}

func TestCompressedReadMalformed(t *testing.T) {
	inner := frame(0, bytes.Repeat([]byte{'x'}, 200))
	good := buildCompressed(t, 0, inner, true)
	lying := append([]byte(nil), good...)
	lying[4]++ // announce one byte more than the data holds
	garbage := append(append([]byte(nil), good[:7]...), bytes.Repeat([]byte{0x55}, len(good)-7)...)
	cases := map[string][]byte{
		"uncompressed length mismatch": lying,
		"not zlib":                     garbage,
		"truncated payload":            good[:len(good)-3],
		"truncated header":             good[:5],
		"huge length, no data":         {0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 1, 2, 3},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			f := compressedFramer(&rwBuffer{in: bytes.NewReader(in)})
			_, err := f.readPacket()
			require.Error(t, err)
		})
	}
}

// FuzzCompressedRead feeds arbitrary bytes to the compressed read path: errors are fine, panics and runaway
// allocations are not.
func FuzzCompressedRead(f *testing.F) {
	f.Add([]byte{5, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x0e})
	f.Add([]byte{0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff})
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	_, _ = zw.Write(frame(0, bytes.Repeat([]byte("abc"), 50)))
	_ = zw.Close()
	f.Add(append([]byte{byte(zb.Len()), 0, 0, 0, 154, 0, 0}, zb.Bytes()...))
	// One packet split over two compressed packets, the second compressed; then a corrupt checksum.
	split := frame(3, bytes.Repeat([]byte("xyz"), 40))
	two := append(buildCompressed(f, 0, split[:10], false), buildCompressed(f, 1, split[10:], true)...)
	f.Add(two)
	bad := bytes.Clone(two)
	bad[len(bad)-1] ^= 1
	f.Add(bad)
	f.Fuzz(func(t *testing.T, in []byte) {
		// The reference: decompress packet by packet with a fresh zlib reader each, up to the first bad one;
		// every ordinary packet complete within those bytes must come out of the framer, and nothing else.
		stream := refDecompress(in)
		fr := compressedFramer(&rwBuffer{in: bytes.NewReader(in)})
		fr.maxRead = 1 << 20
		for i := 0; i < 8; i++ {
			var want []byte
			ok := len(stream) >= 4
			if ok {
				n := int(stream[0]) | int(stream[1])<<8 | int(stream[2])<<16
				ok = n <= fr.maxRead && len(stream) >= 4+n
				if ok {
					want, stream = stream[4:4+n], stream[4+n:]
				}
			}
			got, err := fr.readPacket()
			if ok != (err == nil) {
				t.Fatalf("packet %d: complete in the stream: %v; framer error: %v", i, ok, err)
			}
			if !ok {
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("packet %d: got %x, want %x", i, got, want)
			}
		}
	})
}

// refDecompress returns the ordinary packet stream carried by the compressed packets in b, up to the first
// one that is truncated or does not decompress to its announced length.
func refDecompress(b []byte) []byte {
	var out []byte
	for len(b) >= compressedHeaderLen {
		clen := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		ulen := int(b[4]) | int(b[5])<<8 | int(b[6])<<16
		b = b[compressedHeaderLen:]
		if clen > len(b) {
			break
		}
		payload := b[:clen]
		b = b[clen:]
		if ulen == 0 {
			out = append(out, payload...)
			continue
		}
		zr, err := zlib.NewReader(bytes.NewReader(payload))
		if err != nil {
			break
		}
		data, err := io.ReadAll(io.LimitReader(zr, int64(ulen)+1))
		if err != nil || len(data) != ulen {
			break
		}
		out = append(out, data...)
	}
	return out
}

// cutReader returns in's bytes, failing once with a timeout after cut bytes (as a read deadline set to
// interrupt a blocked read does); later reads go on.
type cutReader struct {
	in   []byte
	cut  int
	done bool
}

func (r *cutReader) Read(p []byte) (int, error) {
	if !r.done && r.cut == 0 {
		r.done = true
		return 0, os.ErrDeadlineExceeded
	}
	n := len(p)
	if !r.done {
		n = min(n, r.cut)
	}
	n = copy(p, r.in[:min(n, len(r.in))])
	if n == 0 {
		return 0, io.EOF
	}
	r.in = r.in[n:]
	if !r.done {
		r.cut -= n
	}
	return n, nil
}

func (r *cutReader) Write(p []byte) (int, error) { return len(p), nil }

// A read of compressed packets cut by a deadline anywhere (in a header, in a payload, between packets) resumes
// where it stopped: the packets read afterwards are the ones sent (cancel recovery drains a compressed
// connection this way).
func TestCompressedReadResumesAfterTimeout(t *testing.T) {
	ok := []byte{0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00}
	row := bytes.Repeat([]byte("abcdefgh"), 100)
	stream := append(frame(1, ok), frame(2, row)...)
	var in []byte
	in = append(in, buildCompressed(t, 1, stream[:len(ok)+4+100], false)...)
	in = append(in, buildCompressed(t, 2, stream[len(ok)+4+100:], true)...)
	for cut := 0; cut < len(in); cut++ {
		f := compressedFramer(&cutReader{in: in, cut: cut})
		f.seq = 1
		var got [][]byte
		timeouts := 0
		for len(got) < 2 {
			p, err := f.readPacket()
			if err != nil {
				require.ErrorIs(t, err, os.ErrDeadlineExceeded, "cut at %d", cut)
				timeouts++
				require.Equal(t, 1, timeouts, "cut at %d: one timeout", cut)
				continue
			}
			got = append(got, bytes.Clone(p))
		}
		assert.Equal(t, ok, got[0], "cut at %d", cut)
		assert.Equal(t, row, got[1], "cut at %d", cut)
	}
}
