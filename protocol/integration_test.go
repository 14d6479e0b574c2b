package protocol_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawmysql/rawmysql/internal/testserver"
	"github.com/rawmysql/rawmysql/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testserver.Main(m) }

func connect(t *testing.T) *protocol.Conn {
	t.Helper()
	srv := testserver.Get(t)
	nc, err := net.DialTimeout("tcp", srv.Addr, 10*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := protocol.Connect(ctx, nc, protocol.Options{User: srv.User, Password: srv.Password, Database: srv.DBName, AllowNativePasswords: true})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnStateMachine(t *testing.T) {
	c := connect(t)
	require.Equal(t, protocol.StateIdle, c.State())
	require.NotZero(t, c.ConnectionID())
	require.True(t, c.Capabilities().Has(protocol.ClientProtocol41|protocol.ClientDeprecateEOF))
	require.NoError(t, c.Ping(context.Background()))

	res, err := c.Query(context.Background(), "WITH RECURSIVE s (seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 100) SELECT seq FROM s")
	require.NoError(t, err)
	require.Equal(t, protocol.StateBusy, c.State())
	_, err = c.Query(context.Background(), "SELECT 1")
	require.ErrorIs(t, err, protocol.ErrConnBusy, "a second command while a result is open")
	require.ErrorIs(t, c.Ping(context.Background()), protocol.ErrConnBusy)
	row, err := res.ReadRow()
	require.NoError(t, err)
	vals := make([][]byte, 1)
	require.NoError(t, protocol.DecodeTextRow(row, vals))
	require.Equal(t, "1", string(vals[0]))
	require.NoError(t, res.Close(), "closing drains the other 99 rows")
	require.Equal(t, protocol.StateIdle, c.State())
	require.NoError(t, c.Ping(context.Background()))

	// A server error leaves the connection idle and usable.
	_, err = c.Exec(context.Background(), "SELECT * FROM no_such_table_abc")
	var se *protocol.ServerError
	require.ErrorAs(t, err, &se)
	require.Equal(t, uint16(1146), se.Number)
	require.Equal(t, protocol.StateIdle, c.State())

	require.NoError(t, c.InitDB(context.Background(), "mysql"))
	res, err = c.Query(context.Background(), "SELECT DATABASE()")
	require.NoError(t, err)
	row, err = res.ReadRow()
	require.NoError(t, err)
	require.NoError(t, protocol.DecodeTextRow(row, vals))
	require.Equal(t, "mysql", string(vals[0]))
	_, err = res.ReadRow()
	require.Equal(t, io.EOF, err)
	require.NoError(t, res.Close())

	require.NoError(t, c.Close())
	require.Equal(t, protocol.StateClosed, c.State())
	require.ErrorIs(t, c.Ping(context.Background()), protocol.ErrConnClosed)
}

func TestResetConnection(t *testing.T) {
	c := connect(t)
	_, err := c.Exec(context.Background(), "SET @v = 5")
	require.NoError(t, err)
	st, err := c.Prepare(context.Background(), "SELECT ?")
	require.NoError(t, err)
	require.NoError(t, c.ResetConnection(context.Background()))
	res, err := c.Query(context.Background(), "SELECT @v IS NULL")
	require.NoError(t, err)
	row, err := res.ReadRow()
	require.NoError(t, err)
	vals := make([][]byte, 1)
	require.NoError(t, protocol.DecodeTextRow(row, vals))
	assert.Equal(t, "1", string(vals[0]), "user variable cleared")
	require.NoError(t, res.Close())
	_, err = c.Execute(context.Background(), st, []protocol.Param{{Kind: protocol.ParamInt, I: 1}})
	var se *protocol.ServerError
	require.ErrorAs(t, err, &se, "prepared statements are gone after a reset")
	assert.Equal(t, uint16(1243), se.Number)
}

func TestStmtLongDataAndReset(t *testing.T) {
	c := connect(t)
	st, err := c.Prepare(context.Background(), "SELECT LENGTH(?), ?")
	require.NoError(t, err)
	require.Len(t, st.Params, 2)
	require.Len(t, st.Columns, 2)
	data := make([]byte, 9<<20) // three SEND_LONG_DATA chunks
	require.NoError(t, c.SendLongData(context.Background(), st.ID, 0, data))
	params := []protocol.Param{{Kind: protocol.ParamLongData}, {Kind: protocol.ParamInt, I: 3}}
	res, err := c.Execute(context.Background(), st, params)
	require.NoError(t, err)
	row, err := res.ReadRow()
	require.NoError(t, err)
	vals := make([]protocol.BinaryValue, 2)
	require.NoError(t, protocol.DecodeBinaryRow(row, res.Columns, vals))
	assert.Equal(t, int64(len(data)), vals[0].I)
	assert.Equal(t, int64(3), vals[1].I)
	require.NoError(t, res.Close())

	// COM_STMT_RESET discards long data sent but not yet used.
	require.NoError(t, c.SendLongData(context.Background(), st.ID, 0, []byte("abc")))
	require.NoError(t, c.ResetStmt(context.Background(), st.ID))
	require.NoError(t, c.SendLongData(context.Background(), st.ID, 0, []byte("xy")))
	res, err = c.Execute(context.Background(), st, params)
	require.NoError(t, err)
	row, err = res.ReadRow()
	require.NoError(t, err)
	require.NoError(t, protocol.DecodeBinaryRow(row, res.Columns, vals))
	assert.Equal(t, int64(2), vals[0].I, "only the data sent after the reset")
	require.NoError(t, res.Close())
	require.NoError(t, c.CloseStmt(context.Background(), st.ID))
	_, err = c.Execute(context.Background(), st, params)
	require.Error(t, err, "closed statement")
}

func TestContextInterruptsBlockedRead(t *testing.T) {
	c := connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	_, err := c.Query(ctx, "SELECT SLEEP(20)")
	require.Error(t, err)
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	require.Equal(t, protocol.StateBroken, c.State(), "without a CancelFunc an interrupted command leaves the stream unknown")
}

// connectionID reads CONNECTION_ID() on c.
func connectionID(t *testing.T, c *protocol.Conn) string {
	t.Helper()
	res, err := c.Query(context.Background(), "SELECT CONNECTION_ID()")
	require.NoError(t, err)
	row, err := res.ReadRow()
	require.NoError(t, err)
	v := make([][]byte, 1)
	require.NoError(t, protocol.DecodeTextRow(row, v))
	id := string(v[0])
	require.NoError(t, res.Close())
	return id
}

// A command cut by its context returns the context's error at once; in the background the connection asks the
// server to stop it (CancelFunc), reads the reply to its end and becomes idle again.
func TestCancelRecoveryKillsDrainsAndReuses(t *testing.T) {
	c := connect(t)
	admin := connect(t)
	id := connectionID(t, c)
	var kills atomic.Int32
	c.CancelFunc = func(ctx context.Context) error {
		kills.Add(1)
		_, err := admin.Exec(ctx, "KILL QUERY "+id)
		return err
	}
	c.CancelDelay = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Exec(ctx, "DO SLEEP(5)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, c.AwaitCancel(context.Background()))
	assert.Equal(t, protocol.StateIdle, c.State(), "the drained connection is clean")
	assert.Equal(t, int32(1), kills.Load())
	assert.Equal(t, id, connectionID(t, c), "the same connection runs the next command")
}

// When the server cannot be asked to stop the command, the connection is closed.
func TestCancelRecoveryFailureBreaksConnection(t *testing.T) {
	c := connect(t)
	c.CancelFunc = func(ctx context.Context) error { return errors.New("no side connection") }
	c.CancelDelay = time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Exec(ctx, "DO SLEEP(5)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, c.AwaitCancel(context.Background()))
	assert.Equal(t, protocol.StateBroken, c.State())
	require.ErrorIs(t, c.Ping(context.Background()), protocol.ErrConnClosed)
}
