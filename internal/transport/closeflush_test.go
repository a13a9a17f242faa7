package transport

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCloseFlushBarrier: with thousands of messages queued behind a peer
// that is not reading, and other senders still racing Close, every message
// Send accepted (returned nil for) reaches the real peer, once. Close waits
// for a barrier each writer acknowledges after writing out its queue. The
// old Close waited for a counter of queued messages instead: traffic that
// did not go through enqueue (heartbeat pings) made the count pass zero
// while replies still waited (500 of 500 lost in the issue's
// reproduction), and a Send racing Close could be accepted after the count
// was read and be lost.
func TestCloseFlushBarrier(t *testing.T) {
	ctx := testContext(t)
	release := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{}
	first := true
	receiver := listen(t, Options{Handler: func(in Incoming) {
		if !first {
			<-release
		}
		first = false
		mu.Lock()
		got[in.ID]++
		mu.Unlock()
	}})
	sender, err := Listen(ctx, Options{Endpoint: "tcp://127.0.0.1:0", SendQueue: 1 << 16})
	require.NoError(t, err)

	var accepted sync.Map
	var nAccepted atomic.Int64
	send := func() error {
		id := NewID()
		err := sender.Send(context.Background(), receiver.Endpoint(), id, TypeREP, "x", nil, make([]byte, 64<<10))
		if err == nil {
			accepted.Store(id, true)
			nAccepted.Add(1)
		}
		return err
	}
	// A long-lived connection first: the old counter went wrong with
	// every message written past it (it failed here with heartbeats at
	// 1 ms, the 300 ms before the burst letting ~300 pings out).
	require.NoError(t, send())
	eventually(t, "the first message to be written", func() bool { return sender.Stats().MessagesOut == 1 })
	const queued = 200 // 12.5 MiB: the kernel's socket buffers take a few
	for range queued {
		require.NoError(t, send())
	}
	eventually(t, "messages to wait in the queue", func() bool {
		ps := sender.Peers()
		return len(ps) == 1 && ps[0].Queued > 0
	})

	// Racing senders: each keeps sending until Close refuses it.
	var racers sync.WaitGroup
	for range 4 {
		racers.Go(func() {
			for send() == nil {
			}
		})
	}
	closed := make(chan error, 1)
	go func() { closed <- sender.Close() }()
	eventually(t, "Close to start", sender.closed.Load)
	close(release) // the peer reads again
	racers.Wait()
	require.NoError(t, <-closed)

	n := int(nAccepted.Load())
	require.GreaterOrEqual(t, n, queued)
	eventually(t, "every accepted message to arrive", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, n, len(got), "messages arrived")
	for id, k := range got {
		_, ok := accepted.Load(id)
		assert.True(t, ok, "a message Send refused arrived")
		assert.Equal(t, 1, k, "message %s arrived %d times", id, k)
	}
	assert.Zero(t, sender.Stats().Dropped.Unsent)
}
