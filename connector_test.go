package rawmysql

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Defect 9a: a failed dial is not driver.ErrBadConn: database/sql dials once, and the message names the
// dial, not "driver: bad connection".
func TestDialFailureDialsOnce(t *testing.T) {
	cfg := NewConfig()
	cfg.Net, cfg.Addr = "tcp", "127.0.0.1:1"
	var dials atomic.Int32
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	err = db.Ping()
	require.Error(t, err)
	assert.Equal(t, int32(1), dials.Load(), "database/sql dialled more than once")
	assert.NotContains(t, err.Error(), "bad connection")
	assert.Contains(t, err.Error(), "127.0.0.1:1")
}

// A dialer's own error comes back as it is, the very value (go-sql-driver's behaviour, which code compares
// with ==), and database/sql dials once.
func TestDialErrorReturnedAsIs(t *testing.T) {
	dialErr := errors.New("dialer says no")
	var dials atomic.Int32
	cfg := NewConfig()
	cfg.Addr = "127.0.0.1:1"
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, dialErr
	}
	connector, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	_, err = db.Exec("DO 1")
	assert.True(t, err == dialErr, "got %v", err)
	assert.Equal(t, int32(1), dials.Load())
}
