package lymph

import "time"

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
