package transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// callGauge follows the calls in progress between this Transport and one
// peer, to decide whether the connection from that peer is worth
// busy-polling (see busypoll.go). It exists only while busy polling is on
// and a connection from the peer is open.
//
// The rule, the same on both sides of a call: the connection from peer X
// polls while
//   - we sent X requests it has not answered yet (out > 0: a client
//     waiting for replies), or
//   - X sent us requests we have not answered yet (in > 0: a server whose
//     handler is running; the client's next request follows our reply), or
//   - a call with X completed less than one budget ago (a sequential
//     caller's next request, or the reply to it, comes right after).
//
// Replies are REP, ACK, NACK and ERROR; the counts never go below zero, so
// stray replies cannot make a later call look answered, and a reply that
// answers nothing does not count as a completed call.
type callGauge struct {
	out, in  atomic.Int64
	lastDone atomic.Int64 // UnixNano of the last completed call
	refs     int          // connections from the peer using it; under gauges.mu
}

// decFloor decrements v unless it is zero, reporting whether it did.
func decFloor(v *atomic.Int64) bool {
	for {
		n := v.Load()
		if n <= 0 {
			return false
		}
		if v.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// active reports whether the connection from the peer should poll.
func (g *callGauge) active(budget time.Duration) bool {
	n := g.out.Load() + g.in.Load()
	if n > maxPolledCalls {
		return false
	}
	return n > 0 || time.Now().UnixNano()-g.lastDone.Load() < int64(budget)
}

// maxPolledCalls: a connection with more calls in progress than this does
// not poll. Its messages keep coming, so its reader rarely finds the socket
// empty, and when it does, spinning takes the CPU that makes the next
// replies (polling cost 10–20 % of the throughput at 64 and 1,024 calls
// in flight when it was measured without this bound). Polling is for the
// latency of a few calls at a time; with more, a connection behaves as
// with polling off.
const maxPolledCalls = 4

// received accounts for a message read from the peer.
func (g *callGauge) received(typ string) {
	if typ == TypeREQ {
		g.in.Add(1)
		return
	}
	if decFloor(&g.out) {
		g.lastDone.Store(time.Now().UnixNano())
	}
}

// sent accounts for a message queued for the peer.
func (g *callGauge) sent(typ string) {
	if typ == TypeREQ {
		g.out.Add(1)
		return
	}
	if decFloor(&g.in) {
		g.lastDone.Store(time.Now().UnixNano())
	}
}

// gauges is a Transport's table of call gauges, by peer endpoint.
type gauges struct {
	mu sync.RWMutex
	m  map[string]*callGauge
}

// acquire returns the gauge of endpoint for a new connection from it.
func (gs *gauges) acquire(endpoint string) *callGauge {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.m == nil {
		gs.m = make(map[string]*callGauge)
	}
	g := gs.m[endpoint]
	if g == nil {
		g = new(callGauge)
		gs.m[endpoint] = g
	}
	g.refs++
	return g
}

// release drops a connection's reference, forgetting the gauge with the
// last one.
func (gs *gauges) release(endpoint string) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if g := gs.m[endpoint]; g != nil {
		if g.refs--; g.refs <= 0 {
			delete(gs.m, endpoint)
		}
	}
}

// get returns the gauge of endpoint, or nil.
func (gs *gauges) get(endpoint string) *callGauge {
	gs.mu.RLock()
	g := gs.m[endpoint]
	gs.mu.RUnlock()
	return g
}
