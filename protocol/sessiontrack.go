package protocol

import (
	"strconv"
	"unsafe"
)

// Session state tracking (CLIENT_SESSION_TRACK): when the client asks for it and the server offers it, an OK
// packet whose status has SERVER_SESSION_STATE_CHANGED carries, after the info string, a length-encoded block of
// entries, each a one-byte type and length-encoded data:
//
//	string<lenenc> session state info
//	  repeated until the block ends:
//	    int<1>         type (SessionStateType)
//	    string<lenenc> data, by type:
//	      SESSION_TRACK_SYSTEM_VARIABLES (0): string<lenenc> name, string<lenenc> value
//	      SESSION_TRACK_SCHEMA (1): string<lenenc> schema name
//	      SESSION_TRACK_STATE_CHANGE (2): "1" (the data itself, not length-encoded again)
//	      SESSION_TRACK_GTIDS (3): int<1> encoding specification (0: text), string<lenenc> GTID set
//	      SESSION_TRACK_TRANSACTION_CHARACTERISTICS (4): string<lenenc> statements that restore them
//	      SESSION_TRACK_TRANSACTION_STATE (5): string<lenenc> 8 state characters (e.g. "T_____S_")
//
// See https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_basic_ok_packet.html and MySQL's
// "session_track" reference, and MariaDB's OK_Packet page. MySQL sends SESSION_TRACK_GTIDS for
// session_track_gtids=OWN_GTID|ALL_GTIDS; MariaDB has no GTID tracker and reports its last_gtid variable
// through SESSION_TRACK_SYSTEM_VARIABLES when session_track_system_variables names it.

// SessionStateType is the type byte of one session state entry.
type SessionStateType uint8

// Session state entry types (enum_session_state_type).
const (
	SessionTrackSystemVariables            SessionStateType = 0
	SessionTrackSchema                     SessionStateType = 1
	SessionTrackStateChange                SessionStateType = 2
	SessionTrackGTIDs                      SessionStateType = 3
	SessionTrackTransactionCharacteristics SessionStateType = 4
	SessionTrackTransactionState           SessionStateType = 5
)

var sessionStateTypeNames = [...]string{
	"SESSION_TRACK_SYSTEM_VARIABLES", "SESSION_TRACK_SCHEMA", "SESSION_TRACK_STATE_CHANGE",
	"SESSION_TRACK_GTIDS", "SESSION_TRACK_TRANSACTION_CHARACTERISTICS", "SESSION_TRACK_TRANSACTION_STATE",
}

// String returns the type's name as in the protocol documentation, e.g. "SESSION_TRACK_GTIDS".
func (t SessionStateType) String() string {
	if int(t) < len(sessionStateTypeNames) {
		return sessionStateTypeNames[t]
	}
	return "SESSION_TRACK(" + strconv.Itoa(int(t)) + ")"
}

// SessionStateChange is one decoded session state entry. Its slices alias the packet and are valid until the
// next read on the connection.
type SessionStateChange struct {
	Type SessionStateType
	// Name is the variable name of a SESSION_TRACK_SYSTEM_VARIABLES entry (nil for other types).
	Name []byte
	// Value is the entry's value: the variable's value, the schema name, the state-change flag, the GTID set,
	// the transaction characteristics or the transaction state. Nil for unknown types.
	Value []byte
	// GTIDEncoding is the encoding specification of a SESSION_TRACK_GTIDS entry (0: a text GTID set).
	GTIDEncoding uint8
	// Data is the entry's whole data, as sent (for every type, unknown ones included).
	Data []byte
}

// SessionStateIter walks the entries of a session state block (OKPacket.SessionState) without allocating.
//
//	it := protocol.NewSessionStateIter(ok.SessionState)
//	var ch protocol.SessionStateChange
//	for it.Next(&ch) { ... }
//	if err := it.Err(); err != nil { ... }
type SessionStateIter struct {
	r reader
}

// NewSessionStateIter returns an iterator over the entries of block (the content of the OK packet's session
// state string, as in OKPacket.SessionState).
func NewSessionStateIter(block []byte) SessionStateIter {
	return SessionStateIter{r: newReader("session state", block)}
}

// Next decodes the next entry into ch and reports whether there was one; at the end of the block or at the
// first malformed entry it returns false (Err tells which). Entries of unknown types are returned with only
// Type and Data set.
func (it *SessionStateIter) Next(ch *SessionStateChange) bool {
	r := &it.r
	if r.fail != nil || r.remaining() == 0 {
		return false
	}
	typ := SessionStateType(r.uint8("entry type"))
	data := r.lenencBytes("entry data")
	if r.fail != nil {
		return false
	}
	*ch = SessionStateChange{Type: typ, Data: data}
	d := newReader("session state entry", data)
	switch typ {
	case SessionTrackSystemVariables:
		ch.Name = d.lenencBytes("variable name")
		ch.Value = d.lenencBytes("variable value")
	case SessionTrackStateChange:
		ch.Value = data // the flag itself, not length-encoded again
	case SessionTrackSchema, SessionTrackTransactionCharacteristics, SessionTrackTransactionState:
		ch.Value = d.lenencBytes("value")
	case SessionTrackGTIDs:
		ch.GTIDEncoding = d.uint8("GTID encoding specification")
		ch.Value = d.lenencBytes("GTID set")
	default:
		return true
	}
	if d.fail != nil {
		msg := d.fail.Error()
		if pe, ok := d.fail.(*ProtocolError); ok {
			msg = pe.Msg
		}
		r.setErr("%s: %s", typ, msg)
		return false
	}
	return true
}

// Err returns the error that stopped Next early, nil when the block was read to its end.
func (it *SessionStateIter) Err() error { return it.r.fail }

// DecodeSessionState decodes every entry of a session state block (allocating; for tests and tools). The
// entries alias block.
func DecodeSessionState(block []byte) ([]SessionStateChange, error) {
	var out []SessionStateChange
	it := NewSessionStateIter(block)
	var ch SessionStateChange
	for it.Next(&ch) {
		out = append(out, ch)
	}
	return out, it.Err()
}

// AppendSessionStateChange encodes one session state entry (for fake servers and tests): Data is written as
// given when set, otherwise built from Name, Value and GTIDEncoding by Type.
func AppendSessionStateChange(dst []byte, ch SessionStateChange) []byte {
	data := ch.Data
	if data == nil {
		switch ch.Type {
		case SessionTrackSystemVariables:
			data = AppendLenEncString(AppendLenEncString(nil, string(ch.Name)), string(ch.Value))
		case SessionTrackGTIDs:
			data = AppendLenEncString([]byte{ch.GTIDEncoding}, string(ch.Value))
		case SessionTrackStateChange:
			data = ch.Value
		default:
			data = AppendLenEncString(nil, string(ch.Value))
		}
	}
	dst = append(dst, byte(ch.Type))
	return AppendLenEncString(dst, string(data))
}

// validateSessionState walks block once, so that a malformed entry fails the OK packet's decoding.
func validateSessionState(block []byte) error {
	it := NewSessionStateIter(block)
	var ch SessionStateChange
	for it.Next(&ch) {
	}
	return it.Err()
}

// mariaDBLastGTID is the MariaDB session variable holding the GTID of the session's last committed transaction.
const mariaDBLastGTID = "last_gtid"

// GTIDFromSessionState returns the GTID a session state block reports, nil when it reports none: the GTID set of
// a SESSION_TRACK_GTIDS entry (MySQL, session_track_gtids=OWN_GTID: "uuid:n"), or the value of MariaDB's
// last_gtid variable (session_track_system_variables naming last_gtid: "domain-server-sequence"). Empty values
// are no GTID. The result aliases block.
func GTIDFromSessionState(block []byte) []byte {
	var gtid []byte
	it := NewSessionStateIter(block)
	var ch SessionStateChange
	for it.Next(&ch) {
		if isGTIDChange(&ch) {
			gtid = ch.Value
		}
	}
	return gtid
}

func isGTIDChange(ch *SessionStateChange) bool {
	if len(ch.Value) == 0 {
		return false
	}
	switch ch.Type {
	case SessionTrackGTIDs:
		return ch.GTIDEncoding == 0
	case SessionTrackSystemVariables:
		return string(ch.Name) == mariaDBLastGTID
	}
	return false
}

// sessionTrack is what a Conn remembers of the session state the server reported.
type sessionTrack struct {
	gtid  string // the last GTID reported ("" none yet)
	count uint64 // how many GTIDs were reported
}

// trackSessionState records what an OK packet's session state block reports; called only for a non-empty
// block (the common OK carries none, and costs nothing here).
func (c *Conn) trackSessionState(block []byte) {
	it := NewSessionStateIter(block)
	var ch SessionStateChange
	for it.Next(&ch) {
		if isGTIDChange(&ch) {
			if string(ch.Value) != c.sess.gtid {
				c.sess.gtid = string(ch.Value)
			}
			c.sess.count++
			if c.OnGTID != nil {
				c.OnGTID(c.sess.gtid)
			}
		}
		if c.OnSessionState != nil {
			hook := ch // only this copy escapes to the hook
			c.OnSessionState(&hook)
		}
	}
}

// stringBytes returns the bytes of s without copying them; the result must only be read.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// noteOK updates the connection from a decoded OK packet: its status flags and its session state.
func (c *Conn) noteOK(ok *OKPacket) {
	c.status = ok.Status
	if ok.SessionState != "" {
		c.trackSessionState(stringBytes(ok.SessionState))
	}
}

// LastGTID returns the last GTID the server reported for this session through session state tracking (MySQL
// session_track_gtids=OWN_GTID, MariaDB session_track_system_variables with last_gtid), "" when none was. The
// session setup must ask the server to track it; nothing is reported otherwise.
func (c *Conn) LastGTID() string { return c.sess.gtid }

// GTIDCount returns how many GTIDs the server has reported for this session (see LastGTID): a command that
// changed it committed a transaction.
func (c *Conn) GTIDCount() uint64 { return c.sess.count }

// GTID returns the GTID the packet's session state reports (see GTIDFromSessionState), "" when none.
func (p *OKPacket) GTID() string {
	if p.SessionState == "" {
		return ""
	}
	return string(GTIDFromSessionState(stringBytes(p.SessionState)))
}
