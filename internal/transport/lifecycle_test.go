package transport

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestCloseWithUnreadMessages: Close while many messages are unread (the
// Handler is stuck) leaks no goroutine and delivers nothing afterwards.
// zmq4's ROUTER leaks one goroutine per connection here: they block
// forever on its 10-message receive channel.
func TestCloseWithUnreadMessages(t *testing.T) {
	ctx := testContext(t)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var calls atomic.Int64
	server, err := Listen(ctx, Options{Endpoint: "tcp://127.0.0.1:0", Handler: func(Incoming) {
		calls.Add(1)
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}})
	require.NoError(t, err)

	const senders, each = 3, 50
	var clients []*Transport
	for range senders {
		c, err := Listen(ctx, Options{Endpoint: "tcp://127.0.0.1:0"})
		require.NoError(t, err)
		clients = append(clients, c)
		for range each {
			require.NoError(t, c.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, []byte("x")))
		}
	}
	<-entered
	eventually(t, "messages written", func() bool {
		var n uint64
		for _, c := range clients {
			n += c.Stats().MessagesOut
		}
		return n == senders*each
	})

	closed := make(chan error)
	go func() { closed <- server.Close() }()
	eventually(t, "Close to start", server.closed.Load)
	close(release)
	require.NoError(t, <-closed)
	n := calls.Load()
	assert.Less(t, n, int64(senders*each), "the Handler was stuck; most messages were never delivered")
	for _, c := range clients {
		require.NoError(t, c.Close())
	}
	goleak.VerifyNone(t)
	assert.Equal(t, n, calls.Load(), "no Handler call after Close")
}

// zmq4Router runs the server side of a ZMTP handshake on c as a ROUTER.
func zmq4Router(c net.Conn, identity string) bool {
	_, err := zmq4.Open(c, nullSec(), zmq4.Router, zmq4.SocketIdentity(identity), true, nil)
	return err == nil
}

// stuckPeer accepts connections, completes the ZMTP handshake as a ROUTER,
// and then never reads.
func stuckPeer(t *testing.T) (endpoint string, accepted *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	endpoint = tcpScheme + l.Addr().String()
	accepted = new(atomic.Int64)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			if zmq4Router(c, endpoint) {
				accepted.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return endpoint, accepted
}

// TestStuckPeer: a peer that stops reading fills its own bounded queue,
// after which Send waits for room until its context ends and then returns
// ErrQueueFull (it never drops silently); it never blocks sends to other
// peers, and the stuck connection is dropped after WriteTimeout; the next
// Send dials it again.
func TestStuckPeer(t *testing.T) {
	ctx := testContext(t)
	stuck, accepted := stuckPeer(t)
	healthy := echoTransport(t, Options{})
	in := newInbox()
	client := listen(t, Options{Handler: in.handler, SendQueue: 4, WriteTimeout: time.Second})

	// Send until the queue stays full: the kernel's socket buffers take a
	// few MB first, then the writer blocks and the queue fills up.
	body := make([]byte, 256<<10)
	full := 0
	for i := 0; full < 3; i++ {
		require.Less(t, i, 2000, "the queue never stayed full: memory grows without bound")
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		err := client.Send(short, stuck, NewID(), TypeREQ, "a.b", nil, body)
		cancel()
		if err == nil {
			full = 0
			continue
		}
		require.ErrorIs(t, err, ErrQueueFull)
		full++
	}
	st := client.Stats()
	assert.GreaterOrEqual(t, st.QueueFull, uint64(3))
	assert.GreaterOrEqual(t, st.QueueWaits, st.QueueFull)
	ps := client.Peers()
	require.Len(t, ps, 1)
	assert.Equal(t, 4, ps[0].Queued)

	// The stuck peer holds nothing up.
	for range 20 {
		require.NoError(t, client.Send(ctx, healthy.Endpoint(), NewID(), TypeREQ, "a.b", nil, []byte("x")))
		in.next(t)
	}

	// The blocked write times out, the connection is closed, and a later
	// Send connects again.
	eventually(t, "the stuck connection to be dropped", func() bool { return client.Stats().Dropped.Unsent > 0 })
	eventually(t, "a re-dial", func() bool {
		client.Send(ctx, stuck, NewID(), TypeREQ, "a.b", nil, nil)
		return accepted.Load() == 2
	})
}

// TestQueueBackPressure: a Send that finds the queue full waits for room
// and succeeds once the peer reads again; every message arrives. (The old
// queue returned ErrQueueFull at once, and a reply that met a full queue
// was lost.)
func TestQueueBackPressure(t *testing.T) {
	ctx := testContext(t)
	release := make(chan struct{})
	var got atomic.Int64
	server := listen(t, Options{Handler: func(Incoming) {
		<-release
		got.Add(1)
	}})
	client := listen(t, Options{SendQueue: 2})

	const n = 200
	body := make([]byte, 64<<10) // fills the socket buffers quickly
	sent := make(chan error, 1)
	go func() {
		for range n {
			if err := client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, body); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	eventually(t, "a Send to wait for room", func() bool { return client.Stats().QueueWaits > 0 })
	close(release)
	require.NoError(t, <-sent)
	eventually(t, "every message to arrive", func() bool { return got.Load() == n })
	assert.Zero(t, client.Stats().QueueFull)
}

// TestPeerRestartInProcess: a peer that restarts at the same endpoint gets
// each later message exactly once, on one new connection that replaced
// the dead one.
func TestPeerRestartInProcess(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	b := listen(t, Options{Handler: in.handler})
	a := listen(t, Options{})
	require.NoError(t, a.Send(ctx, b.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	require.NoError(t, b.Close())

	in2 := newInbox()
	b2 := listen(t, Options{Endpoint: b.Endpoint(), Handler: in2.handler})
	// Messages sent before the old connection's death is noticed are
	// lost with it, as with ZeroMQ; retry until one arrives.
	first := ""
	eventually(t, "the restarted peer to receive", func() bool {
		id := NewID()
		if a.Send(ctx, b2.Endpoint(), id, TypeREQ, "a.b", nil, nil) != nil {
			return false
		}
		select {
		case m := <-in2:
			first = m.ID
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
	require.NotEmpty(t, first)

	ids := map[string]int{}
	for range 20 {
		id := NewID()
		ids[id] = 0
		require.NoError(t, a.Send(ctx, b2.Endpoint(), id, TypeREQ, "a.b", nil, nil))
	}
	for range 20 {
		m := in2.next(t)
		if m.ID != first {
			ids[m.ID]++
		}
	}
	for id, n := range ids {
		assert.Equal(t, 1, n, id)
	}
	assert.EqualValues(t, 1, a.Stats().ConnectionsOut, "the dead connection was replaced, not kept")
	assert.Len(t, a.Peers(), 1)
}

// TestDuplicateIdentity: two connections arrive with the same identity (a
// restarted peer whose old connection is not yet closed); each reply goes
// out once, on our single connection to that endpoint. zmq4's ROUTER would
// write a reply to every connection with the identity.
func TestDuplicateIdentity(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	replies := newInbox()
	peer := listen(t, Options{Handler: replies.handler})
	old := rawDealer(t, server.Endpoint(), peer.Endpoint())
	cur := rawDealer(t, server.Endpoint(), peer.Endpoint())

	sent := map[string]bool{}
	for i := range 10 {
		id := NewID()
		sent[id] = true
		d := old
		if i%2 == 1 {
			d = cur
		}
		require.NoError(t, d.SendMulti(frames(id, TypeREQ, "a.b", "", "")))
	}
	for range 10 {
		rep := replies.next(t)
		require.True(t, sent[rep.Subject], "unknown or duplicate reply %s", rep.Subject)
		delete(sent, rep.Subject)
	}
	select {
	case rep := <-replies:
		t.Fatalf("duplicate reply %+v", rep)
	case <-time.After(100 * time.Millisecond):
	}
	_ = ctx
}

// TestPeerRestart runs the peer in another process (this test binary, see
// TestMain), kills it, and restarts it at the same endpoint: Send fails
// fast with ErrNotConnected while it is gone, and works again once it is
// back, with nothing done by the caller.
func TestPeerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts subprocesses")
	}
	ctx := testContext(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ep := tcpScheme + l.Addr().String()
	require.NoError(t, l.Close())

	in := newInbox()
	client := listen(t, Options{Handler: in.handler})
	roundTrip := func() bool {
		id := NewID()
		if client.Send(ctx, ep, id, TypeREQ, "echo.echo", nil, []byte(id)) != nil {
			return false
		}
		for {
			select {
			case m := <-in:
				if m.Subject == id {
					return true
				}
			case <-time.After(100 * time.Millisecond):
				return false
			}
		}
	}

	server := startEchoProcess(t, ep)
	eventually(t, "the first round trip", roundTrip)
	require.NoError(t, server.Process.Kill())
	_ = server.Wait()

	var sendErr error
	eventually(t, "Send to fail", func() bool {
		sendErr = client.Send(ctx, ep, NewID(), TypeREQ, "echo.echo", nil, nil)
		return sendErr != nil
	})
	assert.ErrorIs(t, sendErr, ErrNotConnected)
	assert.NoError(t, ctx.Err(), "failed fast, not at the deadline")

	server = startEchoProcess(t, ep)
	eventually(t, "a round trip after the restart", roundTrip)
	require.NoError(t, server.Process.Kill())
	_ = server.Wait()
}

// startEchoProcess runs this test binary as an echo server at ep and waits
// until it listens.
func startEchoProcess(t *testing.T, ep string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s", echoServerEnv, ep))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready", strings.TrimSpace(line))
	return cmd
}

var _ = context.Background

// TestCloseFlushesQueuedMessages: what Send accepted before Close goes out,
// even when Close comes right after: a container's last replies, sent just
// before it stops, must reach their callers.
func TestCloseFlushesQueuedMessages(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	receiver := listen(t, Options{Handler: in.handler})
	sender, err := Listen(ctx, Options{Endpoint: "tcp://127.0.0.1:0"})
	require.NoError(t, err)

	const n = 500
	body := make([]byte, 4<<10)
	for range n {
		require.NoError(t, sender.Send(ctx, receiver.Endpoint(), NewID(), TypeREP, "x", nil, body))
	}
	require.NoError(t, sender.Close())
	for range n {
		in.next(t)
	}
	assert.ErrorIs(t, sender.Send(ctx, receiver.Endpoint(), NewID(), TypeREP, "x", nil, nil), ErrClosed)
}
