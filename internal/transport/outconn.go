package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// writeBufferSize is the batch buffer a writer borrows while it writes: big
// enough to gather many small messages into one write. It is pooled, so an
// idle connection holds none.
const writeBufferSize = 32 << 10

// maxSpare: a writer keeps the slice of its last batch for the next one
// when it is this small (sequential traffic then queues without
// allocating); bigger ones go back to the queue pools (queue.go), so an
// idle connection keeps ~1.5 KiB, not a burst's slice.
const maxSpare = minQueueCap

// errConnDead reports a connection found dead at enqueue: the message was
// not queued.
var errConnDead = errors.New("transport: connection dead")

// outConn is one outgoing connection with its queue and writer.
//
// The queue is a slice under mu that the writer swaps out whole for each
// batch, so it costs memory in proportion to what it holds (a channel of
// SendQueue slots cost ~100 KiB per connection even empty).
type outConn struct {
	t    *Transport
	peer *peer
	c    *conn
	wake chan struct{} // capacity 1: the queue became non-empty, or a barrier is asked for
	done chan struct{} // closed when dead
	dead atomic.Bool

	mu      sync.Mutex
	q       []outMsg
	spare   []outMsg      // an emptied batch slice for reuse
	room    chan struct{} // closed when the writer takes a batch; nil when nobody waits
	barrier chan struct{} // closed by the writer once the queue is written; see flush
	closed  bool          // dead, under mu

	once  sync.Once
	cause error // why it died; set before done is closed
}

func newOutConn(t *Transport, p *peer, c *conn) *outConn {
	return &outConn{t: t, peer: p, c: c, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (oc *outConn) signal() {
	select {
	case oc.wake <- struct{}{}:
	default:
	}
}

// enqueue queues m for the writer. When the queue is full it waits for
// room until ctx ends (back pressure) and then returns ErrQueueFull; it
// returns errConnDead when the connection is found dead at once (Send
// dials again), ErrNotConnected when it died while Send waited, and
// ErrClosed once the Transport is closing.
func (oc *outConn) enqueue(ctx context.Context, m *outMsg) error {
	// The common case, kept small: Send often runs on a fresh goroutine
	// (a handler's reply), whose stack must not have to grow for it.
	oc.mu.Lock()
	if oc.closed || oc.t.closed.Load() || len(oc.q) >= oc.t.opts.SendQueue {
		oc.mu.Unlock()
		return oc.enqueueSlow(ctx, m)
	}
	oc.push(m)
	return nil
}

// push appends m, with oc.mu held, and unlocks it.
func (oc *outConn) push(m *outMsg) {
	first := len(oc.q) == 0
	if len(oc.q) == cap(oc.q) {
		oc.q = growQueue(oc.q)
	}
	oc.q = append(oc.q, *m)
	oc.mu.Unlock()
	if first {
		oc.signal()
	}
}

// enqueueSlow is enqueue when the connection is dead, the Transport
// closing, or the queue full.
//
//go:noinline
func (oc *outConn) enqueueSlow(ctx context.Context, m *outMsg) error {
	t := oc.t
	waited := false
	oc.mu.Lock()
	for {
		if oc.closed {
			oc.mu.Unlock()
			switch {
			case t.closed.Load():
				return ErrClosed
			case waited: // Disconnect, or a failed write: no second dial
				return fmt.Errorf("%w: %s: connection lost while the queue was full", ErrNotConnected, oc.peer.endpoint)
			}
			return errConnDead
		}
		// Checked under mu: Close sets closed before it takes every
		// connection's mu to place its barrier, so what is queued after
		// the barrier cannot exist.
		if t.closed.Load() {
			oc.mu.Unlock()
			return ErrClosed
		}
		if len(oc.q) < t.opts.SendQueue {
			break
		}
		if oc.room == nil {
			oc.room = make(chan struct{})
		}
		room := oc.room
		oc.mu.Unlock()
		if !waited {
			waited = true
			t.stats.queueWaits.Add(1)
		}
		select {
		case <-room:
		case <-oc.done:
		case <-ctx.Done():
			t.stats.queueFull.Add(1)
			return fmt.Errorf("%w: %s: %d messages queued, none written before %v",
				ErrQueueFull, oc.peer.endpoint, t.opts.SendQueue, ctx.Err())
		}
		oc.mu.Lock()
	}
	oc.push(m)
	return nil
}

// queued returns how many messages wait for the writer.
func (oc *outConn) queued() int {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return len(oc.q)
}

// flush asks the writer for a barrier: the returned channel is closed once
// everything queued so far has been written (or the connection died).
// Called by Close after it stopped new sends.
func (oc *outConn) flush() <-chan struct{} {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.closed { // dead: nothing more will be written
		b := make(chan struct{})
		close(b)
		return b
	}
	if oc.barrier == nil {
		oc.barrier = make(chan struct{})
	}
	b := oc.barrier
	oc.signal()
	return b
}

// die closes the connection, drops what is still queued and forgets it in
// its peer's record. OnPeerDown is called by the reader, which sees the
// socket closed at once.
func (oc *outConn) die(err error) {
	oc.once.Do(func() {
		t := oc.t
		oc.mu.Lock()
		oc.closed = true
		unsent := len(oc.q)
		oc.q, oc.spare = nil, nil
		if oc.room != nil {
			close(oc.room)
			oc.room = nil
		}
		if oc.barrier != nil {
			close(oc.barrier)
			oc.barrier = nil
		}
		oc.mu.Unlock()
		t.stats.unsent.Add(uint64(unsent))
		oc.cause = err
		oc.dead.Store(true)
		close(oc.done)
		oc.c.Close()
		t.untrack(oc.c)
		t.stats.connsOut.Add(-1)
		oc.peer.lost(oc)
		if !t.closed.Load() {
			t.log.Debug("transport: connection to peer closed",
				slog.String("peer", oc.peer.endpoint), slog.Any("err", err))
		}
	})
}

// readLoop reads the connection only to learn when it dies: a peer's ROUTER
// never sends on it, and whatever arrives is discarded unparsed (so it costs
// no memory; the read buffer is given back while the reader is parked). EOF
// or an error marks the connection dead at once, so that Send re-dials
// instead of writing into a socket nobody reads, and OnPeerDown runs as soon
// as the peer's kernel closed the socket.
func (oc *outConn) readLoop() {
	err := oc.c.r.discardAll()
	oc.die(err)
	<-oc.done
	t := oc.t
	if f := t.opts.OnPeerDown; f != nil && !t.closed.Load() {
		f(oc.peer.endpoint, fmt.Errorf("%w: %s: %w", ErrNotConnected, oc.peer.endpoint, oc.cause))
	}
}

// batchYieldBytes: a writer with less than this framed, on a connection
// that carries concurrent traffic, yields once before it flushes, so that
// the messages other goroutines are about to queue share the write (gRPC's
// loopy writer does the same). Measured at 64 calls in flight: 0.6 write
// system calls per call became ~0.1.
const batchYieldBytes = 1 << 10

// take swaps the queue out for the writer: the batch to write, nil when
// the queue is empty. Senders waiting for room are woken.
func (oc *outConn) take() []outMsg {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	batch := oc.q
	if len(batch) == 0 {
		return nil
	}
	oc.q, oc.spare = oc.spare, nil
	if oc.room != nil {
		close(oc.room)
		oc.room = nil
	}
	return batch
}

// recycle lets a written batch's payloads go and keeps its slice for the
// next one when small, else pools it.
func (oc *outConn) recycle(batch []outMsg) {
	clear(batch)
	oc.mu.Lock()
	if oc.spare == nil && !oc.closed && cap(batch) <= maxSpare {
		oc.spare, batch = batch[:0], nil
	}
	oc.mu.Unlock()
	putQueue(batch)
}

// writeLoop writes queued messages in batches: it takes the whole queue,
// frames it into one buffer and flushes it once, one system call for many
// messages under load. A write blocked for WriteTimeout (the peer stopped
// reading) kills the connection instead of holding the queue forever.
//
// When the previous flush carried more than one message (or messages
// were queued while it ran), calls are concurrent on this connection: a
// small batch then waits for one runtime.Gosched before it is flushed,
// which lets the goroutines that are about to Send add to it. One call at
// a time never waits: its batches are single messages with nothing behind
// them, which turns the yield off.
func (oc *outConn) writeLoop() {
	t := oc.t
	timeout := t.opts.WriteTimeout
	var deadline time.Time
	concurrent := false
	for {
		select {
		case <-oc.wake:
		case <-oc.done:
			return
		}
		for {
			batch := oc.take()
			if batch == nil {
				oc.mu.Lock()
				// (die closes the barrier of a dead connection.)
				if oc.barrier != nil && !oc.closed {
					close(oc.barrier)
					oc.barrier = nil
				}
				oc.mu.Unlock()
				break
			}

			// Refresh the deadline only once half of it is used up:
			// setting it costs more than reading the clock.
			if now := time.Now(); deadline.Sub(now) < timeout/2 {
				deadline = now.Add(timeout)
				if err := oc.c.SetWriteDeadline(deadline); err != nil {
					t.stats.unsent.Add(uint64(len(batch)))
					oc.die(err)
					return
				}
			}
			bw := writers.Get().(*batchWriter)
			bw.Reset(oc.c.TCPConn)
			var n int
			var size int64
			yielded := false
			for {
				for i := range batch {
					writeMessage(bw, &batch[i])
					size += batch[i].size()
				}
				n += len(batch)
				oc.recycle(batch)
				if yielded || !concurrent || bw.Buffered() >= batchYieldBytes {
					break
				}
				yielded = true
				runtime.Gosched()
				if batch = oc.take(); batch == nil {
					break
				}
			}
			err := bw.Flush()
			bw.Reset(nil)
			writers.Put(bw)
			if err != nil {
				t.stats.unsent.Add(uint64(n))
				oc.die(err)
				return
			}
			t.stats.flushes.Add(1)
			t.stats.out.Add(uint64(n))
			t.stats.bytesOut.Add(uint64(size))
			// Concurrent traffic: this flush carried several messages, or
			// more were queued while it ran (checked at the next take).
			concurrent = n > 1 || oc.queued() > 0
		}
	}
}
