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

// skipUnlessBusyPoll skips tests of polling where it never happens.
func skipUnlessBusyPoll(t *testing.T) {
	t.Helper()
	switch {
	case !busyPollSupported:
		t.Skip("busy polling is not supported on " + runtime.GOOS)
	case runtime.NumCPU() < 2:
		t.Skip("no busy polling on one CPU")
	}
}

// tcpPair returns both ends of a loopback TCP connection; the reading end
// is read through a busy-polling conn with the given budget.
func tcpPair(t *testing.T, budget time.Duration) (reader *conn, writer net.Conn, stats *counters) {
	t.Helper()
	skipUnlessBusyPoll(t)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer ln.Close()
	writer, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { writer.Close() })
	nc, err := ln.AcceptTCP()
	require.NoError(t, err)
	reader = newConn(nc, inboundReadBuffer)
	t.Cleanup(func() { reader.Close() })
	stats = new(counters)
	reader.busyPoll(budget, stats)
	require.NoError(t, reader.SetReadDeadline(time.Now().Add(testTimeout)))
	return reader, writer, stats
}

// readOne reads one byte straight from the poll reader (no bufio
// buffering), so that each call is one read.
func readOne(t *testing.T, c *conn) byte {
	t.Helper()
	var b [1]byte
	n, err := c.poll.Read(b[:])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	return b[0]
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
	r, w, stats := tcpPair(t, testTimeout)

	_, err := w.Write([]byte{1, 2})
	require.NoError(t, err)
	assert.Equal(t, byte(1), readOne(t, r))
	assert.Equal(t, byte(2), readOne(t, r))
	writeLater(w, 10*time.Millisecond, 3) // comes while the reader polls
	assert.Equal(t, byte(3), readOne(t, r))

	assert.EqualValues(t, 3, stats.busyPolls.Load())
	assert.Zero(t, stats.emptyBusyPolls.Load())
}

// A quiet connection stops polling after a few empty polls (each of which
// still gets its message, parked), and polls again once messages come
// quickly.
func TestBusyPollFollowsTraffic(t *testing.T) {
	r, w, stats := tcpPair(t, time.Millisecond)

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

	// Then a burst: reads find data at once, and polling resumes.
	burst := make([]byte, 64)
	_, err := w.Write(burst)
	require.NoError(t, err)
	for range burst {
		readOne(t, r)
	}
	assert.Greater(t, stats.busyPolls.Load(), polls, "no polls in the burst")
	assert.Equal(t, polls, stats.emptyBusyPolls.Load(), "the burst's polls found data")
}

// End of stream, Close and deadlines end a poll with the errors a plain
// read gives.
func TestBusyPollErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		r, w, _ := tcpPair(t, 50*time.Millisecond)
		go func() {
			time.Sleep(10 * time.Millisecond)
			w.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("Close", func(t *testing.T) {
		r, _, _ := tcpPair(t, 50*time.Millisecond)
		go func() {
			time.Sleep(10 * time.Millisecond)
			r.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, net.ErrClosed)
	})
	t.Run("deadline", func(t *testing.T) {
		r, _, stats := tcpPair(t, time.Millisecond)
		require.NoError(t, r.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := r.r.ReadByte()
		var ne net.Error
		require.True(t, errors.As(err, &ne), "%v is a net.Error", err)
		assert.True(t, ne.Timeout())
		assert.EqualValues(t, 1, stats.emptyBusyPolls.Load())
	})
}

// At most half the Ps, and at least one, poll at once; none on one CPU.
func TestBusyPollSlots(t *testing.T) {
	for _, tc := range []struct {
		procs, cpus int
		want        int32
	}{{8, 8, 4}, {3, 8, 1}, {1, 8, 1}, {4, 1, 0}, {1, 1, 0}} {
		assert.Equal(t, tc.want, pollerLimit(tc.procs, tc.cpus), "GOMAXPROCS %d, %d CPUs", tc.procs, tc.cpus)
	}
	if runtime.NumCPU() < 2 {
		return // setBudget turns polling off; nothing more to see here
	}

	require.Zero(t, pollers.Load(), "no reader polls between tests")
	defer pollers.Store(0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	r, _, _ := tcpPair(t, time.Millisecond)
	for _, tc := range []struct{ procs, want int }{{4, 2}, {3, 1}, {1, 1}} {
		runtime.GOMAXPROCS(tc.procs)
		r.poll.setBudget(time.Millisecond, new(counters))
		pollers.Store(0)
		for range tc.want {
			assert.True(t, acquirePollSlot(r.poll.maxPollers), "GOMAXPROCS %d", tc.procs)
		}
		assert.False(t, acquirePollSlot(r.poll.maxPollers), "GOMAXPROCS %d: poller %d", tc.procs, tc.want+1)
	}
}

// Connections from peers in other processes are polled; those from a
// Transport in this process are not, since a poller here would take the
// CPU its peer needs to answer.
func TestBusyPollOnlyRemotePeers(t *testing.T) {
	skipUnlessBusyPoll(t)
	box := newInbox()
	srv := listen(t, Options{Handler: box.handler, DisableHeartbeat: true, BusyPoll: time.Second})

	local := listen(t, Options{DisableHeartbeat: true})
	for range 3 {
		require.NoError(t, local.Send(testContext(t), srv.Endpoint(), "id", "REQ", "s", nil, nil))
		box.next(t)
	}
	assert.Zero(t, srv.Stats().BusyPolls, "polled a peer in this process")

	// A hand-made ZMTP peer claims an endpoint nobody here listens at: as
	// far as the transport can tell, another process.
	remote := rawConn(t, srv.Endpoint(), "tcp://127.0.0.1:1", true)
	for range 3 {
		_, err := remote.Write(message([]byte(NewID()), []byte(TypeREQ), []byte("s"), []byte{0x80}, []byte{0xc0}))
		require.NoError(t, err)
		box.next(t)
	}
	remote.Close() // ends the poll for a fourth message
	assert.NotZero(t, srv.Stats().BusyPolls, "did not poll a peer in another process")
}
