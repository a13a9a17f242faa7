package lymph

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Deadlines travel with requests, as gRPC's grpc-timeout does: every
// request a Go proxy sends carries the caller's remaining time in the
// timeout_ms header (codec.HeaderTimeout), rounded up to a millisecond. The
// server gives the method a context that ends that long after the request
// arrived, so the method's own calls inherit what is left (a proxy's
// timeout is the context's remaining time), and it does not start a method
// whose deadline has already passed: the caller has given up, and the work
// would be thrown away. Python lymph sends no such header and ignores it:
// its requests are served as before, with no deadline.
//
// A duration rather than an instant is sent so that the two machines'
// clocks need not agree; the time the request spent on the network is not
// counted, so the server's deadline is a little later than the caller's.
//
// The method's context reports the caller's deadline (ctx.Deadline, which
// is what its own calls inherit) but ends a grace later: a tenth of the
// timeout, from 5 ms to 100 ms. lymph's timeouts are the caller's alone: a
// method that returns early when its context ends (with a partial result,
// say) must not have its reply reach the caller just before the caller's
// own timer, which would turn a timeout into a success depending on
// scheduling. With the grace, the caller has timed out before the method
// is told to stop, and the late reply is dropped as any late reply is.

// reasonDeadline is the NACK reason of a request that arrived (or waited)
// past its deadline.
const reasonDeadline = "deadline exceeded"

// timeoutMillis is d in whole milliseconds, rounded up, so that a call with
// a little time left is not sent as one already late; 0 for none.
func timeoutMillis(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// deadlineGrace is how long after the caller's deadline the method's
// context ends.
func deadlineGrace(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 5*time.Millisecond), 100*time.Millisecond)
}

// withCallerDeadline returns the method's context for a request that
// arrived with timeoutMs left.
func withCallerDeadline(parent context.Context, arrived time.Time, timeoutMs int64) (context.Context, context.CancelFunc) {
	timeout := time.Duration(timeoutMs) * time.Millisecond
	deadline := arrived.Add(timeout)
	c := &callerDeadline{parent: parent, deadline: deadline, end: deadline.Add(deadlineGrace(timeout))}
	return c, c.cancel
}

// callerDeadline is a context that reports the caller's deadline and ends
// a grace after it. It is lazy: the context.WithDeadline it stands for
// (and its timer) is made only when the context is asked for its Done
// channel or is found ended. Most methods never ask, and a timer per
// request cost allocations and a timer-heap insertion and deletion on
// every call; its Deadline, Value and Err need none.
type callerDeadline struct {
	parent   context.Context
	deadline time.Time // reported
	end      time.Time // when the context ends

	mu        sync.Mutex
	ctx       atomic.Pointer[context.Context] // the real one, once made
	stop      context.CancelFunc              // its cancel, under mu
	cancelled atomic.Bool                     // cancel came first; set under mu
}

func (c *callerDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *callerDeadline) Done() <-chan struct{} { return c.real().Done() }

// Err is the real context's error, once made; before that the context
// has ended only if its parent has or its end has passed, and then the
// real one is made so that it, its Done and context.Cause agree.
func (c *callerDeadline) Err() error {
	if ctx := c.ctx.Load(); ctx != nil {
		return (*ctx).Err()
	}
	if !c.cancelled.Load() && c.parent.Err() == nil && time.Now().Before(c.end) {
		return nil
	}
	return c.real().Err()
}

// Value asks the real context once made: its own keys (context.Cause's)
// answer for it, as a child's must.
func (c *callerDeadline) Value(key any) any {
	if ctx := c.ctx.Load(); ctx != nil {
		return (*ctx).Value(key)
	}
	return c.parent.Value(key)
}

// real makes the real context on first use.
func (c *callerDeadline) real() context.Context {
	if ctx := c.ctx.Load(); ctx != nil {
		return *ctx
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx := c.ctx.Load(); ctx != nil {
		return *ctx
	}
	ctx, stop := context.WithDeadline(c.parent, c.end)
	if c.cancelled.Load() {
		stop()
	}
	c.stop = stop
	c.ctx.Store(&ctx)
	return ctx
}

// cancel is the CancelFunc: it cancels the real context, or marks the
// context cancelled for when it is made.
func (c *callerDeadline) cancel() {
	c.mu.Lock()
	c.cancelled.Store(true)
	stop := c.stop
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (c *callerDeadline) String() string {
	return fmt.Sprintf("%v.WithCallerDeadline(%s)", c.parent, c.deadline.Format(time.RFC3339Nano))
}
