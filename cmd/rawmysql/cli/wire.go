package cli

import (
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/rawmysql/rawmysql/protocol"
)

// wire follows the packets of every connection the driver opens (through rawmysql's Config.PacketTrace), decodes
// each one by where it comes in its connection's conversation, and prints it when out is not nil. It also records
// the last OK packet, which gives the CLI the warnings count and info text database/sql does not expose.
// Authentication data and passwords in SQL (IDENTIFIED BY '...', PASSWORD('...')) are masked, in the decoded
// fields and in the hex dump.
//
// PacketTrace does not say which connection a packet belongs to, and a second connection can be traced while
// the first one waits for a reply: the KILL QUERY side connection the driver opens when a statement is
// cancelled. wire therefore keeps one decoder per connection and routes each packet by its sequence id: a
// server packet with sequence id 0 is the greeting of a new connection; a client packet with sequence id 0
// starts a command on a connection waiting for one; any other packet continues the connection whose exchange
// it follows. A client packet that continues no exchange expecting one from the client is masked whole, so
// that authentication data is never shown whichever connection it belongs to.
type wire struct {
	mu       sync.Mutex
	out      io.Writer // nil: decode without printing
	maxBytes int       // hex dump limit per packet

	conns  []*connState // open connections, oldest first
	recent *connState   // the connection of the previous packet
	nextID int          // number given to the next connection (shown when there are several)

	last summary // the last OK, or the EOF ending rows, of any connection
}

// connState decodes the packets of one connection.
type connState struct {
	id   int
	seq  uint8 // sequence id of the last packet
	last *summary

	phase        phase
	serverCaps   protocol.Capability
	clientCaps   protocol.Capability
	mariadbCaps  uint32 // MariaDB extended capabilities the client asked for (MARIADB_CLIENT_CACHE_METADATA)
	sentResponse bool   // the HandshakeResponse41 went out (auth phase)
	cmd          protocol.Command
	binary       bool // rows of COM_STMT_EXECUTE
	left         int  // column (or parameter) definitions still to come
	prepCols     int  // COM_STMT_PREPARE: column definitions after the parameters
	afterDefs    phase
	quit         bool // the connection ends: COM_QUIT went out, or the server refused it

	status protocol.StatusFlag // status flags of the last OK or EOF
}

// summary is what the last completed result told.
type summary struct {
	affected, lastID uint64
	warnings         uint16
	info             string
}

type phase int

const (
	phHandshake phase = iota // waiting for the server's greeting
	phAuth                   // authentication exchange
	phIdle                   // waiting for a command
	phHeader                 // waiting for a result header (OK, ERR, LOCAL INFILE or column count)
	phDefs                   // column or parameter definitions
	phDefsEOF                // EOF after definitions (without CLIENT_DEPRECATE_EOF)
	phRows                   // rows, until EOF/OK or ERR
	phPrepare                // waiting for COM_STMT_PREPARE_OK
	phInfile                 // the client streams a LOCAL INFILE file
	phOK                     // waiting for OK or ERR
)

// Trace is the Config.PacketTrace function.
func (w *wire) Trace(dir byte, seq uint8, payload []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.route(dir, seq, payload)
	kind, fields, masks := c.decode(dir, seq, payload)
	c.seq = seq
	w.recent = c
	if c.quit {
		w.drop(c)
	}
	if w.out == nil {
		return
	}
	arrow := "C->S"
	if dir == '<' {
		arrow = "S->C"
	}
	conn := ""
	if c.id > 1 {
		conn = fmt.Sprintf(" conn=%d", c.id)
	}
	fmt.Fprintf(w.out, "%s%s seq=%-3d len=%-6d %s", arrow, conn, seq, len(payload), kind)
	if fields != "" {
		fmt.Fprintf(w.out, "  %s", fields)
	}
	fmt.Fprintln(w.out)
	hexDump(w.out, payload, masks, w.maxBytes)
}

// summary returns the last result's counts.
func (w *wire) summary() summary {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// route finds the connection a packet belongs to (see wire).
func (w *wire) route(dir byte, seq uint8, payload []byte) *connState {
	if dir == '<' && seq == 0 {
		return w.open()
	}
	var pick *connState
	for _, c := range w.conns {
		var fits bool
		if dir == '>' && seq == 0 {
			fits = c.phase == phIdle
		} else {
			fits = c.phase != phIdle && c.seq+1 == seq && (c.phase == phAuth || (dir == '>') == c.expectsClient())
		}
		if !fits {
			continue
		}
		switch {
		case pick == nil:
			pick = c
		case dir == '>' && seq == 0:
			// Several connections wait for a command: COM_QUIT most likely ends the short-lived one (the
			// newest), any other command goes to the oldest (the session's).
			if len(payload) > 0 && protocol.Command(payload[0]) == protocol.ComQuit {
				pick = c
			}
		case c == w.recent:
			pick = c
		}
	}
	switch {
	case pick != nil:
		return pick
	case w.recent != nil && !w.recent.quit:
		return w.recent
	case len(w.conns) > 0:
		return w.conns[len(w.conns)-1]
	}
	return w.open() // a trace started mid-connection
}

// open starts the decoder of a new connection.
func (w *wire) open() *connState {
	w.nextID++
	c := &connState{id: w.nextID, last: &w.last}
	w.conns = append(w.conns, c)
	if len(w.conns) == 1 {
		// Numbers are shown only while connections overlap: the first connection of a quiet moment is 1.
		c.id, w.nextID = 1, 1
	}
	return c
}

// drop forgets a connection that ended.
func (w *wire) drop(c *connState) {
	for i, o := range w.conns {
		if o == c {
			w.conns = append(w.conns[:i], w.conns[i+1:]...)
			break
		}
	}
	if w.recent == c {
		w.recent = nil
	}
}

// expectsClient reports whether the connection's next packet comes from the client.
func (w *connState) expectsClient() bool {
	switch w.phase {
	case phHandshake, phAuth, phInfile, phIdle:
		return true
	}
	return false
}

// span is a byte range [a, b) of a payload to mask.
type span struct{ a, b int }

func (w *connState) decode(dir byte, seq uint8, p []byte) (kind, fields string, masks []span) {
	if dir == '>' {
		return w.client(seq, p)
	}
	return w.server(p)
}

func (w *connState) deprecateEOF() bool {
	return w.clientCaps.Has(protocol.ClientDeprecateEOF) && w.serverCaps.Has(protocol.ClientDeprecateEOF)
}

func (w *connState) client(seq uint8, p []byte) (string, string, []span) {
	switch w.phase {
	case phHandshake, phAuth:
		if !w.sentResponse {
			if len(p) == 32 {
				caps := protocol.Capability(binary.LittleEndian.Uint32(p))
				return "SSLRequest", "caps=" + caps.String(), nil
			}
			w.sentResponse = true
			return w.handshakeResponse(p)
		}
		return "AuthResponse", fmt.Sprintf("data=<%d bytes masked>", len(p)), []span{{0, len(p)}}
	case phInfile:
		if len(p) == 0 {
			w.phase = phOK
			return "LocalInfileEnd", "", nil
		}
		return "LocalInfileData", "", nil
	}
	if seq != 0 {
		// Not a command (commands start at sequence id 0) and not a packet this connection expects from the
		// client: possibly authentication data of a connection the trace did not follow. Shown masked.
		return "Packet?", fmt.Sprintf("unexpected client packet, <%d bytes masked>", len(p)), []span{{0, len(p)}}
	}
	if len(p) == 0 {
		return "Command?", "empty packet", nil
	}
	cmd := protocol.Command(p[0])
	w.cmd = cmd
	name := cmd.String()
	switch cmd {
	case protocol.ComQuery, protocol.ComStmtPrepare:
		text := string(p[1:])
		masks := sqlSecrets(text, 1)
		if cmd == protocol.ComQuery {
			w.phase, w.binary = phHeader, false
		} else {
			w.phase = phPrepare
		}
		return name, "sql=" + strconv.Quote(maskString(text, masks, 1)), masks
	case protocol.ComStmtExecute:
		w.phase, w.binary = phHeader, true
		if len(p) >= 10 {
			return name, fmt.Sprintf("stmt_id=%d flags=%d params=%d bytes", binary.LittleEndian.Uint32(p[1:]), p[5], len(p)-10), nil
		}
		return name, "", nil
	case protocol.ComStmtClose, protocol.ComStmtReset, protocol.ComStmtSendLongData:
		if cmd == protocol.ComStmtReset {
			w.phase = phOK
		} else {
			w.phase = phIdle
		}
		if len(p) >= 5 {
			return name, fmt.Sprintf("stmt_id=%d", binary.LittleEndian.Uint32(p[1:])), nil
		}
		return name, "", nil
	case protocol.ComQuit:
		w.phase, w.quit = phIdle, true
		return name, "", nil
	case protocol.ComInitDB:
		w.phase = phOK
		return name, "db=" + strconv.Quote(string(p[1:])), nil
	}
	w.phase = phOK
	return name, "", nil
}

// handshakeResponse decodes HandshakeResponse41 and masks its auth response.
func (w *connState) handshakeResponse(p []byte) (string, string, []span) {
	var hr protocol.HandshakeResponse
	if err := hr.Decode(p); err != nil {
		return "HandshakeResponse41", "undecodable: " + err.Error() + " (masked)", []span{{0, len(p)}}
	}
	w.clientCaps = hr.Capabilities
	w.mariadbCaps = hr.MariaDBCaps
	// The auth response starts after caps(4) max_packet(4) charset(1) filler(23) user NUL.
	start := 32 + len(hr.User) + 1
	switch {
	case hr.Capabilities.Has(protocol.ClientPluginAuthLenencClientData):
		_, _, n := protocol.ReadLenEncInt(p[start:])
		start += n
	case hr.Capabilities.Has(protocol.ClientSecureConnection):
		start++
	}
	end := min(start+len(hr.AuthResponse), len(p))
	fields := fmt.Sprintf("user=%q auth=<%d bytes masked> db=%q plugin=%s collation=%s max_packet=%d caps=%s",
		hr.User, len(hr.AuthResponse), hr.Database, hr.AuthPlugin, protocol.CollationName(hr.Charset), hr.MaxPacketSize, hr.Capabilities)
	if len(hr.Attributes) > 0 {
		var b strings.Builder
		for i, kv := range hr.Attributes {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(kv[0] + "=" + kv[1])
		}
		fields += " attrs=" + b.String()
	}
	return "HandshakeResponse41", fields, []span{{start, end}}
}

func (w *connState) server(p []byte) (string, string, []span) {
	if len(p) == 0 {
		return "Packet?", "empty packet", nil
	}
	switch w.phase {
	case phHandshake:
		var hs protocol.Handshake
		if err := hs.Decode(p); err != nil {
			w.quit = p[0] == 0xff // refused ("Too many connections"): the server closes the connection
			return w.errOr("Handshake", err)
		}
		w.serverCaps = hs.Capabilities
		w.phase = phAuth
		// The scramble is a public nonce; it is shown.
		return "HandshakeV10", fmt.Sprintf("server=%q connection_id=%d plugin=%s scramble=%x collation=%s status=%s caps=%s",
			hs.ServerVersion, hs.ConnectionID, hs.AuthPlugin, hs.AuthData, protocol.CollationName(hs.Charset), hs.Status, hs.Capabilities), nil
	case phAuth:
		switch p[0] {
		case 0x00:
			w.phase = phIdle
			return w.ok(p, "OK")
		case 0xff:
			w.quit = true // authentication failed: the server closes the connection
			return w.errOr("ERR", protocol.DecodeError(p))
		case 0xfe:
			var sw protocol.AuthSwitchRequest
			if err := sw.Decode(p); err != nil {
				return "AuthSwitchRequest", err.Error(), nil
			}
			return "AuthSwitchRequest", fmt.Sprintf("plugin=%s data=%d bytes", sw.Plugin, len(sw.Data)), nil
		case 0x01:
			return "AuthMoreData", describeMoreData(p[1:]), nil
		}
		return "Packet?", fmt.Sprintf("unexpected header 0x%02x in authentication", p[0]), nil
	case phOK, phIdle:
		switch p[0] {
		case 0x00:
			w.phase = phIdle
			return w.ok(p, "OK")
		case 0xff:
			w.phase = phIdle
			return w.errOr("ERR", protocol.DecodeError(p))
		}
		return "Packet?", fmt.Sprintf("header 0x%02x", p[0]), nil
	case phHeader:
		switch p[0] {
		case 0x00:
			kind, fields, m := w.ok(p, "OK")
			if w.status&protocol.StatusMoreResultsExists == 0 {
				w.phase = phIdle
			}
			return kind, fields, m
		case 0xff:
			w.phase = phIdle
			return w.errOr("ERR", protocol.DecodeError(p))
		case 0xfb:
			w.phase = phInfile
			return "LocalInfileRequest", "file=" + strconv.Quote(string(p[1:])), nil
		}
		n, _, m := protocol.ReadLenEncInt(p)
		w.left, w.prepCols, w.phase, w.afterDefs = int(n), 0, phDefs, phRows
		if w.mariadbCaps&protocol.MariaDBClientCacheMetadata != 0 && m > 0 && len(p) == m+1 && p[m] <= 1 {
			// MARIADB_CLIENT_CACHE_METADATA: a byte says whether the definitions follow; an execution of a
			// statement whose columns did not change skips them.
			if p[m] == 0 {
				w.left = 0
				w.endDefs()
				return "ColumnCount", fmt.Sprintf("columns=%d metadata=skipped (cached)", n), nil
			}
			return "ColumnCount", fmt.Sprintf("columns=%d metadata=follows", n), nil
		}
		return "ColumnCount", fmt.Sprintf("columns=%d", n), nil
	case phPrepare:
		if p[0] == 0xff {
			w.phase = phIdle
			return w.errOr("ERR", protocol.DecodeError(p))
		}
		var ok protocol.StmtPrepareOK
		if err := ok.Decode(p); err != nil {
			w.phase = phIdle
			return "COM_STMT_PREPARE_OK?", err.Error(), nil
		}
		cols, params := int(ok.NumColumns), int(ok.NumParams)
		w.left, w.prepCols, w.afterDefs = params, cols, phIdle
		w.phase = phDefs
		if params == 0 {
			w.left, w.prepCols = cols, 0
		}
		if w.left == 0 {
			w.phase = phIdle
		}
		return "COM_STMT_PREPARE_OK", fmt.Sprintf("stmt_id=%d columns=%d params=%d warnings=%d", ok.StatementID, cols, params, ok.Warnings), nil
	case phDefs:
		var col protocol.Column
		if err := col.Decode(p); err != nil {
			return "ColumnDefinition41", err.Error(), nil
		}
		w.left--
		if w.left <= 0 {
			w.endDefs()
		}
		return "ColumnDefinition41", fmt.Sprintf("name=%q table=%q schema=%q type=%s length=%d flags=%s decimals=%d collation=%s",
			col.Name, col.Table, col.Schema, col.Type, col.Length, col.Flags, col.Decimals, protocol.CollationName(uint8(col.Charset))), nil
	case phDefsEOF:
		w.phase = w.afterDefs
		if w.prepCols > 0 {
			w.left, w.prepCols, w.phase = w.prepCols, 0, phDefs
		}
		return w.eofOrOK(p, false)
	case phRows:
		switch {
		case p[0] == 0xff:
			w.phase = phIdle
			return w.errOr("ERR", protocol.DecodeError(p))
		case protocol.IsEOFPacket(p, w.deprecateEOF()):
			kind, fields, m := w.eofOrOK(p, true)
			if w.status&protocol.StatusMoreResultsExists != 0 {
				w.phase = phHeader
			} else {
				w.phase = phIdle
			}
			return kind, fields, m
		case w.binary:
			return "BinaryRow", "", nil
		}
		return "TextRow", describeTextRow(p), nil
	}
	return "Packet?", "", nil
}

// endDefs moves past the last definition of a group.
func (w *connState) endDefs() {
	if !w.deprecateEOF() {
		w.phase = phDefsEOF
		return
	}
	if w.prepCols > 0 {
		w.left, w.prepCols = w.prepCols, 0
		return
	}
	w.phase = w.afterDefs
}

func (w *connState) ok(p []byte, kind string) (string, string, []span) {
	var ok protocol.OKPacket
	if err := ok.Decode(p); err != nil {
		return kind, err.Error(), nil
	}
	w.status = ok.Status
	*w.last = summary{affected: ok.AffectedRows, lastID: ok.LastInsertID, warnings: ok.Warnings, info: ok.Info}
	fields := fmt.Sprintf("affected_rows=%d last_insert_id=%d status=%s warnings=%d", ok.AffectedRows, ok.LastInsertID, ok.Status, ok.Warnings)
	if ok.Info != "" {
		fields += " info=" + strconv.Quote(ok.Info)
	}
	return kind, fields, nil
}

// eofOrOK decodes the packet ending definitions or rows: an EOF, or an OK with CLIENT_DEPRECATE_EOF.
func (w *connState) eofOrOK(p []byte, endOfRows bool) (string, string, []span) {
	if len(p) < 9 && !(w.deprecateEOF() && endOfRows) {
		var eof protocol.EOFPacket
		if err := eof.Decode(p); err != nil {
			return "EOF", err.Error(), nil
		}
		w.status = eof.Status
		if endOfRows {
			*w.last = summary{warnings: eof.Warnings}
		}
		return "EOF", fmt.Sprintf("status=%s warnings=%d", eof.Status, eof.Warnings), nil
	}
	return w.ok(p, "OK (end of rows)")
}

func (w *connState) errOr(kind string, err error) (string, string, []span) {
	if se, ok := err.(*protocol.ServerError); ok {
		return "ERR", fmt.Sprintf("code=%d sqlstate=%s message=%q", se.Number, se.SQLState, se.Message), nil
	}
	return kind, err.Error(), nil
}

// describeMoreData names the caching_sha2_password signals; other data (an RSA key, a plugin's data) by size.
func describeMoreData(d []byte) string {
	if len(d) == 1 {
		switch d[0] {
		case 3:
			return "fast auth success (0x03)"
		case 4:
			return "perform full authentication (0x04)"
		}
	}
	if strings.HasPrefix(string(d), "-----BEGIN PUBLIC KEY") {
		return "server RSA public key"
	}
	return fmt.Sprintf("data=%d bytes", len(d))
}

// describeTextRow shows the first values of a text row.
func describeTextRow(p []byte) string {
	var b strings.Builder
	for i := 0; len(p) > 0; i++ {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if p[0] == 0xfb {
			b.WriteString("NULL")
			p = p[1:]
			continue
		}
		n, _, k := protocol.ReadLenEncInt(p)
		if k == 0 || uint64(len(p)-k) < n {
			b.WriteString("<truncated>")
			break
		}
		v := string(p[k : k+int(n)])
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		b.WriteString(strconv.Quote(v))
		p = p[k+int(n):]
	}
	return "values=" + b.String()
}

// secretSQL finds string literals holding passwords: IDENTIFIED BY '...', IDENTIFIED WITH x AS/BY '...',
// PASSWORD('...'), SET PASSWORD = '...'.
var secretSQL = regexp.MustCompile(`(?is)(?:IDENTIFIED\s+(?:WITH\s+\S+\s+)?(?:BY|AS)|PASSWORD\s*\(|PASSWORD\s*(?:FOR\s+\S+\s*)?=)\s*('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")`)

// sqlSecrets returns the ranges (shifted by off) of the password literals' contents in text.
func sqlSecrets(text string, off int) []span {
	var out []span
	for _, m := range secretSQL.FindAllStringSubmatchIndex(text, -1) {
		a, b := m[2]+1, m[3]-1 // inside the quotes
		if b > a {
			out = append(out, span{a + off, b + off})
		}
	}
	return out
}

// maskString replaces the masked ranges (shifted by off) of s with '*'.
func maskString(s string, masks []span, off int) string {
	if len(masks) == 0 {
		return s
	}
	b := []byte(s)
	for _, m := range masks {
		for i := m.a - off; i < m.b-off && i < len(b); i++ {
			b[i] = '*'
		}
	}
	return string(b)
}

// hexDump writes up to max bytes of p, 16 a line, masked bytes as "**".
func hexDump(out io.Writer, p []byte, masks []span, max int) {
	masked := func(i int) bool {
		for _, m := range masks {
			if i >= m.a && i < m.b {
				return true
			}
		}
		return false
	}
	n := len(p)
	if max > 0 && n > max {
		n = max
	}
	var line strings.Builder
	for off := 0; off < n; off += 16 {
		line.Reset()
		fmt.Fprintf(&line, "    %04x  ", off)
		var ascii strings.Builder
		for i := off; i < off+16; i++ {
			switch {
			case i >= n:
				line.WriteString("   ")
			case masked(i):
				line.WriteString("** ")
				ascii.WriteByte('*')
			default:
				fmt.Fprintf(&line, "%02x ", p[i])
				if p[i] >= 0x20 && p[i] < 0x7f {
					ascii.WriteByte(p[i])
				} else {
					ascii.WriteByte('.')
				}
			}
		}
		fmt.Fprintf(out, "%s |%s|\n", line.String(), ascii.String())
	}
	if n < len(p) {
		fmt.Fprintf(out, "    ... %d more bytes\n", len(p)-n)
	}
}
