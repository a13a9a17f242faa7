package transport

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerEvent is one OnPeerUp (err nil, up true) or OnPeerDown call.
type peerEvent struct {
	endpoint string
	up       bool
	err      error
}

// events records a Transport's connection events.
type events chan peerEvent

func newEvents() events { return make(events, 64) }

func (e events) options(o Options) Options {
	o.OnPeerUp = func(ep string) { e <- peerEvent{endpoint: ep, up: true} }
	o.OnPeerDown = func(ep string, err error) { e <- peerEvent{endpoint: ep, err: err} }
	return o
}

func (e events) next(t *testing.T) peerEvent {
	t.Helper()
	select {
	case ev := <-e:
		return ev
	case <-time.After(testTimeout):
		t.Fatal("no connection event")
		return peerEvent{}
	}
}

// none checks that no event came; settle is how long to give one.
func (e events) none(t *testing.T, settle time.Duration) {
	t.Helper()
	select {
	case ev := <-e:
		t.Fatalf("unexpected connection event %+v", ev)
	case <-time.After(settle):
	}
}

// freeEndpoint returns an endpoint nobody listens at (a port just freed).
func freeEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := tcpScheme + l.Addr().String()
	require.NoError(t, l.Close())
	return ep
}

// TestPeerEventsKill: a peer process killed with SIGKILL is reported by
// OnPeerDown (its kernel closes the socket, our reader sees EOF), its record
// is released, and nothing dials it again by itself. OnPeerUp came first.
// Before, the transport had no such event, kept the record with its
// 1,024-slot queue, and its heartbeat re-dialed the dead peer every second.
func TestPeerEventsKill(t *testing.T) {
	ctx := testContext(t)
	ep := freeEndpoint(t)
	server := startEchoProcess(t, ep)
	ev := newEvents()
	in := newInbox()
	client := listen(t, ev.options(Options{Handler: in.handler}))

	require.NoError(t, client.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	assert.Equal(t, peerEvent{endpoint: ep, up: true}, ev.next(t))
	assert.True(t, client.Connected(ep))

	require.NoError(t, server.Process.Kill())
	_ = server.Wait()
	down := ev.next(t)
	assert.Equal(t, ep, down.endpoint)
	assert.False(t, down.up)
	assert.ErrorIs(t, down.err, ErrNotConnected)
	assert.False(t, client.Connected(ep))
	eventually(t, "the record to be released", func() bool { return len(client.Peers()) == 0 })

	// Nobody calls it: nobody dials it.
	ev.none(t, 300*time.Millisecond)
	st := client.Stats()
	assert.EqualValues(t, 1, st.Dialed)
	assert.Zero(t, st.DialFailures)
	assert.Zero(t, st.ConnectionsOut)
}

// TestPeerEvents: each way a connection ends, or a dial fails, gives one
// OnPeerDown; Close gives none.
func TestPeerEvents(t *testing.T) {
	ctx := testContext(t)

	t.Run("dial failure", func(t *testing.T) {
		ev := newEvents()
		client := listen(t, ev.options(Options{DialBackoff: time.Hour}))
		ep := freeEndpoint(t)
		require.ErrorIs(t, client.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
		down := ev.next(t)
		assert.Equal(t, ep, down.endpoint)
		assert.ErrorIs(t, down.err, ErrNotConnected)
		// The remembered failure is not a new one.
		require.ErrorIs(t, client.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
		ev.none(t, 50*time.Millisecond)
	})

	t.Run("peer closes", func(t *testing.T) {
		ev := newEvents()
		client := listen(t, ev.options(Options{}))
		server := listen(t, Options{})
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
		assert.True(t, ev.next(t).up)
		require.NoError(t, server.Close())
		down := ev.next(t)
		assert.Equal(t, server.Endpoint(), down.endpoint)
		assert.ErrorIs(t, down.err, ErrNotConnected)
		eventually(t, "the record to be released", func() bool { return len(client.Peers()) == 0 })
	})

	t.Run("Disconnect", func(t *testing.T) {
		ev := newEvents()
		client := listen(t, ev.options(Options{}))
		in := newInbox()
		server := listen(t, Options{Handler: in.handler})
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
		in.next(t)
		assert.True(t, ev.next(t).up)
		client.Disconnect(server.Endpoint())
		down := ev.next(t)
		assert.ErrorIs(t, down.err, errDisconnected)
		assert.False(t, client.Connected(server.Endpoint()))
		assert.Empty(t, client.Peers())
		client.Disconnect(server.Endpoint())   // twice
		client.Disconnect("tcp://127.0.0.1:1") // never known
		client.Disconnect("not an endpoint at all")
		ev.none(t, 50*time.Millisecond)

		// The next Send dials again.
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
		in.next(t)
		assert.True(t, ev.next(t).up)
		assert.EqualValues(t, 2, client.Stats().Dialed)
	})

	t.Run("write timeout", func(t *testing.T) {
		stuck, _ := stuckPeer(t)
		ev := newEvents()
		client := listen(t, ev.options(Options{WriteTimeout: 200 * time.Millisecond}))
		body := make([]byte, 1<<20)
		// Fill the socket buffers until the writer blocks and times out.
		for range 64 {
			if err := client.Send(ctx, stuck, NewID(), TypeREQ, "a.b", nil, body); err != nil {
				break
			}
			if client.Stats().Dropped.Unsent > 0 {
				break
			}
		}
		assert.True(t, ev.next(t).up)
		down := ev.next(t)
		assert.Equal(t, stuck, down.endpoint)
		var ne net.Error
		assert.ErrorAs(t, down.err, &ne)
		assert.True(t, ne != nil && ne.Timeout(), "%v", down.err)
	})

	t.Run("Close", func(t *testing.T) {
		ev := newEvents()
		in := newInbox()
		server := listen(t, Options{Handler: in.handler})
		client, err := Listen(ctx, ev.options(Options{Endpoint: "tcp://127.0.0.1:0"}))
		require.NoError(t, err)
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
		in.next(t)
		assert.True(t, ev.next(t).up)
		require.NoError(t, client.Close())
		ev.none(t, 50*time.Millisecond)
	})
}

// TestRestartedClientOnFixedEndpoint: a peer whose dial failed, and that
// then connects to us (it restarted on its fixed endpoint), gets our reply
// at once: its inbound handshake clears the remembered failure. Before, the
// reply was refused with the cached dial error for DialBackoff (5 of 40
// calls lost in the measurement).
func TestRestartedClientOnFixedEndpoint(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	server := listen(t, Options{Handler: in.handler, DialBackoff: time.Hour})
	clientEP := freeEndpoint(t)
	require.ErrorIs(t, server.Send(ctx, clientEP, NewID(), TypeREP, "x", nil, nil), ErrNotConnected)

	replies := newInbox()
	client := listen(t, Options{Endpoint: clientEP, Handler: replies.handler})
	id := NewID()
	require.NoError(t, client.Send(ctx, server.Endpoint(), id, TypeREQ, "a.b", nil, nil))
	req := in.next(t)
	require.Equal(t, clientEP, req.Sender)
	require.NoError(t, server.Send(ctx, req.Sender, NewID(), TypeREP, req.ID, nil, nil))
	assert.Equal(t, id, replies.next(t).Subject)
}

// TestPeerHangsUpAtOnce: a peer that completes the handshake and closes
// the connection at once costs one dial per Send, not a dial loop until
// the caller's deadline.
func TestPeerHangsUpAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := tcpScheme + l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			zmq4Router(c, ep)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	client := listen(t, Options{DialBackoff: time.Hour})
	for range 3 {
		err := client.Send(testContext(t), ep, NewID(), TypeREQ, "a.b", nil, nil)
		if err != nil {
			require.ErrorIs(t, err, ErrNotConnected)
		}
		eventually(t, "the connection to be seen closed", func() bool { return !client.Connected(ep) })
	}
	assert.LessOrEqual(t, client.Stats().Dialed, uint64(6), "dialed in a loop")
}
