package transport

import (
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pollReader reads a busy TCP connection by busy-polling it for a short
// while before parking the goroutine in the runtime's network poller.
//
// Why: on a request/reply connection the next message usually arrives
// microseconds after the reader runs dry, but a parked reader gets it only
// after the poller wakes a thread, and on a virtual machine an idle CPU
// takes tens of microseconds to wake. Measured on the 2-core VM this was
// written on, two processes ping-ponging 64 bytes over loopback made
// 28–110k round trips/s parked and 110–130k polling; lymph's sequential
// echo went from 12k to 32k calls/s and spent less CPU per call (54 µs
// against 103 µs, client and server together): sleeping and waking cost
// more than the polling. It is the trade the Go runtime itself makes when
// idle threads spin before they sleep.
//
// Polling burns CPU when nothing comes, so it is bounded four ways: only a
// connection whose last read waited less than the budget polls (a quiet
// connection never does); one poll lasts at most the budget; a poll that
// comes up empty makes the connection skip the next 2, then 4, ... up to 64
// polls; and at most half the Ps (at least one) poll at once, process-wide.
// While it polls the reader yields its P between tries, so goroutines that
// are ready to run (the handler of the message just read, say) are not held
// up.
type pollReader struct {
	c      *net.TCPConn
	rc     syscall.RawConn
	budget time.Duration // how long one poll lasts; <= 0 never polls
	stats  *counters

	hot     bool // the last read waited less than budget
	skip    int  // polls still to skip after empty ones
	backoff int  // the next skip after an empty poll

	// One poll's state, in the struct so that the callback handed to
	// RawConn.Read is one method value made once, not a closure that
	// escapes (two allocations per read).
	poll     func(fd uintptr) bool
	p        []byte
	n        int
	err      error
	deadline time.Time
	polling  bool // within the budget so far
}

// maxBackoff caps how many reads skip polling after empty polls.
const maxBackoff = 64

// pollers counts readers busy-polling now, process-wide.
var pollers atomic.Int32

// newPollReader returns a reader of c that does not poll until its budget
// is set, or nil where polling is not supported.
func newPollReader(c *net.TCPConn) *pollReader {
	if !busyPollSupported {
		return nil
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &pollReader{c: c, rc: rc, backoff: 2}
	r.poll = r.pollFD
	return r
}

// Read reads at least one byte, polling first when the connection is busy.
func (r *pollReader) Read(p []byte) (int, error) {
	if r.budget <= 0 {
		return r.c.Read(p)
	}
	start := time.Now()
	if !r.hot || r.skip > 0 || !acquirePollSlot() {
		if r.skip > 0 {
			r.skip--
		}
		n, err := r.c.Read(p)
		r.hot = time.Since(start) < r.budget
		return n, err
	}
	r.p, r.deadline, r.polling = p, start.Add(r.budget), true
	rerr := r.rc.Read(r.poll)
	pollers.Add(-1)
	n, err := r.n, r.err
	r.p, r.err = nil, nil
	r.stats.busyPolls.Add(1)
	if r.polling {
		r.backoff = 2
	} else {
		r.stats.emptyBusyPolls.Add(1)
		r.skip = r.backoff
		r.backoff = min(2*r.backoff, maxBackoff)
	}
	r.hot = time.Since(start) < r.budget
	if rerr == nil {
		rerr = err
	}
	switch {
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.c.LocalAddr(), Addr: r.c.RemoteAddr(), Err: rerr}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// again is called when the socket had nothing to read: it reports whether
// to try again (the budget lasts; it yields the P first) or to park.
func (r *pollReader) again() bool {
	if !r.polling || time.Now().After(r.deadline) {
		r.polling = false
		return false
	}
	runtime.Gosched()
	return true
}

// acquirePollSlot takes one of the process's polling slots, if one is free.
func acquirePollSlot() bool {
	limit := int32(max(1, runtime.GOMAXPROCS(0)/2))
	for {
		n := pollers.Load()
		if n >= limit {
			return false
		}
		if pollers.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// endpoints holds the endpoints this process listens at: a connection
// from one of them comes from a peer sharing our Ps, and is not polled.
var endpoints sync.Map // endpoint → struct{}

// listening reports whether a Transport of this process listens at
// endpoint.
func listening(endpoint string) bool {
	_, ok := endpoints.Load(endpoint)
	return ok
}
