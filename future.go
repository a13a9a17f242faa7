package lymph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// Future is the result of a deferred call (Proxy.Defer): the reply arrives
// later and Get waits for it. A Future ends by itself at its call's deadline
// (or when the call's context is cancelled), so one that nobody reads holds
// nothing after that.
type Future struct {
	subject string
	done    chan struct{}
	reply   *Message // set before done is closed
	err     error    // set before done is closed

	mu       sync.Mutex
	finished bool
	timer    *time.Timer
	stopCtx  func() bool
}

func newFuture(subject string) *Future {
	return &Future{subject: subject, done: make(chan struct{})}
}

// failedFuture is a Future that failed before anything was sent.
func failedFuture(subject string, err error) *Future {
	f := newFuture(subject)
	f.finish(nil, err)
	return f
}

// Done returns a channel that is closed when the reply (or the call's
// failure) has arrived, for use in select.
func (f *Future) Done() <-chan struct{} { return f.done }

// Get waits for the reply and decodes its value into result (a pointer; nil
// to discard it). It returns early with ctx's error if ctx ends first; the
// Future stays usable (a deadline that passes is reported as ErrTimeout,
// which also matches context.DeadlineExceeded). The errors follow lymph's semantics: ErrNack,
// *RemoteError, ErrTimeout, ErrNotConnected, ErrLookupFailure.
func (f *Future) Get(ctx context.Context, result any) error {
	reply, err := f.Message(ctx)
	if err != nil {
		return err
	}
	if result == nil || reply.Type != TypeReply {
		return nil
	}
	if err := reply.Decode(result); err != nil {
		return fmt.Errorf("lymph: %s: decoding the reply: %w", f.subject, err)
	}
	return nil
}

// Message waits for the reply and returns it undecoded. For a NACK or an
// ERROR reply it returns the message together with ErrNack or the
// *RemoteError.
func (f *Future) Message(ctx context.Context) (*Message, error) {
	select {
	case <-f.done:
	case <-ctx.Done():
		if err := ctx.Err(); err == context.DeadlineExceeded {
			return nil, fmt.Errorf("%w: %s: the context's deadline passed", ErrTimeout, f.subject)
		}
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	switch f.reply.Type {
	case TypeReply, TypeAck:
		return f.reply, nil
	case TypeNack:
		return f.reply, fmt.Errorf("%w: %s", ErrNack, f.subject)
	case TypeError:
		return f.reply, f.reply.remoteError()
	}
	return f.reply, fmt.Errorf("lymph: %s: unexpected %s message in reply", f.subject, f.reply.Type)
}

// arm starts the Future's clock: it fails with ErrTimeout after d, or with
// ctx's error if ctx ends first. expire is called with the error; it must
// take the Future out of the pending table so exactly one party finishes it.
func (f *Future) arm(ctx context.Context, d time.Duration, expire func(error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return
	}
	f.timer = time.AfterFunc(d, func() { expire(fmt.Errorf("%w: %s: no reply within %v", ErrTimeout, f.subject, d)) })
	if ctx.Done() != nil {
		f.stopCtx = context.AfterFunc(ctx, func() {
			err := ctx.Err()
			if err == context.DeadlineExceeded {
				err = fmt.Errorf("%w: %s: the context's deadline passed", ErrTimeout, f.subject)
			}
			expire(err)
		})
	}
}

// finish completes the Future once; the caller won it from the pending
// table (or owns it outright).
func (f *Future) finish(reply *Message, err error) {
	f.mu.Lock()
	f.finished = true
	if f.timer != nil {
		f.timer.Stop()
	}
	if f.stopCtx != nil {
		f.stopCtx()
	}
	f.mu.Unlock()
	f.reply, f.err = reply, err
	close(f.done)
}

// pendingCalls maps the ids of requests in flight to their Futures. Taking a
// Future out of it is what entitles a party (the reply, the timer, the
// context, Stop) to finish it, so each Future finishes exactly once and
// nothing stays behind.
type pendingCalls struct {
	mu    sync.Mutex
	calls map[string]*Future
}

func (p *pendingCalls) add(id string, f *Future) {
	p.mu.Lock()
	p.calls[id] = f
	p.mu.Unlock()
}

func (p *pendingCalls) take(id string) *Future {
	p.mu.Lock()
	f := p.calls[id]
	delete(p.calls, id)
	p.mu.Unlock()
	return f
}

// expire finishes the call with id if it is still waiting.
func (p *pendingCalls) expire(id string, err error) {
	if f := p.take(id); f != nil {
		f.finish(nil, err)
	}
}

// deliver hands a reply to the call waiting for it. A reply nobody waits
// for (it came after the deadline, or it answers nothing we sent) is
// dropped: lymph's timeouts are the caller's alone.
func (p *pendingCalls) deliver(c *Container, in transport.Incoming) {
	f := p.take(in.Subject)
	if f == nil {
		c.metrics.lateReplies.Add(1)
		c.logger.Debug("dropping a reply nobody waits for", "type", in.Type, "in_reply_to", in.Subject, "source", in.Sender)
		return
	}
	headers, err := codec.UnmarshalHeaders(in.Headers)
	if err != nil {
		c.logger.Warn("reply with undecodable headers", "in_reply_to", in.Subject, "source", in.Sender, "error", err)
	}
	f.finish(&Message{ID: in.ID, Type: in.Type, Subject: in.Subject, Source: in.Sender, Headers: headers, body: in.Body}, nil)
}

// failAll finishes every waiting call with err: the container is stopping.
func (p *pendingCalls) failAll(err error) {
	p.mu.Lock()
	calls := p.calls
	p.calls = map[string]*Future{}
	p.mu.Unlock()
	for _, f := range calls {
		f.finish(nil, fmt.Errorf("%w: %s", err, f.subject))
	}
}
