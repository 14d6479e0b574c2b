package rawmysql

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// At most maxSideInUse KILLs are in flight per Connector: the next one waits for a place (here it gives up at
// once, its context being done), and gets one as soon as a KILL ends.
func TestSidePoolBoundsKillsInFlight(t *testing.T) {
	var p sidePool
	for i := 0; i < maxSideInUse; i++ {
		require.NoError(t, p.acquire(context.Background()), "KILL %d", i+1)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.acquire(done), context.Canceled, "a KILL beyond the bound went ahead")
	p.release()
	require.NoError(t, p.acquire(context.Background()), "a place freed by a finished KILL")
	for i := 0; i < maxSideInUse; i++ {
		p.release()
	}
}
