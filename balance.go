package lymph

import (
	"math/rand/v2"
	"slices"

	"github.com/lymphgo/lymph/internal/health"
)

// choose picks the instance for a call among endpoints, skipping those in
// tried; "" when none is left.
//
// By default it draws two instances at random and takes the one with fewer
// of this container's calls outstanding: the "power of two choices" of
// Finagle's and Envoy's least-loaded balancers. An instance that is slow or
// frozen keeps its calls, so it stops being chosen as soon as they pile up,
// long before heartbeats call it unresponsive; and two random draws, unlike
// the least loaded of all, do not send every caller to the same instance
// at once. Instances that are unresponsive (connection down, silent) or
// stalled (calls outstanding and nothing heard for a moment) are chosen
// only when no other is left.
func (c *Container) choose(endpoints []string, tried []string, p *Proxy) string {
	n := len(endpoints)
	if n == 0 {
		return ""
	}
	if n == 1 {
		if len(tried) == 0 {
			return endpoints[0]
		}
		return ""
	}
	if p.opts.roundRobin {
		return c.chooseInTurn(endpoints, tried, int(p.next.Add(1)%uint64(n)))
	}
	i := rand.IntN(n)
	j := (i + 1 + rand.IntN(n-1)) % n
	a, b := c.candidate(endpoints[i], tried), c.candidate(endpoints[j], tried)
	switch {
	case a.ok && b.ok:
		if b.outstanding < a.outstanding {
			return b.endpoint
		}
		return a.endpoint
	case a.ok:
		return a.endpoint
	case b.ok:
		return b.endpoint
	}
	// Both draws were tried or unresponsive: take the first usable one
	// from a random place on.
	return c.chooseInTurn(endpoints, tried, i)
}

// chooseInTurn returns the first endpoint from start on that is not tried
// and is not unresponsive, else the first that is not tried.
func (c *Container) chooseInTurn(endpoints []string, tried []string, start int) string {
	fallback := ""
	for k := range endpoints {
		ep := endpoints[(start+k)%len(endpoints)]
		if slices.Contains(tried, ep) {
			continue
		}
		if p := c.monitor.Find(ep); p == nil || usable(p) {
			return ep
		}
		if fallback == "" {
			fallback = ep
		}
	}
	return fallback
}

type candidate struct {
	endpoint    string
	outstanding int64
	ok          bool
}

func (c *Container) candidate(endpoint string, tried []string) candidate {
	if slices.Contains(tried, endpoint) {
		return candidate{}
	}
	p := c.monitor.Find(endpoint)
	if p == nil {
		return candidate{endpoint: endpoint, ok: true}
	}
	return candidate{endpoint: endpoint, outstanding: p.Outstanding(), ok: usable(p)}
}

// usable reports whether calls may go to p while another instance is
// usable: it is not unresponsive, and it is not sitting on calls without
// a word (frozen, wedged, cut off: heartbeats take seconds to say so).
func usable(p *health.Peer) bool {
	return p.State() != health.StateUnresponsive && !p.Stalled()
}
