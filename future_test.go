package lymph

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeferredCalls(t *testing.T) {
	_, client, svc := pair(t)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	blocked := p.Defer(ctx, "block", nil)
	quick := p.Defer(ctx, "upper", textArgs{Text: "abc"})

	var out string
	require.NoError(t, quick.Get(ctx, &out), "a later call is not held up by an earlier one")
	assert.Equal(t, "ABC", out)
	select {
	case <-blocked.Done():
		t.Fatal("the blocked call finished before it was released")
	default:
	}

	// Get with a context that ends first returns, and the Future stays usable.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, blocked.Get(short, &out), context.DeadlineExceeded)

	svc.release <- struct{}{}
	require.NoError(t, blocked.Get(ctx, &out))
	assert.Equal(t, "released", out)
	// Get again returns the same result.
	out = ""
	require.NoError(t, blocked.Get(ctx, &out))
	assert.Equal(t, "released", out)
}

func TestTimeoutsAndLateReplies(t *testing.T) {
	_, client, svc := pair(t)
	ctx := testContext(t)

	t.Run("proxy timeout", func(t *testing.T) {
		p := client.Proxy("testsvc", WithTimeout(50*time.Millisecond))
		err := p.Call(ctx, "block", nil, nil)
		require.ErrorIs(t, err, ErrTimeout)
		// The reply comes after the deadline: it is dropped, counted, and
		// leaves nothing pending.
		before := client.metrics.lateReplies.Load()
		svc.release <- struct{}{}
		require.Eventually(t, func() bool { return client.metrics.lateReplies.Load() > before }, 5*time.Second, 5*time.Millisecond)
		assert.Empty(t, client.pendingIDs())
	})
	t.Run("container default timeout", func(t *testing.T) {
		reg := memoryRegistry(t)
		server := startContainer(t, reg, installTestService(&testService{release: svc.release}))
		c := startContainer(t, reg, nil, WithTimeout(50*time.Millisecond))
		err := c.Proxy("testsvc", WithInstance(server.Endpoint())).Call(context.Background(), "block", nil, nil)
		require.ErrorIs(t, err, ErrTimeout)
		svc.release <- struct{}{}
	})
	t.Run("context deadline beats a longer proxy timeout", func(t *testing.T) {
		p := client.Proxy("testsvc", WithTimeout(time.Hour))
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, p.Call(short, "block", nil, nil), ErrTimeout)
		svc.release <- struct{}{}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		f := client.Proxy("testsvc").Defer(cctx, "block", nil)
		cancel()
		assert.ErrorIs(t, f.Get(ctx, nil), context.Canceled)
		svc.release <- struct{}{}
	})
	t.Run("unread futures leave nothing behind", func(t *testing.T) {
		p := client.Proxy("testsvc", WithTimeout(30*time.Millisecond))
		for range 20 {
			p.Defer(ctx, "sleep", sleepArgs{Seconds: 0.1})
		}
		require.Eventually(t, func() bool { return len(client.pendingIDs()) == 0 }, 5*time.Second, 5*time.Millisecond)
	})
}

// pendingIDs lists the calls still waiting for a reply.
func (c *Container) pendingIDs() []string {
	c.pending.mu.Lock()
	defer c.pending.mu.Unlock()
	var ids []string
	for id := range c.pending.calls {
		ids = append(ids, id)
	}
	return ids
}
