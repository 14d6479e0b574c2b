//go:build ha

package testserver

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A primary and two replicas, one delayed: rows reach the plain replica, reach the delayed one only after its
// delay, replicas are read-only, a stopped SQL thread holds rows back, and after the primary is killed a
// promoted replica takes writes that the other replica follows.
func TestReplication(t *testing.T) {
	r := StartReplication(t, ReplicationOptions{Replicas: 2, Delays: []time.Duration{0, 2 * time.Second}})
	p, fast, slow := r.Primary, r.Replicas[0], r.Replicas[1]

	for _, rep := range r.Replicas {
		out, err := rep.Exec("SELECT @@read_only")
		require.NoError(t, err)
		assert.Equal(t, "1\n", out, "replica %s", rep.Addr)
	}
	out, err := p.Exec("SELECT @@read_only, @@log_bin, @@gtid_strict_mode, @@binlog_format")
	require.NoError(t, err)
	assert.Equal(t, "0\t1\t1\tROW\n", out)

	_, err = p.Exec("CREATE TABLE repl_t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO repl_t VALUES (1)")
	require.NoError(t, err)
	pos, err := p.GTIDBinlogPos()
	require.NoError(t, err)
	require.NotEmpty(t, pos)
	require.NoError(t, fast.WaitCaughtUp(p, 30*time.Second))
	out, err = fast.Exec("SELECT COUNT(*) FROM repl_t")
	require.NoError(t, err)
	assert.Equal(t, "1\n", out)
	got, err := fast.GTIDSlavePos()
	require.NoError(t, err)
	assert.Equal(t, pos, got)

	// The delayed replica has not applied the table yet (2 s delay; the statements above took less than that
	// unless the machine is very slow, in which case the check is skipped rather than guessed).
	began := time.Now()
	slowPos, err := slow.GTIDSlavePos()
	require.NoError(t, err)
	if slowPos != pos {
		assert.Error(t, slow.WaitGTID(pos, 100*time.Millisecond), "delayed replica reached %s at once", pos)
	}
	require.NoError(t, slow.WaitCaughtUp(p, 30*time.Second))
	t.Logf("delayed replica caught up %v after the check", time.Since(began).Round(time.Millisecond))

	// A stopped SQL thread holds rows back until it starts again.
	require.NoError(t, fast.StopReplicaSQLThread())
	_, err = p.Exec("INSERT INTO repl_t VALUES (2)")
	require.NoError(t, err)
	assert.Error(t, fast.WaitCaughtUp(p, 200*time.Millisecond))
	out, err = fast.Exec("SELECT COUNT(*) FROM repl_t")
	require.NoError(t, err)
	assert.Equal(t, "1\n", out)
	require.NoError(t, fast.StartReplica())
	require.NoError(t, fast.WaitCaughtUp(p, 30*time.Second))

	// Failover: the primary dies, fast is promoted, slow follows it.
	require.NoError(t, slow.WaitCaughtUp(p, 30*time.Second))
	require.NoError(t, p.Kill())
	require.NoError(t, fast.Promote())
	require.NoError(t, slow.ReplicateFrom(fast, 0))
	out, err = fast.Exec("SELECT @@read_only; INSERT INTO repl_t VALUES (3)")
	require.NoError(t, err)
	assert.Equal(t, "0\n", out)
	require.NoError(t, slow.WaitCaughtUp(fast, 30*time.Second))
	out, err = slow.Exec("SELECT GROUP_CONCAT(id ORDER BY id) FROM repl_t")
	require.NoError(t, err)
	assert.Equal(t, "1,2,3\n", out)
	st, err := slow.ReplicaStatus()
	require.NoError(t, err)
	assert.Equal(t, fast.Addr, st["Master_Host"]+":"+st["Master_Port"])
	assert.True(t, strings.HasPrefix(st["Using_Gtid"], "Slave_Pos"), st["Using_Gtid"])

	// The old primary comes back and can rejoin as a replica of the new one.
	require.NoError(t, p.Start())
	require.NoError(t, p.ReplicateFrom(fast, 0))
	require.NoError(t, p.WaitCaughtUp(fast, 30*time.Second))
	out, err = p.Exec("SELECT COUNT(*) FROM repl_t")
	require.NoError(t, err)
	assert.Equal(t, "3\n", out)
}
