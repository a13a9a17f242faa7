package lymph

import (
	"sync"
	"sync/atomic"
)

// phase is where a container is in its life. Each phase says what incoming
// requests and outgoing calls get:
//
//	phase      incoming requests                outgoing calls
//	new        (nothing is bound)               ErrNotRunning
//	starting   served                           sent
//	serving    served                           sent
//	leaving    served (unregistered; peers are  sent
//	           still noticing it left)
//	draining   NACK, reason "stopping"          sent (in-flight handlers
//	                                            finish their work)
//	stopped    (nothing is bound)               ErrNotRunning
type phase int32

const (
	phaseNew phase = iota
	phaseStarting
	phaseServing
	phaseLeaving
	phaseDraining
	phaseStopped
)

var phaseNames = [...]string{"new", "starting", "serving", "leaving", "draining", "stopped"}

func (p phase) String() string { return phaseNames[p] }

// calling reports whether outgoing calls may be sent in p.
func (p phase) calling() bool { return p >= phaseStarting && p <= phaseDraining }

// gate counts the requests inside a section (being served, or being
// refused) until it is closed, then lets its owner wait for the last one.
// Entering is one atomic operation, so the request path takes no lock.
type gate struct {
	state atomic.Int64 // count<<1 | closed
	once  sync.Once
	empty chan struct{} // closed once closed and count is 0
}

func newGate() *gate { return &gate{empty: make(chan struct{})} }

// enter counts one more request in, unless the gate is closed.
func (g *gate) enter() bool {
	for {
		s := g.state.Load()
		if s&1 != 0 {
			return false
		}
		if g.state.CompareAndSwap(s, s+2) {
			return true
		}
	}
}

// leave counts a request out.
func (g *gate) leave() {
	if g.state.Add(-2) == 1 {
		g.once.Do(func() { close(g.empty) })
	}
}

// close lets no request in from now on; the channel it returns is closed
// when the last one inside has left.
func (g *gate) close() <-chan struct{} {
	if old := g.state.Or(1); old>>1 == 0 {
		g.once.Do(func() { close(g.empty) })
	}
	return g.empty
}
