package rawmysql

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompressedWithTLSAndSocket: compression stacks on TLS and on the unix socket.
func TestCompressedWithTLSAndSocket(t *testing.T) {
	srv := testserver.Get(t)
	requirePrivate(t, srv)
	for _, tr := range transports(srv) {
		t.Run(tr.name, func(t *testing.T) {
			cfg := mustParse(t, userDSN(t, srv, tr.network, "root", "", joinParams(tr.params, "compress=true")))
			connector := mustConnector(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dc, err := connector.Connect(ctx)
			require.NoError(t, err)
			defer dc.Close()
			c := dc.(*conn)
			assert.True(t, c.pc.Compressed())
			assert.Equal(t, transportTLS(tr.name), c.pc.TLS())
			big := strings.Repeat("0123456789", 300_000) // 3 MB each way
			v, err := c.queryScalar(ctx, "SELECT '"+big+"'")
			require.NoError(t, err)
			require.Equal(t, big, v)
		})
	}
}

// TestCompressedLocalInfile streams LOAD DATA LOCAL INFILE data (a client-to-server exchange in the middle
// of a command) over a compressed connection, at the protocol level.
func TestCompressedLocalInfile(t *testing.T) {
	srv := testserver.Get(t)
	requirePrivate(t, srv)
	nc, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := protocol.Connect(ctx, nc, protocol.Options{User: srv.User, Password: srv.Password, Database: "test",
		AllowNativePasswords: true, Compress: true, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	require.NoError(t, err)
	defer pc.Close()
	require.True(t, pc.Compressed())
	var data strings.Builder
	for i := 0; i < 200_000; i++ { // ~2.4 MB, several packets
		data.WriteString("line-")
		data.WriteString(strings.Repeat("x", i%7))
		data.WriteByte('\n')
	}
	pc.LocalInfile = func(name string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(data.String())), nil
	}
	_, err = pc.Exec(context.Background(), "DROP TABLE IF EXISTS t_compressed_infile")
	require.NoError(t, err)
	_, err = pc.Exec(context.Background(), "CREATE TABLE t_compressed_infile (v VARCHAR(20))")
	require.NoError(t, err)
	ok, err := pc.Exec(context.Background(), "LOAD DATA LOCAL INFILE 'whatever.txt' INTO TABLE t_compressed_infile")
	require.NoError(t, err)
	assert.Equal(t, uint64(200_000), ok.AffectedRows)
	// The connection is still in step.
	require.NoError(t, pc.Ping(context.Background()))
}
