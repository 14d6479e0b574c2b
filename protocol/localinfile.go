package protocol

import (
	"fmt"
	"io"
)

// LocalInfileError reports a LOAD DATA LOCAL INFILE request the client refused or could not serve. When the
// exchange was completed (the empty terminating packet sent and the server's reply read) the connection stays
// usable.
type LocalInfileError struct {
	Name  string // the file name the server asked for
	Err   error  // why it was refused or failed
	clean bool
}

// Error names the file and the cause.
func (e *LocalInfileError) Error() string {
	return fmt.Sprintf("rawmysql: LOAD DATA LOCAL INFILE %q: %v", e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *LocalInfileError) Unwrap() error { return e.Err }

// ErrLocalInfileRefused is the cause when no handler accepts the requested file.
var ErrLocalInfileRefused = fmt.Errorf("refused: the file is not registered (RegisterLocalFile / RegisterReaderHandler) and allowAllFiles is off")

// localInfileChunk is the payload size used to stream file contents.
const localInfileChunk = 1 << 16

// sendLocalInfile answers a LOCAL INFILE request (0xFB + file name): the file's contents in packets, then an
// empty packet. When the request is refused only the empty packet is sent, the server's reply is read, and a
// *LocalInfileError is returned with the connection in sync.
func (c *Conn) sendLocalInfile(name string) error {
	var rc io.ReadCloser
	herr := ErrLocalInfileRefused
	if c.LocalInfile != nil {
		rc, herr = c.LocalInfile(name)
	}
	if herr == nil && rc != nil {
		sent, err := c.streamInfile(rc)
		rc.Close()
		if ie, ok := err.(*IOError); ok { // the socket failed: nothing more can be sent
			return ie
		}
		if err != nil && sent {
			// Part of the file reached the server. Ending the data normally would load a truncated file, so
			// break the connection instead: the server aborts the statement.
			return &LocalInfileError{Name: name, Err: fmt.Errorf("reading the data failed after part of it was sent (statement aborted by closing the connection): %w", err)}
		}
		herr = err
	}
	if err := c.f.writePacket(c.f.startPacket()); err != nil {
		return err
	}
	if herr == nil {
		return nil
	}
	// Read the server's reply to the (empty) file so the connection stays in sync.
	p, err := c.f.readPacket()
	if err != nil {
		return err
	}
	switch {
	case len(p) > 0 && p[0] == 0xff:
		// An ERR: the server's complaint about an empty file adds nothing to ours, which is returned.
	case len(p) > 0 && p[0] == 0x00:
		var ok OKPacket
		if err := ok.Decode(p); err == nil {
			c.noteOK(&ok)
		}
	default:
		return protoErr("LOCAL INFILE reply", "unexpected packet with header 0x%02x", headByte(p))
	}
	return &LocalInfileError{Name: name, Err: herr, clean: true}
}

func (c *Conn) streamInfile(rd io.Reader) (sent bool, err error) {
	chunk := localInfileChunk
	if c.f.maxWrite > 0 && c.f.maxWrite-16 < chunk {
		chunk = c.f.maxWrite - 16
	}
	for {
		buf := c.f.startPacket()
		if cap(buf) < 4+chunk {
			buf = make([]byte, 4, 4+chunk)
		}
		buf = buf[:4+chunk]
		n, rerr := io.ReadFull(rd, buf[4:])
		if n > 0 && (rerr == nil || rerr == io.EOF || rerr == io.ErrUnexpectedEOF) {
			if werr := c.f.writePacket(buf[:4+n]); werr != nil {
				return true, werr
			}
			sent = true
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return sent, nil
		}
		if rerr != nil {
			return sent, rerr
		}
	}
}
