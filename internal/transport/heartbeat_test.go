package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastHeartbeat are heartbeat settings in milliseconds, for tests.
func fastHeartbeat(o Options) Options {
	o.PingInterval = 10 * time.Millisecond
	o.UnresponsiveAfter = 100 * time.Millisecond
	o.IdleAfter = 300 * time.Millisecond
	o.CloseUnresponsiveAfter = 600 * time.Millisecond
	o.CloseIdleAfter = 900 * time.Millisecond
	return o
}

func peerStatus(t *testing.T, tr *Transport, ep string) PeerStatus {
	t.Helper()
	for _, p := range tr.Peers() {
		if p.Endpoint == ep {
			return p
		}
	}
	return PeerStatus{Endpoint: ep}
}

func stateIs(tr *Transport, ep string, want State) func() bool {
	return func() bool {
		s, _ := tr.PeerState(ep)
		return s == want
	}
}

// TestHeartbeat: a peer we sent to gets pings; its replies are consumed
// (not handed to the Handler) and give RTT samples; with only pings it
// goes idle and its connection is closed; a Send brings it back.
func TestHeartbeat(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, fastHeartbeat(Options{}))
	in := newInbox()
	client := listen(t, fastHeartbeat(Options{Handler: in.handler}))
	ep := server.Endpoint()

	id := NewID()
	require.NoError(t, client.Send(ctx, ep, id, TypeREQ, "echo.echo", nil, nil))
	rep := in.nextWhere(t, notPing)
	assert.Equal(t, id, rep.Subject)
	st, ok := client.PeerState(ep)
	assert.True(t, ok)
	assert.Equal(t, StateResponsive, st)

	eventually(t, "RTT samples", func() bool { return peerStatus(t, client, ep).RTT.Samples >= 5 })
	rtt := peerStatus(t, client, ep).RTT
	assert.Positive(t, rtt.Last)
	assert.Positive(t, rtt.Mean)
	assert.LessOrEqual(t, rtt.Median, rtt.Max)
	assert.Positive(t, client.Stats().PingReplies)

	eventually(t, "idle", stateIs(client, ep, StateIdle))
	eventually(t, "closed for idleness", stateIs(client, ep, StateClosed))
	assert.False(t, peerStatus(t, client, ep).Connected)

	require.NoError(t, client.Send(ctx, ep, NewID(), TypeREQ, "echo.echo", nil, nil))
	in.nextWhere(t, notPing)
	st, _ = client.PeerState(ep)
	assert.Equal(t, StateResponsive, st)

	// Only the request's reply reached the Handler; the server's own
	// pings did too (the root package answers them), the replies to ours
	// did not.
	close(in)
	for m := range in {
		assert.Equal(t, TypeREQ, m.Type, "a ping reply leaked to the Handler: %+v", m)
		assert.Equal(t, pingSubject, m.Subject)
		assert.Equal(t, pingHeaders, m.Headers)
		assert.Equal(t, pingBody, m.Body)
	}
}

// TestHeartbeatUnresponsive: a peer that never answers pings becomes
// unresponsive, then its connection is closed; once closed for a while the
// record is forgotten.
func TestHeartbeatUnresponsive(t *testing.T) {
	ctx := testContext(t)
	deaf := listen(t, Options{DisableHeartbeat: true})
	client := listen(t, fastHeartbeat(Options{}))
	ep := deaf.Endpoint()
	require.NoError(t, client.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil))

	eventually(t, "unresponsive", stateIs(client, ep, StateUnresponsive))
	assert.True(t, peerStatus(t, client, ep).Connected, "unresponsive, though connected")
	eventually(t, "closed", stateIs(client, ep, StateClosed))
	eventually(t, "forgotten", func() bool {
		_, ok := client.PeerState(ep)
		return !ok
	})
	assert.Positive(t, client.Stats().PingsSent)
	assert.Zero(t, client.Stats().PingReplies)
}

// TestHeartbeatRedial: when a peer's connection dies the record turns
// unresponsive at once, and the heartbeat re-dials it in the background:
// a peer back at the same endpoint is responsive again without any Send.
func TestHeartbeatRedial(t *testing.T) {
	ctx := testContext(t)
	opts := fastHeartbeat(Options{})
	opts.CloseUnresponsiveAfter = -1
	opts.CloseIdleAfter = -1
	server := echoTransport(t, opts)
	ep := server.Endpoint()
	client := listen(t, opts)
	require.NoError(t, client.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil))
	eventually(t, "responsive", stateIs(client, ep, StateResponsive))

	require.NoError(t, server.Close())
	eventually(t, "unresponsive", stateIs(client, ep, StateUnresponsive))

	opts.Endpoint = ep
	echoTransport(t, opts)
	eventually(t, "responsive again", stateIs(client, ep, StateResponsive))
	assert.GreaterOrEqual(t, client.Stats().Dialed, uint64(2))
}

// TestHeartbeatDisabled: no pings; connected peers are responsive.
func TestHeartbeatDisabled(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{DisableHeartbeat: true})
	client := listen(t, Options{DisableHeartbeat: true})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	st, ok := client.PeerState(server.Endpoint())
	assert.True(t, ok)
	assert.Equal(t, StateResponsive, st)
	assert.Zero(t, client.Stats().PingsSent)
	_, ok = client.PeerState("tcp://127.0.0.1:1")
	assert.False(t, ok)
}

// TestJanitor: without heartbeats, a peer that cannot be dialed is
// forgotten after CloseUnresponsiveAfter, so the table does not grow with
// every endpoint ever tried.
func TestJanitor(t *testing.T) {
	ctx := testContext(t)
	gone := listen(t, Options{DisableHeartbeat: true})
	ep := gone.Endpoint()
	require.NoError(t, gone.Close())
	tr := listen(t, fastHeartbeat(Options{DisableHeartbeat: true}))
	require.ErrorIs(t, tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
	_, ok := tr.PeerState(ep)
	require.True(t, ok)
	eventually(t, "forgotten", func() bool {
		_, ok := tr.PeerState(ep)
		return !ok
	})
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{StateUnknown: "unknown", StateResponsive: "responsive",
		StateUnresponsive: "unresponsive", StateIdle: "idle", StateClosed: "closed", State(99): "invalid"} {
		assert.Equal(t, want, s.String())
	}
}
