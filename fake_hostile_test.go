package rawmysql_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frameRaw frames payload with an explicit sequence id and a length that may lie.
func frameRaw(length int, seq byte, payload []byte) []byte {
	return append([]byte{byte(length), byte(length >> 8), byte(length >> 16), seq}, payload...)
}

// TestHostileServerReplies: replies that lie or break the protocol give a clear error — no panic, no hang
// past the deadline — and the connection is discarded while the pool keeps working.
func TestHostileServerReplies(t *testing.T) {
	intCol := protocoltest.ColumnDef(protocoltest.Column{Name: "v", Type: 8, Charset: 63})
	cases := []struct {
		name    string
		reply   func(c *protocoltest.Conn, done <-chan struct{})
		wantErr string // substring; "" = any error that is not the deadline
		stalls  bool   // the server goes silent: the context deadline ends the wait
	}{
		{"huge length then close", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WriteRaw(frameRaw(0xffffff, 1, make([]byte, 1000)))
		}, "unexpected EOF", false},
		{"huge length then stall", func(c *protocoltest.Conn, done <-chan struct{}) {
			c.WriteRaw(frameRaw(0xffffff, 1, make([]byte, 1000)))
			<-done
		}, "", true},
		{"truncated packet", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WriteRaw(frameRaw(10, 1, []byte{1, 2, 3}))
		}, "unexpected EOF", false},
		{"truncated header", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WriteRaw([]byte{5, 0})
		}, "unexpected EOF", false},
		{"wrong sequence id", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.SetSeq(7)
			c.WritePacket(protocoltest.LenEncInt(1))
		}, "sequence id 7, expected 1", false},
		{"huge column count", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(binary.LittleEndian.AppendUint64([]byte{0xfe}, 1<<62))
		}, "columns announced", false},
		{"column count with trailing bytes", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket([]byte{1, 0xaa})
		}, "column count", false},
		{"many columns announced, few sent", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(60000))
			c.WritePacket(intCol)
		}, "unexpected EOF", false},
		{"malformed column definition", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(1))
			c.WritePacket([]byte{3, 'd', 'e', 'f', 0xfc, 0xff, 0xff})
		}, "ColumnDefinition41", false},
		{"row value longer than the packet", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(1))
			c.WritePacket(intCol)
			c.WritePacket([]byte{0xfd, 0xff, 0xff, 0xff, 'x'}) // a 16 MiB value in a 5-byte row
			c.WritePacket(protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
		}, "exceeds the", false},
		{"row with extra values", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(1))
			c.WritePacket(intCol)
			c.WritePacket(protocoltest.TextRow([]byte("1"), []byte("2")))
			c.WritePacket(protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
		}, "trailing bytes", false},
		{"row value with a one-byte length past the packet", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(1))
			c.WritePacket(intCol)
			c.WritePacket([]byte{5, '1', '2'}) // 5 bytes announced, 2 sent
			c.WritePacket(protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
		}, "length 5 exceeds the 2 bytes left", false},
		{"row with fewer values than columns", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(2))
			c.WritePacket(intCol)
			c.WritePacket(intCol)
			c.WritePacket(protocoltest.TextRow([]byte("1")))
			c.WritePacket(protocoltest.OKDeprecateEOF(protocoltest.StatusAutocommit, 0))
		}, "row has 1 values, expected 2", false},
		{"empty packet as result header", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket([]byte{})
		}, "empty packet", false},
		{"truncated ERR", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket([]byte{0xff, 0x01})
		}, "ERR", false},
		{"truncated OK", func(c *protocoltest.Conn, _ <-chan struct{}) {
			c.WritePacket([]byte{0x00, 0xfc})
		}, "OK", false},
		{"stall mid-row", func(c *protocoltest.Conn, done <-chan struct{}) {
			c.WritePacket(protocoltest.LenEncInt(1))
			c.WritePacket(intCol)
			c.WriteRaw(frameRaw(100, c.Seq(), []byte{50}))
			<-done
		}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := hostileServer(t, tc.reply)
			db := fakeDB(t, srv, "")
			db.SetMaxOpenConns(1)
			deadline := 2 * time.Second
			if tc.stalls {
				deadline = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			err := func() error {
				rows, err := db.QueryContext(ctx, "SELECT 1")
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
				}
				return rows.Err()
			}()
			require.Error(t, err)
			if tc.stalls {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			} else {
				require.NotErrorIs(t, err, context.DeadlineExceeded, "the driver found the problem itself")
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), "rawmysql: ")
			}
			var v int
			require.NoError(t, db.QueryRow("SELECT 2").Scan(&v), "the pool recovers")
			assert.Equal(t, 2, v)
		})
	}
}

// TestGarbageAfterOK: bytes the server sends after a complete reply are not taken for the next command's
// answer: the pool's liveness check sees them pending and replaces the connection.
func TestGarbageAfterOK(t *testing.T) {
	srv := hostileServer(t, func(c *protocoltest.Conn, _ <-chan struct{}) {
		ok := protocoltest.OK(1, 0, protocoltest.StatusAutocommit, 0, "")
		junk := append(frameRaw(len(ok), 1, ok), frameRaw(len(ok), 2, ok)...)
		c.WriteRaw(append(junk, "garbage"...))
		c.ReadPacket() // until the client closes
	})
	db := fakeDB(t, srv, "")
	db.SetMaxOpenConns(1)
	res, err := db.Exec("DO 1")
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	assert.Equal(t, int64(1), n)
	_, err = db.Exec("DO 1")
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Conns(), "the connection with garbage pending was replaced")
}

// TestHostileHugeHeaderBoundedMemory: a packet header announcing 16 MiB followed by a few bytes costs about
// what arrived, not what was announced.
func TestHostileHugeHeaderBoundedMemory(t *testing.T) {
	srv := protocoltest.NewServer(t, func(c *protocoltest.Conn) {
		if !fakeAccept(c) {
			return
		}
		c.ExpectCommand()
		c.WriteRaw(frameRaw(0xffffff, 1, make([]byte, 4096)))
	})
	db := fakeDB(t, srv, "")
	const runs = 8
	run := func() {
		err := db.QueryRow("SELECT 1").Scan(new(int))
		require.Error(t, err)
	}
	run() // warm up the pool machinery
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		run()
	}
	runtime.ReadMemStats(&after)
	perRun := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("allocated %d bytes per hostile 16 MiB header", perRun)
	assert.Less(t, perRun, uint64(2<<20), "allocation follows the bytes that arrived")
}
