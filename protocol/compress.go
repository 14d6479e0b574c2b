package protocol

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
)

// Protocol compression (CLIENT_COMPRESS). Once authentication succeeds, both directions carry compressed
// packets, each wrapping a piece of the ordinary packet stream:
//
//	3 bytes  length of the compressed payload
//	1 byte   compressed sequence id (restarts at 0 with each command, shared by both directions)
//	3 bytes  length of the payload before compression; 0: the payload is sent as is
//	n bytes  payload: zlib data, or the raw bytes
//
// Ordinary packets (header included) may span compressed packets; a compressed packet carries at most
// MaxPayloadLen bytes before compression. Small payloads are sent uncompressed.
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_compression.html.

// minCompressLen: payloads shorter than this are sent uncompressed (MySQL's MIN_COMPRESS_LENGTH).
const minCompressLen = 50

// compressedHeaderLen is the size of a compressed packet's header.
const compressedHeaderLen = 7

// compressionCodec compresses the payload of one compressed packet. zlib is the one negotiated with
// CLIENT_COMPRESS; a zstd codec (CLIENT_ZSTD_COMPRESSION_ALGORITHM) would implement the same interface.
type compressionCodec interface {
	// compress appends the compressed form of src to dst.
	compress(dst, src []byte) ([]byte, error)
	// decompress appends exactly n bytes, the decompressed form of src, to dst; any other size is an error.
	decompress(dst, src []byte, n int) ([]byte, error)
}

// zlibCodec is the CLIENT_COMPRESS codec. Its writer and reader are reused across packets.
type zlibCodec struct {
	w   *zlib.Writer
	wb  bytes.Buffer
	r   io.ReadCloser
	src bytes.Reader
}

func (z *zlibCodec) compress(dst, src []byte) ([]byte, error) {
	z.wb.Reset()
	if z.w == nil {
		z.w = zlib.NewWriter(&z.wb)
	} else {
		z.w.Reset(&z.wb)
	}
	if _, err := z.w.Write(src); err != nil {
		return dst, err
	}
	if err := z.w.Close(); err != nil {
		return dst, err
	}
	return append(dst, z.wb.Bytes()...), nil
}

func (z *zlibCodec) decompress(dst, src []byte, n int) ([]byte, error) {
	z.src.Reset(src)
	if z.r == nil {
		r, err := zlib.NewReader(&z.src)
		if err != nil {
			return dst, err
		}
		z.r = r
	} else if err := z.r.(zlib.Resetter).Reset(&z.src, nil); err != nil {
		return dst, err
	}
	// Grow the output as data decompresses (a lying length costs nothing), reading one byte past n to catch a
	// stream longer than announced; reaching the end also checks zlib's checksum.
	start := len(dst)
	buf := bytes.NewBuffer(dst)
	m, err := io.Copy(buf, io.LimitReader(z.r, int64(n)+1))
	dst = buf.Bytes()
	if err != nil || m != int64(n) {
		if err == nil {
			err = io.ErrUnexpectedEOF
			if m > int64(n) {
				err = errors.New("longer than announced")
			}
		}
		return dst[:start], protoErr("compressed packet", "payload does not decompress to the %d bytes announced: %v", n, err)
	}
	return dst, nil
}

// compressor sits between the framer and the network connection: what the framer writes is sent as
// compressed packets, what it reads is the decompressed stream.
type compressor struct {
	nc    io.ReadWriter // the network connection (only Read and Write are used)
	codec compressionCodec
	seq   uint8 // next compressed sequence id

	in   []byte // decompressed bytes not yet read are in[inR:]
	inR  int
	hdr  [compressedHeaderLen]byte
	hdrN int    // bytes of hdr read so far (a read cut by a deadline resumes where it stopped)
	cbuf []byte // compressed payload being read (the part read so far)
	out  []byte // compressed packet being written
}

func newCompressor(nc io.ReadWriter, codec compressionCodec) *compressor {
	return &compressor{nc: nc, codec: codec}
}

// Write sends b as one or more compressed packets (each at most MaxPayloadLen bytes before compression).
func (z *compressor) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), MaxPayloadLen)
		if err := z.writeOne(b[:n]); err != nil {
			return written, err
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

func (z *compressor) writeOne(chunk []byte) error {
	out := append(z.out[:0], make([]byte, compressedHeaderLen)...)
	ulen := 0
	if len(chunk) >= minCompressLen {
		var err error
		out, err = z.codec.compress(out, chunk)
		if err != nil {
			return err
		}
		ulen = len(chunk)
		if len(out)-compressedHeaderLen >= len(chunk) { // no gain: send it as is
			out, ulen = out[:compressedHeaderLen], 0
		}
	}
	if ulen == 0 {
		out = append(out, chunk...)
	}
	clen := len(out) - compressedHeaderLen
	out[0], out[1], out[2] = byte(clen), byte(clen>>8), byte(clen>>16)
	out[3] = z.seq
	out[4], out[5], out[6] = byte(ulen), byte(ulen>>8), byte(ulen>>16)
	z.seq++
	z.out = out
	if cap(z.out) > maxIdleBufSize {
		z.out = nil
	}
	m, err := z.nc.Write(out)
	if err == nil && m < len(out) {
		err = io.ErrShortWrite
	}
	return err
}

// Read returns decompressed bytes, reading the next compressed packet when none are left.
func (z *compressor) Read(p []byte) (int, error) {
	for z.inR == len(z.in) {
		if err := z.readOne(); err != nil {
			return 0, err
		}
	}
	n := copy(p, z.in[z.inR:])
	z.inR += n
	if z.inR == len(z.in) && cap(z.in) > maxIdleBufSize {
		z.in, z.inR = nil, 0
	}
	return n, nil
}

// readOne reads the next compressed packet into in. A read cut short (a deadline set to interrupt a blocked
// read when a context ends, after which the connection is drained and reused) keeps what arrived in hdr and
// cbuf, and the next call goes on from there, so the compressed stream stays in step.
func (z *compressor) readOne() error {
	if z.hdrN == 0 {
		z.cbuf = z.cbuf[:0]
	}
	if z.hdrN < compressedHeaderLen {
		n, err := io.ReadFull(z.nc, z.hdr[z.hdrN:])
		z.hdrN += n
		if err != nil {
			if err == io.EOF && z.hdrN > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	clen := int(z.hdr[0]) | int(z.hdr[1])<<8 | int(z.hdr[2])<<16
	// Servers do not always follow the client's count (an early ERR answers a half-sent command), and
	// clients do not check it: continue from the server's number.
	z.seq = z.hdr[3] + 1
	ulen := int(z.hdr[4]) | int(z.hdr[5])<<8 | int(z.hdr[6])<<16
	// Read the payload in steps, so a lying length costs no more memory than the bytes that arrive.
	for len(z.cbuf) < clen {
		step := min(clen-len(z.cbuf), 64<<10)
		start := len(z.cbuf)
		z.cbuf = append(z.cbuf, make([]byte, step)...)
		m, err := io.ReadFull(z.nc, z.cbuf[start:])
		z.cbuf = z.cbuf[:start+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	z.hdrN = 0 // the packet is complete: the next call reads a new one
	z.in, z.inR = z.in[:0], 0
	if ulen == 0 {
		z.in = append(z.in, z.cbuf...)
	} else {
		var err error
		if z.in, err = z.codec.decompress(z.in, z.cbuf, ulen); err != nil {
			return err
		}
	}
	if cap(z.cbuf) > maxIdleBufSize {
		z.cbuf = nil
	}
	return nil
}

// startCompression switches the connection to compressed packets (zlib), after the OK that ends
// authentication.
func startCompression(c *Conn) error {
	if c.f.r != c.f.w {
		return protoErr("OK", "%d unexpected bytes after the authentication OK", c.f.w-c.f.r)
	}
	z := newCompressor(c.nc, &zlibCodec{})
	c.f.rd, c.f.wr = z, z
	c.f.comp = z
	return nil
}

// Compressed reports whether the connection uses protocol compression.
func (c *Conn) Compressed() bool { return c.f.comp != nil }
