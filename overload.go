package lymph

import "github.com/lymphgo/lymph/internal/transport"

// reasonOverloaded is the NACK reason of a request refused because the
// container had as many requests in flight as it takes. Such a request did
// no work: a Go caller's proxy sends it to another instance, as it does
// for reasonStopping.
const reasonOverloaded = "overloaded"

// WithMaxInFlight limits the requests a container serves at once to n
// (heartbeat pings aside, so that an overloaded instance still looks
// alive). A request past the limit is refused at once with a NACK whose
// reason is "overloaded", counted in rpc.overloaded, rather than queued:
// the refusal reaches the caller in one round trip, while a queue past
// what the server can do only makes every call late. A Go caller then
// tries another instance of the service; with none left, it gets ErrNack
// with the reason (errors.Is(err, lymph.ErrOverloaded)).
//
// There is no limit by default (0), as in Python lymph: the right number
// depends on what the methods wait for (a CPU-bound method saturates at a
// few per core, one that waits on a database at that database's pool size),
// and a default too low would turn the bursts a service absorbs today into
// errors. Measure the service's capacity and set the limit a little above
// it; see the README's Observability section and the overload benchmark.
func WithMaxInFlight(n int) Option {
	return func(c *config) { c.maxInFlight = int64(max(n, 0)) }
}

// admission is what handle does with a request.
type admission int

const (
	admitted admission = iota
	overloaded
	draining
)

// admit counts a request in, unless the container drains or is at its
// limit.
func (c *Container) admit(subject string) admission {
	if c.cfg.maxInFlight == 0 || subject == pingSubject {
		if c.requests.enter() {
			return admitted
		}
		return draining
	}
	ok, full := c.requests.enterBelow(c.cfg.maxInFlight)
	switch {
	case ok:
		return admitted
	case full:
		return overloaded
	}
	return draining
}

// refuseOverloaded NACKs a request past the limit, off the receive loop.
func (c *Container) refuseOverloaded(in transport.Incoming) {
	c.metrics.count(in.Subject, metricOverloaded)
	if !c.refusals.enter() {
		return // stopping: nothing can answer any more
	}
	go func() {
		defer c.refusals.leave()
		req, _ := incomingMessage(in)
		c.logger.Debug("request refused: overloaded", "subject", req.Subject, "source", req.Source, "trace_id", req.TraceID())
		c.nack(req, reasonOverloaded)
	}()
}
