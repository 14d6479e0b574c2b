package rawmysql_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/protocol/protocoltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadTimeoutMidResult: a server that stops sending in the middle of a result set makes the read fail
// after readTimeout (no context needed), and the pool opens a new connection afterwards.
func TestReadTimeoutMidResult(t *testing.T) {
	var first atomic.Bool
	first.Store(true)
	srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		if !fakeAccept(c) {
			return
		}
		if !first.Swap(false) {
			for answerSelect2(c) {
			}
			return
		}
		c.ExpectCommand()
		c.WritePacket(protocoltest.LenEncInt(1))
		c.WritePacket(protocoltest.ColumnDef(protocoltest.Column{Name: "v", Type: 253, Charset: 45}))
		c.WritePacket(protocoltest.TextRow([]byte("row1")))
		c.WritePacket(protocoltest.TextRow([]byte("row2")))
		<-done
	})
	db := fakeDB(t, srv, "readTimeout=200ms")
	db.SetMaxOpenConns(1)
	rows, err := db.Query("SELECT v FROM t")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
	}
	err = rows.Err()
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "a read timeout: %v", err)
	assert.Equal(t, 2, n, "the rows before the stall were delivered")
	rows.Close()

	var v int
	require.NoError(t, db.QueryRow("SELECT 2").Scan(&v), "the pool recovers on a new connection")
	assert.Equal(t, 2, srv.Conns())
}

// TestWriteTimeout: a server that stops reading makes a large write fail after writeTimeout.
func TestWriteTimeout(t *testing.T) {
	srv := stallingServer(t, func(c *protocoltest.Conn, done <-chan struct{}) {
		if !fakeAccept(c) {
			return
		}
		<-done // never read the command
	})
	db := fakeDB(t, srv, "writeTimeout=200ms&maxAllowedPacket=67108864&killQueryOnCancel=false") // no identity query: the script never reads
	_, err := db.Exec("SELECT '" + strings.Repeat("x", 24<<20) + "'")
	require.Error(t, err)
	assert.True(t, errors.Is(err, os.ErrDeadlineExceeded), "a write timeout: %v", err)
}

// TestConnectDeadlines: the context deadline (and the timeout DSN parameter) bounds the connection phase: a
// server that never sends its handshake, and one that stalls during authentication.
func TestConnectDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(c *protocoltest.Conn, done <-chan struct{})
	}{
		{"no handshake", func(c *protocoltest.Conn, done <-chan struct{}) { <-done }},
		{"stall in auth", func(c *protocoltest.Conn, done <-chan struct{}) {
			c.SendHandshake(protocoltest.HandshakeOpts{})
			c.ExpectHandshakeResponse()
			<-done
		}},
		{"stall in auth switch", func(c *protocoltest.Conn, done <-chan struct{}) {
			c.SendHandshake(protocoltest.HandshakeOpts{})
			c.ExpectHandshakeResponse()
			c.WritePacket(protocoltest.AuthSwitch("mysql_native_password", protocoltest.DefaultScramble()))
			c.ReadPacket()
			<-done
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := stallingServer(t, tc.script)

			db := fakeDB(t, srv, "")
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			err := db.PingContext(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)

			db2 := fakeDB(t, srv, "timeout=200ms")
			err = db2.Ping()
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "the timeout parameter bounds the connection phase")
		})
	}
}
