package transport

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replyServer answers every REQ with a REP of the same body through Reply,
// as the container does.
func replyServer(t testing.TB, opts Options) *Transport {
	t.Helper()
	var tr *Transport
	ready := make(chan struct{})
	opts.Handler = func(in Incoming) {
		<-ready
		if in.Type == TypeREQ {
			go func() {
				_ = tr.Reply(context.Background(), in.Route, in.Sender, NewID(), TypeREP, in.ID, in.Headers, in.Body, nil)
			}()
		}
	}
	tr = listen(t, opts)
	close(ready)
	return tr
}

// call sends one request from client to server and returns its reply.
func call(t *testing.T, client *Transport, replies inbox, server string, body string) Incoming {
	t.Helper()
	id := NewID()
	require.NoError(t, client.Send(testContext(t), server, id, TypeREQ, "echo.echo", testHeaders, []byte(body)))
	rep := replies.nextWhere(t, func(in Incoming) bool { return in.Subject == id })
	assert.Equal(t, TypeREP, rep.Type)
	assert.Equal(t, body, string(rep.Body))
	assert.Equal(t, server, rep.Sender, "a reply on the shared connection comes from the endpoint we dialed")
	return rep
}

// TestSharedConnectionCarriesReplies: between two transports that both
// offer it, replies come back on the request's connection and the server
// dials nothing.
func TestSharedConnectionCarriesReplies(t *testing.T) {
	server := replyServer(t, Options{})
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler})
	for i := range 10 {
		call(t, client, replies, server.Endpoint(), string(rune('a'+i)))
	}
	// Reply counts a reply once it is written, which may be after the
	// client has read it.
	eventually(t, "10 shared replies counted", func() bool { return server.Stats().SharedReplies == 10 })
	s, c := server.Stats(), client.Stats()
	assert.EqualValues(t, 0, s.Dialed, "the server dialed the client")
	assert.EqualValues(t, 1, s.Shared)
	assert.EqualValues(t, 1, c.Shared)
	assert.EqualValues(t, 0, c.ConnectionsIn, "the client accepted a connection")
}

// TestSeparateRepliesEitherSide: when either side turns sharing off, the
// server replies the lymph way, on a connection it dials.
func TestSeparateRepliesEitherSide(t *testing.T) {
	for _, tc := range []struct {
		name           string
		server, client Options
	}{
		{"server", Options{SeparateReplies: true}, Options{}},
		{"client", Options{}, Options{SeparateReplies: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := replyServer(t, tc.server)
			replies := newInbox()
			tc.client.Handler = replies.handler
			client := listen(t, tc.client)
			call(t, client, replies, server.Endpoint(), "x")
			s := server.Stats()
			assert.EqualValues(t, 0, s.SharedReplies)
			assert.EqualValues(t, 1, s.Dialed)
			assert.EqualValues(t, 0, s.Shared)
			assert.EqualValues(t, 0, client.Stats().Shared)
		})
	}
}

// TestZMQPeerIsAnsweredTheLymphWay: a peer that does not offer sharing (a
// zmq4 DEALER here, libzmq's lymph in the interop tests) gets its reply on
// a connection the server dials to its identity.
func TestZMQPeerIsAnsweredTheLymphWay(t *testing.T) {
	server := replyServer(t, Options{})
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler})
	d := rawDealer(t, server.Endpoint(), client.Endpoint())
	id := NewID()
	require.NoError(t, d.SendMulti(frames(id, TypeREQ, "echo.echo", "", "\xa1x")))
	rep := replies.nextWhere(t, func(in Incoming) bool { return in.Subject == id })
	assert.Equal(t, "\xa1x", string(rep.Body))
	assert.EqualValues(t, 1, server.Stats().Dialed)
	assert.EqualValues(t, 0, server.Stats().SharedReplies)
}

// TestSharedConnectionIsNoRoute: a client that offers sharing under
// another instance's identity gets the replies to its own requests, and
// nothing of the traffic meant for that instance, which still goes to the
// real one.
func TestSharedConnectionIsNoRoute(t *testing.T) {
	ctx := testContext(t)
	server := replyServer(t, Options{})
	victimInbox := newInbox()
	victim := listen(t, Options{Handler: victimInbox.handler})

	nc, err := net.Dial("tcp", server.ListenAddr())
	require.NoError(t, err)
	c := newConn(nc.(*net.TCPConn), nil)
	_, shared, err := handshake(c, null.Security(), zmq4.Dealer, victim.Endpoint(), false, true, testTimeout)
	require.NoError(t, err)
	require.True(t, shared)
	got := make(chan Incoming, 16)
	read := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-read; c.r.drop() })
	go func() {
		defer close(read)
		mr := newMsgReader(c.r, DefaultMaxMessageSize)
		for {
			var in Incoming
			if _, err := mr.read(&in); err != nil {
				close(got)
				return
			}
			got <- in
		}
	}()

	// The impostor's own request is answered to it...
	bw := &batchWriter{}
	bw.Reset(c.TCPConn)
	id := NewID()
	writeMessage(bw, &outMsg{id: id, typ: TypeREQ, subject: "echo.echo", headers: testHeaders, body: []byte("\xa1i")})
	require.NoError(t, bw.Flush())
	select {
	case in := <-got:
		assert.Equal(t, id, in.Subject)
	case <-time.After(testTimeout):
		t.Fatal("the impostor's request got no reply")
	}
	// ...but a request the server sends to the victim's endpoint reaches
	// the victim.
	req := NewID()
	require.NoError(t, server.Send(ctx, victim.Endpoint(), req, TypeREQ, "victim.ping", testHeaders, []byte("\x80")))
	assert.Equal(t, req, victimInbox.next(t).ID)
	select {
	case in, ok := <-got:
		if ok {
			t.Fatalf("the impostor received %s %s", in.Type, in.Subject)
		}
	case <-time.After(50 * time.Millisecond):
	}
}

// TestReplyAfterSharedConnectionDied: a reply whose request's connection
// is gone goes the lymph way, so a caller that is still alive gets it.
func TestReplyAfterSharedConnectionDied(t *testing.T) {
	held := make(chan Incoming, 1)
	server := listen(t, Options{Handler: func(in Incoming) { held <- in }})
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler})
	id := NewID()
	require.NoError(t, client.Send(testContext(t), server.Endpoint(), id, TypeREQ, "echo.echo", testHeaders, []byte("\xa1x")))
	var req Incoming
	select {
	case req = <-held:
	case <-time.After(testTimeout):
		t.Fatal("no request")
	}
	require.NotNil(t, req.Route)
	client.Disconnect(server.Endpoint())
	eventually(t, "the route to die", func() bool { return req.Route.oc.dead.Load() })

	require.NoError(t, server.Reply(testContext(t), req.Route, req.Sender, NewID(), TypeREP, req.ID, req.Headers, req.Body, nil))
	rep := replies.nextWhere(t, func(in Incoming) bool { return in.Subject == id })
	assert.Equal(t, "\xa1x", string(rep.Body))
	assert.EqualValues(t, 1, server.Stats().Dialed)
}

// TestCloseFlushesRoutes: replies Reply accepted on a shared connection
// before Close are written out by Close.
func TestCloseFlushesRoutes(t *testing.T) {
	const n = 500
	reqs := make(chan Incoming, n)
	server, err := Listen(context.Background(), Options{Endpoint: "tcp://127.0.0.1:0", Handler: func(in Incoming) { reqs <- in }})
	require.NoError(t, err)
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler})
	ctx := testContext(t)
	for range n {
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "echo.echo", testHeaders, []byte("\xa1x")))
	}
	var released atomic.Int64
	big := make([]byte, 64<<10) // written in place, not copied: release must wait for the write
	for i := range n {
		in := <-reqs
		body := in.Body
		if i%10 == 0 {
			body = big
		}
		require.NoError(t, server.Reply(ctx, in.Route, in.Sender, NewID(), TypeREP, in.ID, in.Headers, body, func() { released.Add(1) }))
	}
	require.NoError(t, server.Close())
	for range n {
		replies.next(t)
	}
	assert.EqualValues(t, 0, server.Stats().Dropped.Unsent)
	assert.EqualValues(t, n, server.Stats().SharedReplies)
	assert.EqualValues(t, n, released.Load(), "every written reply released")
}

// TestSharedConnectionWithPlain: the offer travels in PLAIN's metadata as
// in NULL's.
func TestSharedConnectionWithPlain(t *testing.T) {
	server := replyServer(t, Options{Credentials: map[string]string{"u": "p"}})
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler, Username: "u", Password: "p"})
	call(t, client, replies, server.Endpoint(), "x")
	eventually(t, "the shared reply counted", func() bool { return server.Stats().SharedReplies == 1 })
	assert.EqualValues(t, 0, server.Stats().Dialed)
}

// TestRepliesReadOnPeerClose: OnPeerDown says the replies were all read
// when the peer closed a shared connection; not when the connection was
// not shared, nor when we closed it.
func TestRepliesReadOnPeerClose(t *testing.T) {
	for _, tc := range []struct {
		name     string
		separate bool
		local    bool // we disconnect, rather than the peer closing
		want     bool
	}{
		{"shared, peer closed", false, false, true},
		{"separate, peer closed", true, false, false},
		{"shared, we disconnected", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, err := Listen(context.Background(), Options{Endpoint: "tcp://127.0.0.1:0"})
			require.NoError(t, err)
			defer server.Close()
			downs := make(chan error, 4)
			client := listen(t, Options{SeparateReplies: tc.separate, OnPeerDown: func(_ string, err error) { downs <- err }})
			require.NoError(t, client.Send(testContext(t), server.Endpoint(), NewID(), TypeREQ, "x.y", testHeaders, []byte("\x80")))
			eventually(t, "the connection", func() bool { return client.Connected(server.Endpoint()) })
			if tc.local {
				client.Disconnect(server.Endpoint())
			} else {
				require.NoError(t, server.Close())
			}
			select {
			case err := <-downs:
				assert.ErrorIs(t, err, ErrNotConnected)
				assert.Equal(t, tc.want, RepliesRead(err), "%v", err)
			case <-time.After(testTimeout):
				t.Fatal("no OnPeerDown")
			}
		})
	}
}

// TestSharedConnectionCountsCallsInProgress: each side of a shared
// connection counts the calls in progress on it (what decides whether a
// sender writes itself or leaves its message to the batching writer):
// requests add one, their replies end one, and a reply to nothing cannot
// make the count go below zero.
func TestSharedConnectionCountsCallsInProgress(t *testing.T) {
	held := make(chan Incoming, 16)
	server := listen(t, Options{Handler: func(in Incoming) { held <- in }})
	replies := newInbox()
	client := listen(t, Options{Handler: replies.handler})
	const calls = 5
	for range calls {
		require.NoError(t, client.Send(testContext(t), server.Endpoint(), NewID(), TypeREQ, "echo.echo", testHeaders, []byte("x")))
	}
	out := client.lookup(server.Endpoint()).out.Load()
	require.NotNil(t, out)
	var reqs []Incoming
	for range calls {
		reqs = append(reqs, <-held)
	}
	route := reqs[0].Route
	require.NotNil(t, route, "the connection is shared")
	assert.EqualValues(t, calls, out.calls.Load(), "the client's count")
	assert.EqualValues(t, calls, route.oc.calls.Load(), "the server's count")

	for i, in := range reqs {
		require.NoError(t, server.Reply(testContext(t), in.Route, in.Sender, NewID(), TypeREP, in.ID, in.Headers, in.Body, nil))
		replies.next(t)
		assert.EqualValues(t, calls-1-i, route.oc.calls.Load())
		eventually(t, "the client counts the reply", func() bool { return out.calls.Load() == int64(calls-1-i) })
	}
	// A stray reply, on a connection with no call in progress.
	require.NoError(t, server.Reply(testContext(t), route, reqs[0].Sender, NewID(), TypeREP, NewID(), testHeaders, nil, nil))
	replies.next(t)
	assert.Zero(t, route.oc.calls.Load())
	assert.Zero(t, out.calls.Load())
}
