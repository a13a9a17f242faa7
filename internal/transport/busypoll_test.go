package transport

import (
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireBusyPoll fails tests of polling where it cannot happen: they
// would pass without testing anything.
func requireBusyPoll(t *testing.T) {
	t.Helper()
	require.True(t, busyPollSupported, "busy polling is not supported on "+runtime.GOOS)
	require.GreaterOrEqual(t, runtime.GOMAXPROCS(0), 2, "busy polling needs GOMAXPROCS >= 2")
}

// tcpPair returns both ends of a loopback TCP connection; the reading end
// is read through a busy-polling conn with the given budget, taking slots
// from slots (a fresh single slot when nil).
func tcpPair(t *testing.T, budget time.Duration, slots *pollSlots) (reader *conn, writer net.Conn, stats *counters) {
	t.Helper()
	requireBusyPoll(t)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer ln.Close()
	writer, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	nc, err := ln.AcceptTCP()
	require.NoError(t, err)
	reader = newConn(nc, nil)
	t.Cleanup(func() { reader.Close() })
	if slots == nil {
		slots = &pollSlots{max: 1}
	}
	stats = new(counters)
	reader.busyPoll(budget, slots, nil, stats)
	require.NoError(t, reader.SetReadDeadline(time.Now().Add(testTimeout)))
	return reader, writer, stats
}

// readOne reads one byte; the writers below write one byte at a time, so
// each call is one read of the socket.
func readOne(t *testing.T, c *conn) byte {
	t.Helper()
	b, err := c.r.ReadByte()
	require.NoError(t, err)
	return b
}

// writeLater writes b to w after a pause, from another goroutine.
func writeLater(w net.Conn, pause time.Duration, b byte) {
	go func() {
		time.Sleep(pause)
		w.Write([]byte{b})
	}()
}

// A busy connection (a new one counts as busy) polls for the next message
// and gets it, whether it was there already or came while it polled.
func TestBusyPollReadsWhatArrives(t *testing.T) {
	r, w, stats := tcpPair(t, testTimeout, nil)

	_, err := w.Write([]byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, byte(1), readOne(t, r))
	assert.Equal(t, byte(2), readOne(t, r))
	writeLater(w, 10*time.Millisecond, 3) // comes while the reader polls
	assert.Equal(t, byte(3), readOne(t, r))

	// Bytes 1 and 2 come in one read or two.
	polls := stats.busyPolls.Load()
	assert.True(t, polls == 2 || polls == 3, "%d polls", polls)
	assert.Zero(t, stats.emptyBusyPolls.Load())
}

// A quiet connection stops polling after a few empty polls (each of which
// still gets its message, parked), and polls again once messages come
// quickly.
func TestBusyPollFollowsTraffic(t *testing.T) {
	r, w, stats := tcpPair(t, time.Millisecond, nil)

	// Messages 20 ms apart: each wait counts as 2 ms (twice the budget)
	// in the average, which passes half the budget after three reads. (A
	// read that starts late waits less; allow one more poll for that.)
	for i := range 8 {
		writeLater(w, 20*time.Millisecond, byte(i))
		assert.Equal(t, byte(i), readOne(t, r))
	}
	polls := stats.busyPolls.Load()
	assert.True(t, polls >= 3 && polls <= 4, "%d polls of the quiet connection, want 3", polls)
	assert.Equal(t, polls, stats.emptyBusyPolls.Load(), "polls that found a message 20 ms early")

	// Then a burst, one byte per write: reads find data at once, and
	// polling resumes.
	for i := range 64 {
		_, err := w.Write([]byte{byte(i)})
		require.NoError(t, err)
		readOne(t, r)
	}
	assert.Greater(t, stats.busyPolls.Load(), polls, "no polls in the burst")
	assert.Equal(t, polls, stats.emptyBusyPolls.Load(), "the burst's polls found data")
}

// End of stream, Close and deadlines end a poll with the errors a plain
// read gives.
func TestBusyPollErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		r, w, _ := tcpPair(t, 50*time.Millisecond, nil)
		go func() {
			time.Sleep(10 * time.Millisecond)
			w.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("Close", func(t *testing.T) {
		r, _, _ := tcpPair(t, 50*time.Millisecond, nil)
		go func() {
			time.Sleep(10 * time.Millisecond)
			r.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, net.ErrClosed)
	})
	t.Run("deadline", func(t *testing.T) {
		r, _, stats := tcpPair(t, time.Millisecond, nil)
		require.NoError(t, r.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := r.r.ReadByte()
		var ne net.Error
		require.True(t, errors.As(err, &ne), "%v is a net.Error", err)
		assert.True(t, ne.Timeout())
		assert.EqualValues(t, 1, stats.emptyBusyPolls.Load())
	})
}

// TestBusyPollSlotReleased: a reader whose poll found nothing and that
// parks gives its slot back, so others still poll. The old pollReader kept
// the slot until its read returned: after a burst, parked readers held every
// slot and polling silently stopped process-wide (this test timed out on
// it, with the slot still held).
func TestBusyPollSlotReleased(t *testing.T) {
	slots := &pollSlots{max: 1}
	quiet, _, quietStats := tcpPair(t, time.Millisecond, slots)
	busy, w, busyStats := tcpPair(t, testTimeout, slots)

	readDone := make(chan error, 1)
	go func() {
		_, err := quiet.r.ReadByte() // nothing comes: polls, then parks
		readDone <- err
	}()
	eventually(t, "the quiet reader's poll to end", func() bool { return quietStats.emptyBusyPolls.Load() == 1 })
	eventually(t, "the parked reader to give its slot back", func() bool { return slots.n.Load() == 0 })

	writeLater(w, 10*time.Millisecond, 7)
	assert.Equal(t, byte(7), readOne(t, busy))
	assert.EqualValues(t, 1, busyStats.busyPolls.Load(), "the busy connection got no slot")

	quiet.Close()
	assert.ErrorIs(t, <-readDone, net.ErrClosed)
	assert.Zero(t, slots.n.Load())
}

// At most half the Ps, and at least one, poll at once; none with one P.
// The limit comes from GOMAXPROCS (which follows the cgroup CPU quota), not
// from the machine's CPU count, and each Transport has its own slots.
func TestBusyPollSlots(t *testing.T) {
	for _, tc := range []struct {
		procs int
		want  int32
	}{{8, 4}, {3, 1}, {2, 1}, {1, 0}} {
		assert.Equal(t, tc.want, pollerLimit(tc.procs), "GOMAXPROCS %d", tc.procs)
	}
	requireBusyPoll(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		procs int
		want  int32
	}{{4, 2}, {1, 0}} {
		runtime.GOMAXPROCS(tc.procs)
		a := listen(t, Options{BusyPoll: time.Millisecond})
		b := listen(t, Options{BusyPoll: time.Millisecond})
		assert.Equal(t, tc.want, a.slots.max, "GOMAXPROCS %d", tc.procs)
		for range tc.want {
			require.True(t, a.slots.acquire())
		}
		assert.False(t, a.slots.acquire(), "GOMAXPROCS %d: one poller too many", tc.procs)
		if tc.want > 0 {
			assert.True(t, b.slots.acquire(), "another Transport's pollers took this one's slots")
		}
	}
}

// TestBusyPollOffByDefault: without Options.BusyPoll nothing polls, even a
// connection from another process with calls in progress (it was on by
// default before, at 200 µs).
func TestBusyPollOffByDefault(t *testing.T) {
	box := newInbox()
	srv := listen(t, Options{Handler: box.handler})
	assert.Zero(t, srv.slots.max)
	remote := rawConn(t, srv.Endpoint(), "tcp://127.0.0.1:1", true)
	for range 3 {
		_, err := remote.Write(message([]byte(NewID()), []byte(TypeREQ), []byte("s"), []byte{0x80}, []byte{0xc0}))
		require.NoError(t, err)
		box.next(t)
	}
	remote.Close()
	assert.Zero(t, srv.Stats().BusyPolls)
}

// Connections from peers in other processes are polled; those from a
// Transport in this process are not, since a poller here would take the
// CPU its peer needs to answer.
func TestBusyPollOnlyRemotePeers(t *testing.T) {
	requireBusyPoll(t)
	box := newInbox()
	srv := listen(t, Options{Handler: box.handler, BusyPoll: time.Second})

	local := listen(t, Options{})
	for range 3 {
		require.NoError(t, local.Send(testContext(t), srv.Endpoint(), "id", "REQ", "s", nil, nil))
		box.next(t)
	}
	assert.Zero(t, srv.Stats().BusyPolls, "polled a peer in this process")

	// A hand-made ZMTP peer claims an endpoint nobody here listens at: as
	// far as the transport can tell, another process. Its requests are
	// calls in progress (never answered here).
	remote := rawConn(t, srv.Endpoint(), "tcp://127.0.0.1:1", true)
	for range 3 {
		_, err := remote.Write(message([]byte(NewID()), []byte(TypeREQ), []byte("s"), []byte{0x80}, []byte{0xc0}))
		require.NoError(t, err)
		box.next(t)
	}
	eventually(t, "a poll", func() bool { return srv.Stats().BusyPolls > 0 })
	remote.Close() // ends the poll for a fourth message
}

// TestBusyPollOnlyCallsPending: a connection polls only while calls are in
// progress with its peer. Replies to nothing (or one-way traffic) do not
// make it poll; once we sent the peer a request, its connection polls for
// the reply and right after it. The old reader polled every busy
// connection, calls or not.
func TestBusyPollOnlyCallsPending(t *testing.T) {
	requireBusyPoll(t)
	peerEP, _ := stuckPeer(t) // accepts our dial; we never need it to read much
	box := newInbox()
	srv := listen(t, Options{Handler: box.handler, BusyPoll: 200 * time.Millisecond})

	remote := rawConn(t, srv.Endpoint(), peerEP, true)
	reply := func(to string) {
		_, err := remote.Write(message([]byte(NewID()), []byte(TypeREP), []byte(to), []byte{0x80}, []byte{0xc0}))
		require.NoError(t, err)
		box.next(t)
	}
	for range 3 {
		reply(NewID())
	}
	assert.Zero(t, srv.Stats().BusyPolls, "polled a connection without calls in progress")

	id := NewID()
	require.NoError(t, srv.Send(testContext(t), peerEP, id, TypeREQ, "a.b", nil, nil))
	reply(id)
	eventually(t, "a poll after the call", func() bool { return srv.Stats().BusyPolls > 0 })
	remote.Close()
}
