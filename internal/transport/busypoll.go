package transport

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Busy polling (Options.BusyPoll, off by default): the reader of a
// connection that has calls in progress polls the socket for up to the
// budget before it parks in the runtime's network poller.
//
// Why: on a request/reply connection the next message usually arrives
// microseconds after the reader runs dry, but a parked reader gets it only
// after the poller wakes a thread, and on a virtual machine an idle CPU
// takes tens of microseconds to wake. Measured on a 2-core VM, lymph's
// sequential echo between two processes went from 12k to 33–38k calls/s.
// The price is CPU, and latency for everybody else when CPUs are short
// (at 64 calls in flight p99 rose from ~2.2 ms to 3–3.9 ms), which is why
// Linux, gRPC, Netty and Seastar leave it off by default, and so do we.
//
// Polling is bounded four ways:
//
//   - only connections with calls in progress poll (callGauge: requests we
//     sent the peer and it has not answered, requests it sent us that we
//     have not answered, or a call that completed less than a budget ago),
//     and not more than maxPolledCalls of them;
//   - a read polls only while the moving average of the connection's waits
//     is under half the budget, so a connection whose messages come slowly
//     stops after a few empty polls;
//   - one poll lasts at most the budget, and a reader that gives up and
//     parks gives its polling slot back first;
//   - at most half the Transport's Ps (GOMAXPROCS, which follows the cgroup
//     CPU quota) poll at once, and none when GOMAXPROCS is 1, where a poller
//     could only take the CPU from the peer it waits for.
//
// While it polls the reader yields its P between tries, so goroutines ready
// to run (the handler of the message just read) are not held up. A deadline
// or Close is noticed when the current poll ends, within the budget.

// pollSlots counts one Transport's readers polling now.
type pollSlots struct {
	n   atomic.Int32
	max int32
}

// pollerLimit is how many readers may poll at once: half the Ps, at least
// one; none with one P.
func pollerLimit(gomaxprocs int) int32 {
	if gomaxprocs < 2 {
		return 0
	}
	return int32(max(1, gomaxprocs/2))
}

func (s *pollSlots) acquire() bool {
	for {
		n := s.n.Load()
		if n >= s.max {
			return false
		}
		if s.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *pollSlots) release() { s.n.Add(-1) }

// poller is one connection's polling state, used by its reading goroutine
// only. A nil *poller never polls.
type poller struct {
	slots  *pollSlots
	budget time.Duration
	stats  *counters
	gate   func() bool // whether the connection has calls in progress; nil: always

	// avgWait is the moving average of how long reads waited for data.
	avgWait time.Duration

	start, deadline time.Time
	polling         bool // this read polls, within its budget so far
	slot            bool // this read holds a slot
}

// begin starts a read: it decides whether the read may poll and takes a
// slot if so.
func (p *poller) begin() {
	if p == nil {
		return
	}
	p.start = time.Now()
	p.polling = false
	if p.avgWait >= p.budget/2 || (p.gate != nil && !p.gate()) || !p.slots.acquire() {
		return
	}
	p.slot, p.polling, p.deadline = true, true, p.start.Add(p.budget)
	p.stats.busyPolls.Add(1)
}

// again is called when the socket had nothing to read: it reports whether
// to try again (the budget lasts; it yields the P first) or to park, in
// which case the slot is given back now, not when the read returns: a
// parked reader may wait for hours, and holding its slot meanwhile would
// stop polling for every other connection.
func (p *poller) again() bool {
	if p == nil || !p.polling {
		return false
	}
	if time.Now().After(p.deadline) {
		p.polling = false
		p.stats.emptyBusyPolls.Add(1)
		p.releaseSlot()
		return false
	}
	runtime.Gosched()
	return true
}

// end finishes a read.
func (p *poller) end() {
	if p == nil {
		return
	}
	p.releaseSlot()
	p.polling = false
	p.waited(time.Since(p.start))
}

func (p *poller) releaseSlot() {
	if p.slot {
		p.slot = false
		p.slots.release()
	}
}

// waited folds one read's wait into the moving average, weight 1/8. A
// wait is counted as at most twice the budget, so that a connection busy
// again after a quiet spell is seen as busy after a few messages.
func (p *poller) waited(d time.Duration) {
	d = min(d, 2*p.budget)
	p.avgWait += (d - p.avgWait) / 8
}

// endpoints holds the endpoints this process listens at: a connection
// from one of them comes from a peer sharing our Ps, and is not polled.
// (It is a registry of identities, not polling state: each Transport's
// polling slots and counters are its own.)
var endpoints sync.Map // endpoint → struct{}

// listening reports whether a Transport of this process listens at
// endpoint.
func listening(endpoint string) bool {
	_, ok := endpoints.Load(endpoint)
	return ok
}
