package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
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
	peer *peer // nil for a route
	c    *conn
	// shared: the peer agreed to carry replies on this connection
	// (shared.go). A dialed one is then read for them; an accepted one is
	// a route, the outConn of an accepted connection, that sends replies
	// to the requests read from it (by readInbound, which owns it).
	shared bool
	wake   chan struct{} // capacity 1: the queue became non-empty, or a barrier is asked for
	done   chan struct{} // closed when dead
	dead   atomic.Bool
	writer sync.Once // starts writeLoop, at the first message it must write

	mu      sync.Mutex
	q       []outMsg
	spare   []outMsg      // an emptied batch slice for reuse
	room    chan struct{} // closed when the writer takes a batch; nil when nobody waits
	barrier chan struct{} // closed by the writer once the queue is written; see flush
	closed  bool          // dead, under mu
	// writing: someone owns the socket's write side — the writer goroutine
	// with a batch, or a sender writing its message itself (sendDirect).
	// Only the owner writes, and sets the write deadline (deadline).
	writing bool
	// concurrent: the last write carried more than one message, or
	// messages were queued while it ran; senders then leave writing to the
	// writer, which batches. Under mu.
	concurrent bool

	deadline time.Time // the socket's write deadline; only the owner of writing uses it

	// calls counts the calls in progress on a shared connection: requests
	// sent (enqueue) or read (readMessages) on it that are not answered
	// yet. More than one means more messages are about to be sent, so
	// senders leave writing to the writer, which gathers them. A request
	// that never gets a reply (one too large for the server to send)
	// leaves it one too high for the connection's life: its messages then
	// all go through the writer, a goroutine wake-up each, nothing lost.
	calls atomic.Int64

	once  sync.Once
	cause error // why it died; set before done is closed
}

func newOutConn(t *Transport, p *peer, c *conn, shared bool) *outConn {
	oc := &outConn{t: t, peer: p, c: c, shared: shared, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if shared {
		t.stats.shared.Add(1)
	}
	return oc
}

// name is the peer's endpoint for logs and errors.
func (oc *outConn) name() string {
	if oc.peer != nil {
		return oc.peer.endpoint
	}
	return oc.c.RemoteAddr().String()
}

// signal wakes the writer, starting it first if need be: one call at a
// time, senders write their messages themselves (sendDirect), so a
// connection that never sees concurrent traffic never costs a writer
// goroutine (a server with many sequential callers has one route each).
func (oc *outConn) signal() {
	oc.writer.Do(func() {
		// Refused only once Close has closed every connection: their
		// readers end them, and nothing waits for this writer any more
		// (Close's barriers come before).
		oc.t.spawn(oc.writeLoop)
	})
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
	if !oc.shared {
		return oc.enqueueBusy(ctx, m, false)
	}
	if m.typ == TypeREQ {
		busy := oc.calls.Add(1) > 1
		err := oc.enqueueBusy(ctx, m, busy)
		if err != nil {
			decFloor(&oc.calls)
		}
		return err
	}
	err := oc.enqueueBusy(ctx, m, oc.calls.Load() > 1)
	decFloor(&oc.calls)
	return err
}

// enqueueBusy is enqueue; busy says that other calls are in progress on
// the connection (calls), so m is left to the writer even when nobody
// writes: their messages follow, and share its write.
func (oc *outConn) enqueueBusy(ctx context.Context, m *outMsg, busy bool) error {
	// The common case, kept small: Send often runs on a fresh goroutine
	// (a handler's reply), whose stack must not have to grow for it.
	oc.mu.Lock()
	if oc.closed || oc.t.closed.Load() || len(oc.q) >= oc.t.opts.SendQueue {
		oc.mu.Unlock()
		return oc.enqueueSlow(ctx, m)
	}
	if !busy && len(oc.q) == 0 && !oc.writing && !oc.concurrent && oc.barrier == nil && m.size() <= maxDirect {
		oc.writing = true
		oc.mu.Unlock()
		oc.sendDirect(m)
		return nil
	}
	oc.push(m)
	return nil
}

// maxDirect: a sender writes its message itself only up to this size, which
// the socket's send buffer takes at once unless the peer stopped reading;
// bigger ones go to the writer, so that Send returns once they are queued
// instead of when the kernel has taken a megabyte.
const maxDirect = writeBufferSize

// sendDirect writes m from the sender's goroutine: the queue was empty and
// nobody was writing, so handing m to the writer would only cost a
// goroutine wake-up (one call at a time: one of the four per round trip).
// The caller has set oc.writing; it owns the socket's write side as the
// writer does, with the same write deadline, and hands it back — waking
// the writer for what was queued meanwhile, or for a barrier. A failed
// write kills the connection, as the writer's does: the message was
// accepted, and counts as unsent.
//
//go:noinline
func (oc *outConn) sendDirect(m *outMsg) {
	t := oc.t
	err := oc.refreshDeadline()
	if err == nil {
		bw := writers.Get().(*batchWriter)
		bw.Reset(oc.c.TCPConn)
		writeMessage(bw, m)
		err = bw.Flush()
		bw.Reset(nil)
		writers.Put(bw)
	}
	if err != nil {
		t.stats.unsent.Add(1)
		oc.mu.Lock()
		oc.writing = false
		oc.mu.Unlock()
		oc.die(err)
		return
	}
	t.stats.flushes.Add(1)
	t.stats.out.Add(1)
	t.stats.bytesOut.Add(uint64(m.size()))
	oc.mu.Lock()
	oc.writing = false
	wake := len(oc.q) > 0 || oc.barrier != nil
	if len(oc.q) > 0 {
		oc.concurrent = true // others sent while this one wrote: batch them
	}
	oc.mu.Unlock()
	if wake {
		oc.signal()
	}
}

// refreshDeadline moves the write deadline on, only once half of it is
// used up: setting it costs more than reading the clock. Only the owner of
// oc.writing calls it.
func (oc *outConn) refreshDeadline() error {
	timeout := oc.t.opts.WriteTimeout
	if now := time.Now(); oc.deadline.Sub(now) < timeout/2 {
		oc.deadline = now.Add(timeout)
		return oc.c.SetWriteDeadline(oc.deadline)
	}
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
				return fmt.Errorf("%w: %s: connection lost while the queue was full", ErrNotConnected, oc.name())
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
				ErrQueueFull, oc.name(), t.opts.SendQueue, ctx.Err())
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
		if oc.shared {
			t.stats.shared.Add(-1)
		}
		if oc.peer == nil { // a route: its reader accounts for the connection
			t.forgetRoute(oc)
			return
		}
		t.stats.connsOut.Add(-1)
		oc.peer.lost(oc)
		if !t.closed.Load() {
			t.log.Debug("transport: connection to peer closed",
				slog.String("peer", oc.peer.endpoint), slog.Any("err", err))
		}
	})
}

// readLoop reads the connection for the peer's replies when it is shared,
// else only to learn when it dies: a lymph peer's ROUTER never sends on
// it, and whatever arrives is discarded unparsed (so it costs no memory;
// the read buffer is given back while the reader is parked). EOF or an
// error marks the connection dead at once, so that Send re-dials instead
// of writing into a socket nobody reads, and OnPeerDown runs as soon as
// the peer's kernel closed the socket.
func (oc *outConn) readLoop() {
	var err error
	if oc.shared {
		err = oc.t.readMessages(oc.c, oc.peer.endpoint, true, nil, &oc.calls)
	} else {
		err = oc.c.r.discardAll()
	}
	oc.die(err)
	<-oc.done
	t := oc.t
	if f := t.opts.OnPeerDown; f != nil && !t.closed.Load() {
		var down error = fmt.Errorf("%w: %s: %w", ErrNotConnected, oc.peer.endpoint, oc.cause)
		if oc.shared && closedByPeer(oc.cause) {
			down = repliesRead{down}
		}
		f(oc.peer.endpoint, down)
	}
}

// closedByPeer reports whether err ended a connection from the peer's
// side: an orderly close (EOF), a reset, or a write after either (EPIPE).
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// repliesRead marks the OnPeerDown error of a shared connection that the
// peer closed: every reply it sent on it came before the end, and was read.
type repliesRead struct{ error }

func (e repliesRead) Unwrap() error { return e.error }

// RepliesRead reports whether err, given to Options.OnPeerDown, says that
// the peer closed a shared connection (shared.go): the replies it sent
// were all read before the end, so calls still waiting for one on it will
// get none, and need not wait for replies still on their way (which,
// between lymph peers, travel on another connection).
func RepliesRead(err error) bool {
	var r repliesRead
	return errors.As(err, &r)
}

// batchYieldBytes: a writer with less than this framed, on a connection
// that carries concurrent traffic, yields once before it flushes, so that
// the messages other goroutines are about to queue share the write (gRPC's
// loopy writer does the same). Half the batch buffer: with 1 KiB messages
// a smaller bound let the first two through alone, a write each.
const batchYieldBytes = writeBufferSize / 2

// take swaps the queue out for the writer: the batch to write, nil when
// the queue is empty. Senders waiting for room are woken. The writer must
// own the write side (acquire) before it calls take.
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

// acquire makes the writer the owner of the write side; false while a
// sender writes its message itself (it wakes the writer when it is done).
func (oc *outConn) acquire() bool {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.writing {
		return false
	}
	oc.writing = true
	return true
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
	for {
		select {
		case <-oc.wake:
		case <-oc.done:
			return
		}
		if !oc.acquire() {
			continue
		}
		for {
			batch := oc.take()
			if batch == nil {
				oc.mu.Lock()
				if len(oc.q) > 0 { // queued between take and here
					oc.mu.Unlock()
					continue
				}
				// Empty: hand the write side back, in the same critical
				// section, so a sender that finds the queue empty next
				// may write itself. (die closes the barrier of a dead
				// connection.)
				oc.writing = false
				if oc.barrier != nil && !oc.closed {
					close(oc.barrier)
					oc.barrier = nil
				}
				oc.mu.Unlock()
				break
			}

			if err := oc.refreshDeadline(); err != nil {
				t.stats.unsent.Add(uint64(len(batch)))
				oc.die(err)
				return
			}
			bw := writers.Get().(*batchWriter)
			bw.Reset(oc.c.TCPConn)
			var n int
			var size int64
			yielded := false
			oc.mu.Lock()
			concurrent := oc.concurrent || oc.calls.Load() > 1
			oc.mu.Unlock()
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
			// more were queued while it ran.
			oc.mu.Lock()
			oc.concurrent = n > 1 || len(oc.q) > 0
			oc.mu.Unlock()
		}
	}
}
