package leakcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckFindsALeftoverGoroutine(t *testing.T) {
	old := Wait
	Wait = 100 * time.Millisecond
	defer func() { Wait = old }()

	stop := make(chan struct{})
	started := make(chan struct{})
	go func() {
		close(started)
		leakyWaiter(stop)
	}()
	<-started
	err := Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "leakyWaiter")
	assert.True(t, strings.HasPrefix(err.Error(), "rawmysql: leakcheck: "))

	close(stop)
	Wait = 5 * time.Second
	require.NoError(t, Check(), "the goroutine ended, nothing is left")
}

func leakyWaiter(stop chan struct{}) { <-stop }
