package lymph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/internal/transport"
)

// waiter is a request in flight, waiting for its reply: a Future, a
// synchronous call, or a heartbeat ping.
type waiter interface {
	// complete hands over the reply, or the reason there is none. It is
	// called once, by whoever took the waiter out of the pending table, and
	// must not block.
	complete(reply transport.Incoming, err error)
}

// pendingCall is one entry of the pending table: who waits, and what is
// needed to send the request again elsewhere when the instance refused it
// unprocessed (it was stopping).
type pendingCall struct {
	w       waiter
	peer    *health.Peer // where it went; its outstanding count includes this call
	subject string
	// For calls by service name, to resend on a refusal that did no work.
	proxy         *Proxy
	ctx           context.Context
	headers, body []byte
	tries         int
	// deadline is when the table's clock expires the call (sweep), with
	// noReplyError(subject, timeout); zero never.
	deadline time.Time
	timeout  time.Duration
	// sent is set once Send accepted the request: only such calls can be
	// lost with a connection.
	sent bool
}

// pendingCalls maps the ids of requests in flight to their waiters. Taking
// an entry out of it is what entitles a party (the reply, the clock, a
// context, a dead connection, Stop) to complete it, so each completes
// exactly once and nothing stays behind.
//
// Deadlines are kept by one clock for the whole table rather than a timer
// per call: a timer armed and stopped on every call cost the caller a
// select over three channels and the runtime a timer-heap insertion and
// removal, and each armed timer woke the network poller to shorten its
// sleep. The clock is set for the earliest deadline in the table; as calls
// share a timeout, a new call's deadline is later than the earliest and
// touches nothing, so the clock runs about once per timeout while calls
// flow, and not at all when the table stays empty.
type pendingCalls struct {
	mu    sync.Mutex
	calls map[string]pendingCall
	clock *time.Timer // runs sweep; nil until the first deadline
	wake  time.Time   // when clock fires; zero: not set
}

// sweepGap is the least time between two sweeps: when many calls expire
// one after another (a frozen peer), each sweep scanning the whole table
// for each of them would cost the square of their number, so those due
// within sweepGap of a sweep are expired together, late by at most that.
const sweepGap = time.Millisecond

func (p *pendingCalls) add(id string, pc pendingCall) {
	if _, ping := pc.w.(*pingCall); ping {
		pc.peer.BeginHeartbeat() // not activity: see health.Peer
	} else {
		pc.peer.Begin()
	}
	p.mu.Lock()
	p.calls[id] = pc
	if !pc.deadline.IsZero() && (p.wake.IsZero() || pc.deadline.Before(p.wake)) {
		p.setClock(pc.deadline)
	}
	p.mu.Unlock()
}

// setClock makes the clock fire at t (at once if t has passed). p.mu is
// held.
func (p *pendingCalls) setClock(t time.Time) {
	p.wake = t
	if p.clock == nil {
		p.clock = time.AfterFunc(time.Until(t), p.sweep)
		return
	}
	p.clock.Reset(time.Until(t))
}

// sweep is the clock's work: it expires the calls whose deadline has
// passed and sets the clock for the earliest of the others.
func (p *pendingCalls) sweep() {
	now := time.Now()
	var due []pendingCall
	var next time.Time
	p.mu.Lock()
	for id, pc := range p.calls {
		switch {
		case pc.deadline.IsZero():
		case !pc.deadline.After(now):
			delete(p.calls, id)
			due = append(due, pc)
		case next.IsZero() || pc.deadline.Before(next):
			next = pc.deadline
		}
	}
	p.wake = time.Time{}
	if !next.IsZero() {
		if soonest := now.Add(sweepGap); next.Before(soonest) {
			next = soonest
		}
		p.setClock(next)
	}
	p.mu.Unlock()
	for _, pc := range due {
		pc.peer.End()
		pc.w.complete(transport.Incoming{}, noReplyError(pc.subject, pc.timeout))
	}
}

// markSent notes that the request of id is on its way.
func (p *pendingCalls) markSent(id string) {
	p.mu.Lock()
	if pc, ok := p.calls[id]; ok {
		pc.sent = true
		p.calls[id] = pc
	}
	p.mu.Unlock()
}

// take removes the entry of id and ends its count on the peer.
func (p *pendingCalls) take(id string) (pendingCall, bool) {
	p.mu.Lock()
	pc, ok := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	if ok {
		pc.peer.End()
	}
	return pc, ok
}

// expire completes the call with id with err, if it is still waiting.
func (p *pendingCalls) expire(id string, err error) {
	if pc, ok := p.take(id); ok {
		pc.w.complete(transport.Incoming{}, err)
	}
}

// deliver hands a reply to the call waiting for it. A reply nobody waits
// for (it came after the deadline, or it answers nothing we sent) is
// dropped: lymph's timeouts are the caller's alone. A NACK that says the
// instance was stopping, or overloaded, did no work: a call by name goes
// to another instance instead.
func (p *pendingCalls) deliver(c *Container, in transport.Incoming) {
	pc, ok := p.take(in.Subject)
	if !ok {
		c.monitor.Heard(in.Sender, true)
		c.metrics.lateReplies.Add(1)
		c.logger.Debug("dropping a reply nobody waits for", "type", in.Type, "in_reply_to", in.Subject, "source", in.Sender)
		return
	}
	_, ping := pc.w.(*pingCall)
	if pc.peer.Endpoint() == in.Sender {
		pc.peer.Heard(!ping) // the record at hand: no lookup
	} else {
		c.monitor.Heard(in.Sender, !ping)
	}
	if in.TooLarge {
		c.logger.Warn("dropping a reply larger than the message size limit", "in_reply_to", in.Subject, "source", in.Sender)
		pc.w.complete(transport.Incoming{}, fmt.Errorf("lymph: %s: the reply from %s is larger than the message size limit (WithMaxMessageSize)", pc.subject, in.Sender))
		return
	}
	if in.Type == TypeNack && pc.proxy != nil && pc.tries < maxResends && didNoWork(nackReason(in.Headers)) {
		go c.resend(pc, in)
		return
	}
	pc.w.complete(in, nil)
}

// sentTo lists the calls that were sent to endpoint and still wait.
func (p *pendingCalls) sentTo(endpoint string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id, pc := range p.calls {
		if pc.sent && pc.peer.Endpoint() == endpoint {
			ids = append(ids, id)
		}
	}
	return ids
}

// fail completes the calls of ids that still wait with err.
func (p *pendingCalls) fail(ids []string, err error) {
	for _, id := range ids {
		if pc, ok := p.take(id); ok {
			pc.w.complete(transport.Incoming{}, fmt.Errorf("%w: %s: %v", ErrConnectionLost, pc.subject, err))
		}
	}
}

// failAll completes every waiting call with err: the container is stopping.
func (p *pendingCalls) failAll(err error) {
	p.mu.Lock()
	calls := p.calls
	p.calls = map[string]pendingCall{}
	if p.clock != nil {
		p.clock.Stop()
	}
	p.wake = time.Time{}
	p.mu.Unlock()
	for _, pc := range calls {
		pc.peer.End()
		pc.w.complete(transport.Incoming{}, fmt.Errorf("%w: the container stopped", err))
	}
}

// didNoWork reports whether a NACK's reason says the request was refused
// before any work: the instance was stopping, or at its limit.
func didNoWork(reason string) bool { return reason == reasonStopping || reason == reasonOverloaded }

// nackReason reads the reason header of a NACK, "" when it has none (Python
// lymph sends none).
func nackReason(headers []byte) string {
	h, err := codec.UnmarshalHeaders(headers)
	if err != nil {
		return ""
	}
	r, _ := h[headerNackReason].(string)
	return r
}
