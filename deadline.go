package lymph

import (
	"context"
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
	ctx, cancel := context.WithDeadline(parent, deadline.Add(deadlineGrace(timeout)))
	return &callerDeadline{Context: ctx, deadline: deadline}, cancel
}

// callerDeadline is a context that ends a grace after the deadline it
// reports.
type callerDeadline struct {
	context.Context
	deadline time.Time
}

func (c *callerDeadline) Deadline() (time.Time, bool) { return c.deadline, true }
