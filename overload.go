package lymph

import (
	"fmt"

	"github.com/lymphgo/lymph/internal/transport"
)

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
// There is no limit by default, as in Python lymph: the right number
// depends on what the methods wait for (a CPU-bound method saturates at a
// few per core, one that waits on a database at that database's pool size),
// and a default too low would turn the bursts a service absorbs today into
// errors. Measure the service's capacity and set the limit a little above
// it; see the README's Observability section and the overload benchmark.
// A limit of zero or less is an error (it would refuse every request).
func WithMaxInFlight(n int) ContainerOption {
	if n <= 0 {
		return badContainerOption("WithMaxInFlight(%d): the limit must be positive (without the option there is none)", n)
	}
	return containerOption(func(c *config) { c.maxInFlight = int64(n) })
}

// admission is what handle does with a request.
type admission int

const (
	admitted admission = iota
	overloaded
	draining
)

// admit counts a request in, unless the container drains or is at its
// limit. Heartbeat pings are counted by the requests gate (Stop waits for
// them) but not against the limit: they must not take a method's place.
func (c *Container) admit(subject string) admission {
	limited := c.cfg.maxInFlight > 0 && subject != pingSubject
	if limited && c.limited.Add(1) > c.cfg.maxInFlight {
		c.limited.Add(-1)
		return overloaded
	}
	if c.requests.enter() {
		return admitted
	}
	if limited {
		c.limited.Add(-1)
	}
	return draining
}

// release counts a request admitted by admit out of the limit.
func (c *Container) release(subject string) {
	if c.cfg.maxInFlight > 0 && subject != pingSubject {
		c.limited.Add(-1)
	}
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

// WithMethodMaxInFlight limits the requests one method (by its Go name)
// serves at once, like WithMaxInFlight for the whole container: past n, a
// request for it is refused with the NACK reason "overloaded" (and goes to
// another instance). For a method that holds a scarce resource, so that it
// cannot take the whole container's share. By default a method has no
// limit of its own. A limit of zero or less, or a method the service does
// not serve, is an error from Install.
func WithMethodMaxInFlight(method string, n int) InstallOption {
	return installOption(func(c *installConfig) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("WithMethodMaxInFlight(%q, %d): the limit must be positive", method, n))
			return
		}
		if c.limits == nil {
			c.limits = map[string]int{}
		}
		c.limits[method] = n
	})
}

// applyLimits sets the WithMethodMaxInFlight limits on the described
// methods.
func applyLimits(svc any, methods map[string]*method, cfg *installConfig) error {
	for goName, n := range cfg.limits {
		found := false
		for _, m := range methods {
			if m.goName == goName {
				m.limit, found = int64(n), true
			}
		}
		if !found {
			return fmt.Errorf("lymph: cannot install %T: WithMethodMaxInFlight(%q): it names no method the service serves", svc, goName)
		}
	}
	return nil
}

// enterMethod counts a request in for m, unless m is at its limit.
func (m *method) enterMethod() bool {
	if m.limit == 0 {
		return true
	}
	if m.inFlight.Add(1) > m.limit {
		m.inFlight.Add(-1)
		return false
	}
	return true
}

func (m *method) leaveMethod() {
	if m.limit != 0 {
		m.inFlight.Add(-1)
	}
}
