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

// tcpPair returns both ends of a loopback TCP connection; the reading end
// is read through a busy-polling conn with the given budget.
func tcpPair(t *testing.T, budget time.Duration) (reader *conn, writer net.Conn, stats *counters) {
	t.Helper()
	if !busyPollSupported {
		t.Skip("busy polling is not supported on " + runtime.GOOS)
	}
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

func readByte(t *testing.T, c *conn) byte {
	t.Helper()
	b, err := c.r.ReadByte()
	require.NoError(t, err)
	return b
}

// A connection whose last message came within the budget polls for the
// next one, and gets it, whether it was there already or came while it
// polled.
func TestBusyPollReadsWhatArrives(t *testing.T) {
	r, w, stats := tcpPair(t, testTimeout)

	_, err := w.Write([]byte{1})
	require.NoError(t, err)
	assert.Equal(t, byte(1), readByte(t, r))
	assert.Zero(t, stats.busyPolls.Load(), "a first read does not poll: nothing says the connection is busy")

	_, err = w.Write([]byte{2})
	require.NoError(t, err)
	assert.Equal(t, byte(2), readByte(t, r))

	go func() {
		time.Sleep(10 * time.Millisecond) // let the reader start polling
		w.Write([]byte{3})
	}()
	assert.Equal(t, byte(3), readByte(t, r))

	assert.EqualValues(t, 2, stats.busyPolls.Load())
	assert.Zero(t, stats.emptyBusyPolls.Load())
}

// A poll that finds nothing within the budget parks the reader (which
// still gets the message when it comes) and makes the next polls skip,
// more after each empty one.
func TestBusyPollBacksOffWhenEmpty(t *testing.T) {
	r, w, stats := tcpPair(t, time.Microsecond)
	pr := r.poll

	for round, wantSkip := range []int{2, 4, 8} {
		pr.hot, pr.skip = true, 0 // as if the last message came at once
		go func() {
			time.Sleep(10 * time.Millisecond) // well past the budget
			w.Write([]byte{byte(round)})
		}()
		assert.Equal(t, byte(round), readByte(t, r))
		assert.EqualValues(t, round+1, stats.emptyBusyPolls.Load())
		assert.Equal(t, wantSkip, pr.skip)
	}

	// While skipping, a hot connection does not poll.
	polls := stats.busyPolls.Load()
	pr.hot = true
	_, err := w.Write([]byte{9})
	require.NoError(t, err)
	assert.Equal(t, byte(9), readByte(t, r))
	assert.Equal(t, polls, stats.busyPolls.Load())
	assert.Equal(t, 7, pr.skip)
}

// A quiet connection (the last read waited longer than the budget) never
// polls.
func TestBusyPollSkipsQuietConnections(t *testing.T) {
	r, w, stats := tcpPair(t, time.Millisecond)
	for i := range 3 {
		go func() {
			time.Sleep(20 * time.Millisecond)
			w.Write([]byte{byte(i)})
		}()
		assert.Equal(t, byte(i), readByte(t, r))
	}
	assert.Zero(t, stats.busyPolls.Load())
}

// End of stream, Close and deadlines end a poll with the errors a plain
// read gives.
func TestBusyPollErrors(t *testing.T) {
	t.Run("EOF", func(t *testing.T) {
		r, w, _ := tcpPair(t, 50*time.Millisecond)
		r.poll.hot = true
		go func() {
			time.Sleep(10 * time.Millisecond)
			w.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, io.EOF)
	})
	t.Run("Close", func(t *testing.T) {
		r, _, _ := tcpPair(t, 50*time.Millisecond)
		r.poll.hot = true
		go func() {
			time.Sleep(10 * time.Millisecond)
			r.Close()
		}()
		_, err := r.r.ReadByte()
		assert.ErrorIs(t, err, net.ErrClosed)
	})
	t.Run("deadline", func(t *testing.T) {
		r, _, stats := tcpPair(t, time.Millisecond)
		r.poll.hot = true
		require.NoError(t, r.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
		_, err := r.r.ReadByte()
		var ne net.Error
		require.True(t, errors.As(err, &ne), "%v is a net.Error", err)
		assert.True(t, ne.Timeout())
		assert.EqualValues(t, 1, stats.emptyBusyPolls.Load())
	})
}

// At most half the Ps, and at least one, poll at once.
func TestBusyPollSlots(t *testing.T) {
	require.Zero(t, pollers.Load(), "no reader polls between tests")
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	defer pollers.Store(0)
	assert.True(t, acquirePollSlot())
	assert.True(t, acquirePollSlot())
	assert.False(t, acquirePollSlot(), "a third poller with 4 Ps")
	runtime.GOMAXPROCS(1)
	pollers.Store(0)
	assert.True(t, acquirePollSlot(), "one poller even with 1 P")
	assert.False(t, acquirePollSlot())
}

// Connections from peers in other processes are polled; those from a
// Transport in this process are not, since a poller here would take the
// CPU its peer needs to answer.
func TestBusyPollOnlyRemotePeers(t *testing.T) {
	if !busyPollSupported {
		t.Skip("busy polling is not supported on " + runtime.GOOS)
	}
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
