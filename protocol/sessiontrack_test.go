package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OK packets with session state, captured from MariaDB 10.11.19 (Debian; a private server with --log-bin and
// --server-id=7) with the packet tracer, after the client asked for CLIENT_SESSION_TRACK.
const (
	// The OK that ends authentication (database "test" in the handshake response).
	fixtureOKAuthSchema = "00" + // header
		"00" + // affected rows 0
		"00" + // last insert id 0
		"0240" + // status: AUTOCOMMIT | SESSION_STATE_CHANGED
		"0000" + // warnings 0
		"00" + // info: lenenc "" (present because the state changed)
		"07" + // session state info: 7 bytes
		"01" + "05" + "0474657374" // SESSION_TRACK_SCHEMA, data 5 bytes: lenenc "test"

	// INSERT INTO cap VALUES (1) after SET SESSION session_track_system_variables = 'last_gtid'.
	fixtureOKLastGTID = "00" + // header
		"01" + // affected rows 1
		"00" + // last insert id 0
		"0240" + // status: AUTOCOMMIT | SESSION_STATE_CHANGED
		"0000" + // warnings 0
		"00" + // info ""
		"12" + // session state info: 18 bytes
		"00" + "10" + // SESSION_TRACK_SYSTEM_VARIABLES, data 16 bytes:
		"096c6173745f67746964" + // lenenc "last_gtid"
		"05302d372d32" // lenenc "0-7-2" (domain 0, server 7, sequence 2)

	// USE test with session_track_schema and session_track_state_change on.
	fixtureOKSchemaStateChange = "00 00 00 0240 0000 00" + // header, affected, insert id, status, warnings, info ""
		"0a" + // session state info: 10 bytes
		"01" + "05" + "0474657374" + // SESSION_TRACK_SCHEMA: lenenc "test"
		"02" + "01" + "31" // SESSION_TRACK_STATE_CHANGE, data 1 byte: "1" (not length-encoded again)

	// SET SESSION session_track_transaction_info = CHARACTERISTICS.
	fixtureOKTxInfo = "00 00 00 0240 0000 00" +
		"11" + // session state info: 17 bytes
		"02" + "01" + "31" + // SESSION_TRACK_STATE_CHANGE: "1"
		"05" + "09" + "085f5f5f5f5f5f5f5f" + // SESSION_TRACK_TRANSACTION_STATE, 9 bytes: lenenc "________"
		"04" + "01" + "00" // SESSION_TRACK_TRANSACTION_CHARACTERISTICS, 1 byte: lenenc ""

	// START TRANSACTION READ WRITE with the transaction tracker on.
	fixtureOKStartTx = "00 00 00" + // header, affected, insert id
		"0340" + // status: IN_TRANS | AUTOCOMMIT | SESSION_STATE_CHANGED
		"0000 00" + // warnings, info ""
		"2b" + // session state info: 43 bytes
		"05" + "09" + "08545f5f5f5f5f5f5f" + // SESSION_TRACK_TRANSACTION_STATE: "T_______"
		"04" + "1e" + "1d" + "5354415254205452414e53414354494f4e20524541442057524954453b" // CHARACTERISTICS: "START TRANSACTION READ WRITE;"

	// SET autocommit = 0 with session_track_system_variables = 'autocommit,last_gtid'.
	fixtureOKAutocommitOff = "00 00 00" +
		"0040" + // status: SESSION_STATE_CHANGED only (autocommit now off)
		"0000 00" +
		"11" + // 17 bytes
		"00" + "0f" + "0a6175746f636f6d6d6974" + "034f4646" // SYSTEM_VARIABLES: "autocommit" = "OFF"
)

// SESSION_TRACK_GTIDS captured from MySQL 9.7.4 (gtid_mode=ON, --log-bin) after SET session_track_gtids =
// OWN_GTID: the OK of CREATE TABLE IF NOT EXISTS (the table existed: one warning).
const fixtureOKOwnGTID = "00 00 00" + // header, affected rows 0, last insert id 0
	"0240" + // status: AUTOCOMMIT | SESSION_STATE_CHANGED
	"0100" + // warnings 1
	"00" + // info ""
	"2a" + // session state info: 42 bytes
	"03" + "28" + // SESSION_TRACK_GTIDS, data 40 bytes:
	"00" + // encoding specification 0 (text)
	"26" + "32626566366361662d656531632d313166312d613435372d3032343261633131303030333a36" // lenenc "2bef6caf-ee1c-11f1-a457-0242ac110003:6"

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func TestOKPacketSessionState(t *testing.T) {
	type change struct {
		typ         SessionStateType
		name, value string
	}
	for _, tc := range []struct {
		name   string
		raw    string
		status StatusFlag
		want   []change
		gtid   string
	}{
		{"auth schema", fixtureOKAuthSchema, StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackSchema, "", "test"}}, ""},
		{"last_gtid", fixtureOKLastGTID, StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackSystemVariables, "last_gtid", "0-7-2"}}, "0-7-2"},
		{"schema and state change", fixtureOKSchemaStateChange, StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackSchema, "", "test"}, {SessionTrackStateChange, "", "1"}}, ""},
		{"transaction info", fixtureOKTxInfo, StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackStateChange, "", "1"}, {SessionTrackTransactionState, "", "________"},
				{SessionTrackTransactionCharacteristics, "", ""}}, ""},
		{"start transaction", fixtureOKStartTx, StatusInTrans | StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackTransactionState, "", "T_______"},
				{SessionTrackTransactionCharacteristics, "", "START TRANSACTION READ WRITE;"}}, ""},
		{"autocommit off", fixtureOKAutocommitOff, StatusSessionStateChange,
			[]change{{SessionTrackSystemVariables, "autocommit", "OFF"}}, ""},
		{"MySQL OWN_GTID", fixtureOKOwnGTID, StatusAutocommit | StatusSessionStateChange,
			[]change{{SessionTrackGTIDs, "", "2bef6caf-ee1c-11f1-a457-0242ac110003:6"}},
			"2bef6caf-ee1c-11f1-a457-0242ac110003:6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := unhex(t, tc.raw)
			var ok OKPacket
			require.NoError(t, ok.Decode(raw))
			assert.Equal(t, tc.status, ok.Status)
			assert.Equal(t, "", ok.Info)
			require.NotEmpty(t, ok.SessionState)
			got, err := DecodeSessionState([]byte(ok.SessionState))
			require.NoError(t, err)
			var gotChanges []change
			for _, ch := range got {
				gotChanges = append(gotChanges, change{ch.Type, string(ch.Name), string(ch.Value)})
			}
			assert.Equal(t, tc.want, gotChanges)
			assert.Equal(t, tc.gtid, string(GTIDFromSessionState([]byte(ok.SessionState))))
			// Re-encoding gives the captured bytes back, entry by entry too.
			assert.Equal(t, raw, ok.AppendTo(nil))
			var block []byte
			for _, ch := range got {
				ch.Data = nil
				block = AppendSessionStateChange(block, ch)
			}
			assert.Equal(t, ok.SessionState, string(block))
			// Every truncation fails cleanly (the lengths no longer match), never panics — except right after
			// the warnings (no info, no state) and right after the empty info (no state), which are valid OKs.
			for i := 0; i < len(raw); i++ {
				var cut OKPacket
				err := cut.Decode(raw[:i])
				if i == 7 || i == 8 {
					assert.NoError(t, err, "cut at %d", i)
					assert.Empty(t, cut.SessionState)
				} else {
					assert.Error(t, err, "cut at %d", i)
				}
			}
		})
	}
}

func TestSessionStateMalformed(t *testing.T) {
	for _, tc := range []struct{ name, block, want string }{
		{"entry length beyond block", "00 10 09", "entry data"},
		{"variable value missing", "00 0a 096c6173745f67746964", "SESSION_TRACK_SYSTEM_VARIABLES"},
		{"schema length lies", "01 02 0574", "SESSION_TRACK_SCHEMA"},
		{"GTID without set", "03 01 00", "SESSION_TRACK_GTIDS"},
		{"type without data", "05", "entry data"},
		{"NULL length", "01 fb", "entry data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block := unhex(t, tc.block)
			_, err := DecodeSessionState(block)
			require.ErrorContains(t, err, tc.want)
			var pe *ProtocolError
			require.ErrorAs(t, err, &pe)
			// The same block inside an OK packet fails the OK.
			raw := append(unhex(t, "00 01 00 0240 0000 00"), byte(len(block)))
			var ok OKPacket
			require.Error(t, ok.Decode(append(raw, block...)))
		})
	}
	// An entry of a type this package does not know is passed on with its data.
	got, err := DecodeSessionState(unhex(t, "2a 02 beef 01 05 0474657374"))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "SESSION_TRACK(42)", got[0].Type.String())
	assert.Equal(t, []byte{0xbe, 0xef}, got[0].Data)
	assert.Nil(t, got[0].Value)
	assert.Equal(t, "test", string(got[1].Value))
	// A block length larger than the packet.
	var ok OKPacket
	require.ErrorContains(t, ok.Decode(unhex(t, "00 01 00 0240 0000 00 30 0105")), "session state info")
}

// The OK packets of a connection that did not ask for session tracking, or whose state did not change, carry
// no session state and decode as before.
func TestOKPacketWithoutSessionState(t *testing.T) {
	var ok OKPacket
	require.NoError(t, ok.Decode(unhex(t, "00 01 00 0200 0000")))
	assert.Equal(t, OKPacket{AffectedRows: 1, Status: StatusAutocommit}, ok)
	ok.SessionState = "x" // a reused OKPacket forgets the previous state
	require.NoError(t, ok.Decode(unhex(t, "00 01 00 0200 0000")))
	assert.Empty(t, ok.SessionState)
}

func TestConnTracksGTID(t *testing.T) {
	c := &Conn{}
	var seen []string
	var types []SessionStateType
	c.OnGTID = func(g string) { seen = append(seen, g) }
	c.OnSessionState = func(ch *SessionStateChange) { types = append(types, ch.Type) }
	for _, fx := range []string{fixtureOKAuthSchema, fixtureOKLastGTID, fixtureOKSchemaStateChange, fixtureOKOwnGTID} {
		var ok OKPacket
		require.NoError(t, ok.Decode(unhex(t, fx)))
		c.noteOK(&ok)
		assert.Equal(t, ok.Status, c.Status())
	}
	assert.Equal(t, "2bef6caf-ee1c-11f1-a457-0242ac110003:6", c.LastGTID())
	assert.Equal(t, uint64(2), c.GTIDCount())
	assert.Equal(t, []string{"0-7-2", "2bef6caf-ee1c-11f1-a457-0242ac110003:6"}, seen)
	assert.Equal(t, []SessionStateType{SessionTrackSchema, SessionTrackSystemVariables, SessionTrackSchema,
		SessionTrackStateChange, SessionTrackGTIDs}, types)
}

func TestClientAsksForSessionTrack(t *testing.T) {
	c := &Conn{}
	assert.True(t, c.clientCaps().Has(ClientSessionTrack))
}

func FuzzSessionState(f *testing.F) {
	for _, fx := range []string{fixtureOKAuthSchema, fixtureOKLastGTID, fixtureOKSchemaStateChange,
		fixtureOKTxInfo, fixtureOKStartTx, fixtureOKAutocommitOff, fixtureOKOwnGTID} {
		var ok OKPacket
		if err := ok.Decode(unhex(f, fx)); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(ok.SessionState))
	}
	f.Add([]byte{0x05})
	f.Add([]byte{0x00, 0xfc, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, block []byte) {
		got, err := DecodeSessionState(block)
		if err != nil {
			var pe *ProtocolError
			if !strings.HasPrefix(err.Error(), "rawmysql: ") || !errors.As(err, &pe) {
				t.Fatalf("error %v is not a rawmysql *ProtocolError", err)
			}
			return
		}
		// A block that decodes re-encodes (lengths in their shortest form) to entries that decode the same,
		// and the OK packet carrying it round-trips.
		var out []byte
		for _, ch := range got {
			if ch.Type <= SessionTrackTransactionState {
				ch.Data = nil // a known type is re-encoded from its fields; an unknown one keeps its data
			}
			out = AppendSessionStateChange(out, ch)
		}
		again, err := DecodeSessionState(out)
		if err != nil || len(again) != len(got) {
			t.Fatalf("re-encoded %x: %v, %d entries, want %d", out, err, len(again), len(got))
		}
		for i := range got {
			a, b := got[i], again[i]
			same := a.Type == b.Type && a.GTIDEncoding == b.GTIDEncoding && string(a.Name) == string(b.Name) &&
				string(a.Value) == string(b.Value)
			if a.Type > SessionTrackTransactionState { // unknown type: only the data is kept
				same = a.Type == b.Type && string(a.Data) == string(b.Data)
			}
			if !same {
				t.Fatalf("entry %d: %+v re-decoded as %+v", i, a, b)
			}
		}
		ok := OKPacket{AffectedRows: 1, Status: StatusSessionStateChange, SessionState: string(block)}
		var ok2 OKPacket
		if err := ok2.Decode(ok.AppendTo(nil)); err != nil || ok2 != ok {
			t.Fatalf("OK round trip: %v %+v %+v", err, ok, ok2)
		}
		_ = GTIDFromSessionState(block)
	})
}

// The common OK (no session state) costs no allocation, with CLIENT_SESSION_TRACK asked for or not; an OK
// that reports a GTID costs the state string and, when the GTID changed, the GTID string.
func BenchmarkOKDecodeNoteOK(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{
		{"plain", "00 01 00 0200 0000"},
		{"info", "00 01 00 0200 0000 0a" + hexOf("Records: 3")},
		{"last_gtid", fixtureOKLastGTID},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw := unhex(b, bc.raw)
			c := &Conn{}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var ok OKPacket
				if err := ok.Decode(raw); err != nil {
					b.Fatal(err)
				}
				c.noteOK(&ok)
			}
		})
	}
}
