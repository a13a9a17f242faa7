package transport

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenPicksPort(t *testing.T) {
	tr := listen(t, Options{})
	assert.True(t, strings.HasPrefix(tr.Endpoint(), "tcp://127.0.0.1:"))
	assert.NotEqual(t, "tcp://127.0.0.1:0", tr.Endpoint())
	assert.True(t, validSender(tr.Endpoint()))
}

func TestListenBadEndpoint(t *testing.T) {
	for _, ep := range []string{"", "127.0.0.1:0", "ipc:///tmp/x", "tcp://", "tcp://:80", "tcp://host", "tcp://host:http"} {
		_, err := Listen(context.Background(), Options{Endpoint: ep})
		assert.ErrorIs(t, err, ErrBadEndpoint, ep)
	}
}

func TestRequestReply(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	in := newInbox()
	client := listen(t, Options{Handler: in.handler})

	id := NewID()
	headers, body := []byte("\x80"), []byte("\x81\xa4text\xa3foo")
	require.NoError(t, client.Send(ctx, server.Endpoint(), id, TypeREQ, "echo.upper", headers, body))

	rep := in.next(t)
	assert.Equal(t, server.Endpoint(), rep.Sender)
	assert.Equal(t, TypeREP, rep.Type)
	assert.Equal(t, id, rep.Subject)
	assert.Len(t, rep.ID, 32)
	assert.NotEqual(t, id, rep.ID, "each reply has a fresh id")
	assert.Equal(t, headers, rep.Headers)
	assert.Equal(t, body, rep.Body)

	assert.EqualValues(t, 1, client.Stats().MessagesIn)
	assert.EqualValues(t, 1, server.Stats().MessagesIn)
}

// TestReplyFromHandler replies with Send from inside the Handler, and
// exchanges many messages both ways with large and empty frames.
func TestReplyFromHandler(t *testing.T) {
	ctx := testContext(t)
	var server *Transport
	ready := make(chan struct{})
	server = listen(t, Options{Handler: func(in Incoming) {
		<-ready
		err := server.Send(context.Background(), in.Sender, NewID(), TypeREP, in.ID, in.Headers, in.Body)
		assert.NoError(t, err)
	}})
	close(ready)
	in := newInbox()
	client := listen(t, Options{Handler: in.handler})

	bodies := [][]byte{nil, {}, []byte("x"), make([]byte, 255), make([]byte, 256), make([]byte, 1<<20)}
	for i, b := range bodies {
		for j := range b {
			b[j] = byte(i + j)
		}
		require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "echo.echo", nil, b))
	}
	for _, b := range bodies {
		rep := in.next(t)
		assert.Equal(t, len(b), len(rep.Body))
		assert.True(t, string(b) == string(rep.Body))
		assert.Empty(t, rep.Headers)
	}
}

// rawDealer dials ep with a bare zmq4 DEALER of the given identity, to send
// what a Transport never would.
func rawDealer(t *testing.T, ep, identity string) zmq4.Socket {
	t.Helper()
	d := zmq4.NewDealer(context.Background(), zmq4.WithID(zmq4.SocketIdentity(identity)))
	require.NoError(t, d.Dial(ep))
	t.Cleanup(func() { d.Close() })
	return d
}

func frames(fs ...string) zmq4.Msg {
	m := make([][]byte, len(fs))
	for i, f := range fs {
		m[i] = []byte(f)
	}
	return zmq4.NewMsgFrom(m...)
}

// TestGarbageIdentityDoesNotDeafen: a peer whose identity is no reply
// address must not stop the receiver serving others. (A naive server that
// replies from its receive loop tries to dial "garbage", fails, and stops
// reading: lymph's Python receive loop dies on it.)
func TestGarbageIdentityDoesNotDeafen(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	for _, id := range []string{"garbage", "tcp://host", "tcp://h:0", "http://h:1", "tcp://h:1/x", "\xff\xfe"} {
		d := rawDealer(t, server.Endpoint(), id)
		require.NoError(t, d.SendMulti(frames(NewID(), TypeREQ, "echo.echo", "", "\xa1x")))
	}

	in := newInbox()
	client := listen(t, Options{Handler: in.handler})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "echo.echo", nil, []byte("\xa2ok")))
	assert.Equal(t, "\xa2ok", string(in.next(t).Body))
	eventually(t, "bad identities counted", func() bool { return server.Stats().Dropped.BadIdentity == 6 })
}

// TestInvalidMessagesDropped: wrong frame counts, unknown types and
// non-UTF-8 text are dropped and counted, and the connection keeps working.
func TestInvalidMessagesDropped(t *testing.T) {
	in := newInbox()
	server := listen(t, Options{Handler: in.handler})
	d := rawDealer(t, server.Endpoint(), "tcp://127.0.0.1:1")
	id := NewID()
	bad := []zmq4.Msg{
		frames("only one"),
		frames(id, TypeREQ, "a.b", ""),                     // four
		frames(id, TypeREQ, "a.b", "", "", ""),             // six
		frames("", id, TypeREQ, "a.b", "", ""),             // lymph's ROUTER-style empty delimiter
		frames(id, "PING", "a.b", "", ""),                  // unknown type
		frames(id, "req", "a.b", "", ""),                   // types are upper case
		frames("\xff"+id, TypeREQ, "a.b", "", ""),          // id not UTF-8
		frames(id, TypeREQ, "a.\xc3\x28", "", ""),          // subject not UTF-8
		frames(id, TypeREQ, "a.b", "", "", "", "", "", ""), // nine
	}
	for _, m := range bad {
		require.NoError(t, d.SendMulti(m))
	}
	require.NoError(t, d.SendMulti(frames(id, TypeACK, "a.b", "\x80", "\xc0")))
	got := in.next(t)
	assert.Equal(t, Incoming{Sender: "tcp://127.0.0.1:1", ID: id, Type: TypeACK, Subject: "a.b", Headers: []byte("\x80"), Body: []byte("\xc0")}, got)
	st := server.Stats()
	assert.EqualValues(t, 5, st.Dropped.BadFrames)
	assert.EqualValues(t, 2, st.Dropped.UnknownType)
	assert.EqualValues(t, 2, st.Dropped.BadUTF8)
	assert.EqualValues(t, 1, st.MessagesIn)
	select {
	case m := <-in:
		t.Fatalf("unexpected message %+v", m)
	default:
	}
}

func TestSendErrors(t *testing.T) {
	ctx := testContext(t)
	tr := listen(t, Options{MaxMessageSize: 100})
	for _, ep := range []string{"", "garbage", "tcp://h", "tcp://h:0", "tcp://h:99999", "udp://h:1"} {
		assert.ErrorIs(t, tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrBadEndpoint, ep)
	}
	assert.ErrorIs(t, tr.Send(ctx, tr.Endpoint(), NewID(), TypeREQ, "a.b", nil, make([]byte, 100)), ErrTooLarge)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, tr.Send(cancelled, tr.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil), context.Canceled)

	require.NoError(t, tr.Close())
	assert.NoError(t, tr.Close(), "Close twice")
	assert.ErrorIs(t, tr.Send(ctx, tr.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil), ErrClosed)
}

// TestSendToNobodyFailsFast: a Send to an endpoint nobody listens at returns
// ErrNotConnected, not after a socket timeout (zmq4's DEALER would block for
// 5 minutes, or with automatic reconnect drop the message and return nil).
func TestSendToNobodyFailsFast(t *testing.T) {
	// Generous for one refused local connect, too short for zmq4's
	// default 10 dial retries 250 ms apart.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gone := listen(t, Options{})
	ep := gone.Endpoint()
	require.NoError(t, gone.Close())

	tr := listen(t, Options{DialBackoff: time.Hour})
	err := tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil)
	require.ErrorIs(t, err, ErrNotConnected)
	assert.NoError(t, ctx.Err(), "failed by the caller's deadline, not fast")
	// Within DialBackoff the failure is returned without dialing again.
	assert.ErrorIs(t, tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
	assert.EqualValues(t, 1, tr.Stats().DialFailures)
	ps := tr.Peers()
	require.Len(t, ps, 1)
	assert.False(t, ps[0].Connected)
	assert.ErrorIs(t, ps[0].DialError, ErrNotConnected)
}

// TestFailedDialForgotten: a failed dial is remembered for DialBackoff
// only; then the record goes, and the next Send dials again.
func TestFailedDialForgotten(t *testing.T) {
	ctx := testContext(t)
	gone := listen(t, Options{})
	ep := gone.Endpoint()
	require.NoError(t, gone.Close())

	tr := listen(t, Options{DialBackoff: 20 * time.Millisecond})
	require.ErrorIs(t, tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
	eventually(t, "the failed record to be forgotten", func() bool { return len(tr.Peers()) == 0 })
	require.ErrorIs(t, tr.Send(ctx, ep, NewID(), TypeREQ, "a.b", nil, nil), ErrNotConnected)
	assert.EqualValues(t, 2, tr.Stats().DialFailures)
}

// TestSendToDeadPeer: once a peer's process is gone, Send stops returning
// nil: the dead connection is noticed and the re-dial fails.
func TestSendToDeadPeer(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	in := newInbox()
	client := listen(t, Options{Handler: in.handler})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	require.NoError(t, server.Close())

	var err error
	eventually(t, "Send to fail", func() bool {
		err = client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil)
		return err != nil
	})
	assert.ErrorIs(t, err, ErrNotConnected)
	assert.NoError(t, ctx.Err())
}

func TestConcurrentSenders(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	const clients, each = 4, 200
	var wg sync.WaitGroup
	for range clients {
		in := newInbox()
		client := listen(t, Options{Handler: in.handler})
		wg.Go(func() {
			for range each {
				if err := client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, []byte("x")); err != nil {
					t.Error(err)
					return
				}
				in.next(t)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, clients*each, server.Stats().MessagesIn)
}

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	for range 10000 {
		id := NewID()
		require.Len(t, id, 32)
		require.Equal(t, strings.ToLower(id), id)
		require.Equal(t, byte('4'), id[12], "version 4")
		require.Contains(t, "89ab", string(id[16]), "RFC 4122 variant")
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	errs := []error{ErrNotConnected, ErrQueueFull, ErrClosed, ErrBadEndpoint, ErrTooLarge}
	for i, a := range errs {
		for j, b := range errs {
			assert.Equal(t, i == j, errors.Is(a, b))
		}
	}
}
