package transport

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIdleConnectionsHoldNoBuffers: connections whose readers wait for the
// peer hold no read buffer (it goes back to the pool as the reader parks),
// on the accepting side and on the dialing side, even in the middle of a
// message (what was read is parsed already). Before, each accepted
// connection kept its 32 KiB buffer for life.
func TestIdleConnectionsHoldNoBuffers(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	server := listen(t, Options{Handler: in.handler})
	const n = 20
	for range n {
		c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
		_, err := c.Write(message([]byte(NewID()), []byte(TypeREQ), []byte("a.b"), nil, []byte{0xc0}))
		require.NoError(t, err)
		in.next(t)
	}
	client := listen(t, Options{})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	eventually(t, "idle readers to give their buffers back", func() bool { return server.Stats().ReadBuffers == 0 })
	eventually(t, "the dialed connection's reader too", func() bool { return client.Stats().ReadBuffers == 0 })
	assert.EqualValues(t, n+1, server.Stats().ConnectionsIn)

	// Half a message: the reader parks for the rest without a buffer.
	c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
	id := NewID()
	msg := message([]byte(id), []byte(TypeREQ), []byte("a.b"), nil, []byte{0xc0})
	_, err := c.Write(msg[:40])
	require.NoError(t, err)
	eventually(t, "the new connection to be read", func() bool { return server.Stats().ConnectionsIn == n+2 })
	eventually(t, "the reader to park", func() bool { return server.Stats().ReadBuffers == 0 })
	_, err = c.Write(msg[40:])
	require.NoError(t, err)
	assert.Equal(t, id, in.next(t).ID)
}

// TestQueueMemoryFollowsContent: a peer's queue costs what it holds: after
// a burst is written out, the connection keeps at most a small spare slice
// (the old queue was a channel of SendQueue slots, ~100 KiB from the start).
func TestQueueMemoryFollowsContent(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	server := listen(t, Options{Handler: in.handler})
	client := listen(t, Options{})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	oc := client.lookup(server.Endpoint()).out.Load()
	require.NotNil(t, oc)
	capacity := func() int {
		oc.mu.Lock()
		defer oc.mu.Unlock()
		return cap(oc.q) + cap(oc.spare)
	}
	assert.LessOrEqual(t, capacity(), maxSpare)

	const burst = 1000
	for range burst {
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	}
	for range burst {
		in.next(t)
	}
	eventually(t, "the burst's slices to be let go", func() bool { return capacity() <= 2*maxSpare })
	assert.Zero(t, oc.queued())
}
