package transport

import (
	"io"
	"net"
	"os"
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
// echo between two processes went from 12k to 33–38k calls/s, and spent
// less CPU per call (46–54 µs against 103 µs, both processes together):
// sleeping and waking cost more than the polling. It is the trade the Go
// runtime makes too when its idle threads spin before they sleep.
//
// Polling burns CPU when nothing comes, so it is bounded: a read polls
// only while the moving average of the connection's waits is under half
// the budget (a quiet connection stops after two or three empty polls and
// never polls again until its messages come quickly); one poll lasts at
// most the budget; and at most half the Ps (at least one) poll at once,
// process-wide (none on a one-CPU machine). While it polls the reader yields its P between tries, so
// goroutines ready to run (the handler of the message just read, say) are
// not held up. The cost that remains is on connections whose messages come
// regularly, about one per budget: measured with one every 100 µs, the
// server used 81 % of a CPU polling against 57 % parked; at one per 150 µs
// or more, or back to back, polling costs nothing extra.
//
// A deadline or Close is noticed when the current poll ends, within the
// budget.
type pollReader struct {
	c      *net.TCPConn
	rc     syscall.RawConn
	budget time.Duration // how long one poll lasts; <= 0 never polls
	stats  *counters
	// maxPollers is the process-wide poller limit, from GOMAXPROCS when
	// polling was turned on: reading GOMAXPROCS takes the scheduler's
	// global lock, too dear for every read.
	maxPollers int32

	// avgWait is the moving average of how long reads waited for data;
	// the connection is busy, and polled, while it is under half the
	// budget.
	avgWait time.Duration

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
	r := &pollReader{c: c, rc: rc}
	r.poll = r.pollFD
	return r
}

// setBudget turns polling on (budget > 0) or off, counting polls in
// stats. It must not run concurrently with Read.
func (r *pollReader) setBudget(budget time.Duration, stats *counters) {
	r.maxPollers = pollerLimit(runtime.GOMAXPROCS(0), runtime.NumCPU())
	if r.maxPollers == 0 {
		budget = 0
	}
	r.budget, r.stats = budget, stats
}

// pollerLimit is how many readers of the process may poll at once: half
// the Ps, at least one; none on a machine with one CPU, where a poller
// could only take the CPU from the peer it waits for (the Go runtime does
// not spin there either).
func pollerLimit(gomaxprocs, ncpu int) int32 {
	if ncpu < 2 {
		return 0
	}
	return int32(max(1, gomaxprocs/2))
}

// Read reads at least one byte, polling first when the connection is busy.
func (r *pollReader) Read(p []byte) (int, error) {
	if r.budget <= 0 {
		return r.c.Read(p)
	}
	start := time.Now()
	if r.avgWait >= r.budget/2 || !acquirePollSlot(r.maxPollers) {
		n, err := r.c.Read(p)
		r.waited(time.Since(start))
		return n, err
	}
	r.p, r.deadline, r.polling = p, start.Add(r.budget), true
	rerr := r.rc.Read(r.poll)
	pollers.Add(-1)
	n, err := r.n, r.err
	r.p, r.err = nil, nil
	r.stats.busyPolls.Add(1)
	if !r.polling {
		r.stats.emptyBusyPolls.Add(1)
	}
	r.waited(time.Since(start))
	if rerr == nil && err != nil {
		rerr = os.NewSyscallError("read", err) // as net.Conn.Read reports it
	}
	switch {
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.c.LocalAddr(), Addr: r.c.RemoteAddr(), Err: rerr}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// waited folds one read's wait into the moving average, weight 1/8. A
// wait is counted as at most twice the budget, so that a connection busy
// again after a quiet spell is seen as busy after a few messages.
func (r *pollReader) waited(d time.Duration) {
	d = min(d, 2*r.budget)
	r.avgWait += (d - r.avgWait) / 8
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

// acquirePollSlot takes one of the process's limit polling slots, if one
// is free.
func acquirePollSlot(limit int32) bool {
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
