package rawmysql

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// On a real server: trackGTID sets up session tracking (the session setup's SET succeeds on every server of
// the matrix), and the causal wait query of this server's flavor is valid SQL that reports "not reached" for a
// position nobody wrote, as a clear ErrCausalTimeout.
func TestGTIDSessionSetup(t *testing.T) {
	srv := testserver.Get(t)
	cfg, err := ParseDSN(srv.DSN(joinParams("trackGTID=true&causalReads=true&causalWaitTimeout=200ms", extraTestParams)))
	require.NoError(t, err)
	w := NewGTIDWatermark()
	cfg.GTIDWatermark = w
	c, err := NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()

	var tracked string
	if srv.IsMariaDB() {
		require.NoError(t, db.QueryRow("SELECT @@session_track_system_variables").Scan(&tracked))
		assert.Contains(t, strings.Split(tracked, ","), "last_gtid")
		require.NoError(t, w.Advance("4000000000-1-1")) // a domain nothing writes to
	} else {
		require.NoError(t, db.QueryRow("SELECT @@session_track_gtids").Scan(&tracked))
		assert.Equal(t, "OWN_GTID", tracked)
		require.NoError(t, w.Advance("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa:1"))
	}
	// Reading waits for a position that never comes: a clear error after causalWaitTimeout, the connection
	// stays usable.
	var n int
	err = db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
	require.ErrorIs(t, err, ErrCausalTimeout)
	assert.Contains(t, err.Error(), w.Position())
	// The connection stays usable: Exec does not wait; the next read waits again (and fails again).
	_, err = db.ExecContext(ctx, "DO 1")
	require.NoError(t, err)
	require.ErrorIs(t, db.QueryRowContext(ctx, "SELECT 1").Scan(&n), ErrCausalTimeout)
}
