package transport

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// writeBufferSize is each outgoing connection's batch buffer: big enough to
// gather many small messages into one write, small enough for many peers.
const writeBufferSize = 32 << 10

// outConn is one outgoing connection with its queue and writer.
type outConn struct {
	t     *Transport
	peer  *peer
	c     *conn
	queue chan outMsg
	// unflushed counts messages queued and not yet written out, so Close
	// can let them go before it closes the connection.
	unflushed atomic.Int64
	done      chan struct{} // closed when dead
	dead      atomic.Bool
	once      sync.Once
}

// enqueue hands m to the writer, or reports the queue full.
func (oc *outConn) enqueue(m outMsg) error {
	oc.unflushed.Add(1)
	select {
	case oc.queue <- m:
		return nil
	default:
		oc.unflushed.Add(-1)
		return ErrQueueFull
	}
}

// flushed reports whether everything queued has been written (or the
// connection is dead, and nothing more will be).
func (oc *outConn) flushed() bool {
	return oc.unflushed.Load() <= 0 || oc.dead.Load()
}

// die closes the connection; the next Send dials a new one.
func (oc *outConn) die(err error) {
	oc.once.Do(func() {
		oc.dead.Store(true)
		close(oc.done)
		oc.c.Close()
		oc.t.untrack(oc.c)
		oc.t.stats.connsOut.Add(-1)
		if !oc.t.closed.Load() {
			oc.t.log.Debug("transport: connection to peer closed",
				slog.String("peer", oc.peer.endpoint), slog.Any("err", err))
		}
	})
}

// readLoop reads the connection only to learn when it dies: a peer's ROUTER
// never sends on it, and whatever arrives is discarded unparsed (so it costs
// no memory). EOF or an error marks the connection dead at once, so that
// Send re-dials instead of writing into a socket nobody reads.
func (oc *outConn) readLoop() {
	_, err := io.Copy(io.Discard, oc.c.r)
	if err == nil {
		err = io.EOF
	}
	oc.die(err)
}

// writeLoop writes queued messages in batches: everything queued is framed
// into one buffer and flushed together, one system call for many messages
// under load. A write blocked for WriteTimeout (the peer stopped reading)
// kills the connection instead of holding the queue forever.
func (oc *outConn) writeLoop() {
	t := oc.t
	bw := bufio.NewWriterSize(oc.c.TCPConn, writeBufferSize)
	timeout := t.opts.WriteTimeout
	var deadline time.Time
	for {
		var m outMsg
		select {
		case m = <-oc.queue:
		case <-oc.done:
			t.stats.unsent.Add(uint64(len(oc.queue)))
			return
		}
		n := uint64(0)
		for {
			// Refresh the deadline only once half of it is used up:
			// setting it costs more than reading the clock.
			if now := time.Now(); deadline.Sub(now) < timeout/2 {
				deadline = now.Add(timeout)
				if err := oc.c.SetWriteDeadline(deadline); err != nil {
					oc.die(err)
					return
				}
			}
			writeMessage(bw, &m)
			n++
			select {
			case m = <-oc.queue:
				continue
			default:
			}
			break
		}
		err := bw.Flush()
		oc.unflushed.Add(-int64(n))
		if err != nil {
			t.stats.unsent.Add(n + uint64(len(oc.queue)))
			oc.die(err)
			return
		}
		t.stats.out.Add(n)
	}
}
