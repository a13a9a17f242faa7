package lymph

import (
	"fmt"
	"sync"

	"github.com/lymphgo/lymph/internal/transport"
)

// waiter is a request in flight, waiting for its reply: a Future, or a
// synchronous call.
type waiter interface {
	// complete hands over the reply, or the reason there is none. It is
	// called once, by whoever took the waiter out of the pending table, and
	// must not block.
	complete(reply transport.Incoming, err error)
}

// pendingCalls maps the ids of requests in flight to their waiters. Taking
// a waiter out of it is what entitles a party (the reply, a timer, a
// context, Stop) to complete it, so each completes exactly once and nothing
// stays behind.
type pendingCalls struct {
	mu    sync.Mutex
	calls map[string]waiter
}

func (p *pendingCalls) add(id string, w waiter) {
	p.mu.Lock()
	p.calls[id] = w
	p.mu.Unlock()
}

func (p *pendingCalls) take(id string) waiter {
	p.mu.Lock()
	w := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	return w
}

// expire completes the call with id with err, if it is still waiting.
func (p *pendingCalls) expire(id string, err error) {
	if w := p.take(id); w != nil {
		w.complete(transport.Incoming{}, err)
	}
}

// deliver hands a reply to the call waiting for it. A reply nobody waits
// for (it came after the deadline, or it answers nothing we sent) is
// dropped: lymph's timeouts are the caller's alone.
func (p *pendingCalls) deliver(c *Container, in transport.Incoming) {
	w := p.take(in.Subject)
	if w == nil {
		c.metrics.lateReplies.Add(1)
		c.logger.Debug("dropping a reply nobody waits for", "type", in.Type, "in_reply_to", in.Subject, "source", in.Sender)
		return
	}
	w.complete(in, nil)
}

// failAll completes every waiting call with err: the container is stopping.
func (p *pendingCalls) failAll(err error) {
	p.mu.Lock()
	calls := p.calls
	p.calls = map[string]waiter{}
	p.mu.Unlock()
	for _, w := range calls {
		w.complete(transport.Incoming{}, fmt.Errorf("%w: the container stopped", err))
	}
}
