package lymph

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/transport"
)

func TestWorkersRunEverythingAndKeepFewIdle(t *testing.T) {
	release := make(chan struct{})
	var served atomic.Int64
	w := newWorkers(func(transport.Incoming) {
		<-release
		served.Add(1)
	})
	const n = 1000
	for range n {
		w.run(transport.Incoming{}) // none waits for another: all run at once
	}
	close(release)
	require.Eventually(t, func() bool { return served.Load() == n }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return w.idle.Load() == maxIdleWorkers }, 10*time.Second, time.Millisecond,
		"after the burst, %d workers wait and the rest have exited", maxIdleWorkers)

	// A waiting worker takes the next request.
	w.run(transport.Incoming{})
	require.Eventually(t, func() bool { return served.Load() == n+1 }, 10*time.Second, time.Millisecond)

	w.stop() // and goleak checks that every worker returned
	assert.Zero(t, w.idle.Load())
}
