package lymph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lymphgo/lymph/internal/transport"
)

// Future is the result of a deferred call (Proxy.Defer): the reply arrives
// later and Get waits for it. A Future ends by itself at its call's deadline
// (or when the call's context is cancelled), so one that nobody reads holds
// nothing after that.
type Future struct {
	subject string
	done    chan struct{}
	reply   Message // valid once done is closed and err is nil
	err     error   // set before done is closed

	mu       sync.Mutex
	finished bool
	stopCtx  func() bool
}

func newFuture(subject string) *Future {
	return &Future{subject: subject, done: make(chan struct{})}
}

// failedFuture is a Future that failed before anything was sent.
func failedFuture(subject string, err error) *Future {
	f := newFuture(subject)
	f.complete(transport.Incoming{}, err)
	return f
}

// Done returns a channel that is closed when the reply (or the call's
// failure) has arrived, for use in select.
func (f *Future) Done() <-chan struct{} { return f.done }

// Get waits for the reply and decodes its value into result (a pointer; nil
// to discard it). It returns early if ctx ends first, and the Future stays
// usable: a deadline that passes is reported as ErrTimeout (which also
// matches context.DeadlineExceeded), a cancellation as ErrCancelled (which
// also matches context.Canceled). The errors follow lymph's semantics:
// ErrNack, *RemoteError, ErrTimeout, ErrCancelled, ErrNotConnected,
// ErrLookupFailure.
func (f *Future) Get(ctx context.Context, result any) error {
	reply, err := f.Message(ctx)
	if err != nil {
		return err
	}
	return decodeResult(f.subject, reply, result)
}

// decodeResult decodes a successful reply's value into result.
func decodeResult(subject string, reply *Message, result any) error {
	if result == nil || reply.Type != TypeReply {
		return nil
	}
	if err := reply.Decode(result); err != nil {
		return fmt.Errorf("lymph: %s: decoding the reply: %w", subject, err)
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
		return nil, waitError(f.subject, ctx.Err())
	}
	if f.err != nil {
		return nil, f.err
	}
	return &f.reply, replyError(f.subject, &f.reply)
}

// waitError reports a wait cut short by its context: a deadline is a
// timeout, in lymph's terms, and a cancellation ErrCancelled.
func waitError(subject string, err error) error {
	switch err {
	case context.DeadlineExceeded:
		return fmt.Errorf("%w: %s: the context's deadline passed", ErrTimeout, subject)
	case context.Canceled:
		return fmt.Errorf("%w: %s", ErrCancelled, subject)
	}
	return err
}

// noReplyError is the error of a call whose reply did not come within d.
func noReplyError(subject string, d time.Duration) error {
	return fmt.Errorf("%w: %s: no reply within %v", ErrTimeout, subject, d)
}

// watch ends the Future with ctx's error if ctx ends before the reply (its
// deadline is the pending table's: pendingCalls.sweep). expire is called
// with the error; it must take the Future out of the pending table so
// exactly one party completes it. A Future already completed is left alone.
func (f *Future) watch(ctx context.Context, expire func(error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return
	}
	if ctx.Done() != nil {
		f.stopCtx = context.AfterFunc(ctx, func() { expire(waitError(f.subject, ctx.Err())) })
	}
}

// complete finishes the Future once; the caller won it from the pending
// table (or owns it outright).
func (f *Future) complete(in transport.Incoming, err error) {
	f.mu.Lock()
	f.finished = true
	if f.stopCtx != nil {
		f.stopCtx()
	}
	f.mu.Unlock()
	if err != nil {
		f.err = err
	} else {
		f.reply.setFrom(&in)
	}
	close(f.done)
}

// completeFrom completes f with what inner, a completed Future, holds.
func (f *Future) completeFrom(inner *Future) {
	f.mu.Lock()
	f.finished = true
	f.mu.Unlock()
	if inner.err != nil {
		f.err = inner.err
	} else {
		f.reply.copyFrom(&inner.reply)
	}
	close(f.done)
}

// completeAck completes f as an acknowledgement without a value.
func (f *Future) completeAck() {
	f.mu.Lock()
	f.finished = true
	f.mu.Unlock()
	f.reply.Type = TypeAck
	close(f.done)
}
