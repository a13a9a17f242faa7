package lymph

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/internal/transport"
)

// metricKind is what one counter of a subject counts.
type metricKind int

const (
	metricRequest    metricKind = iota // requests dispatched to a method
	metricError                        // methods that failed (declared error, other error, panic)
	metricNack                         // NACKs sent
	metricUnknown                      // requests for an unknown interface or method
	metricBadRequest                   // undecodable headers or arguments
	metricOverloaded                   // refused past WithMaxInFlight
	metricDeadline                     // refused: the caller's deadline had passed
	numMetricKinds
)

var metricNames = [numMetricKinds]string{
	metricRequest:    "rpc.requests",
	metricError:      "rpc.errors",
	metricNack:       "rpc.nacks",
	metricUnknown:    "rpc.unknown",
	metricBadRequest: "rpc.bad_requests",
	metricOverloaded: "rpc.overloaded",
	metricDeadline:   "rpc.deadline_exceeded",
}

// metrics counts what the container serves, per subject, for
// lymph.get_metrics. The served subjects are known at install, so counting
// is a lock-free increment, and requests for any other subject share one
// set of counters: a caller cannot grow the table without bound.
type metrics struct {
	subjects    sync.Map // subject -> *counters, filled at install
	other       counters
	lateReplies atomic.Uint64
}

type counters [numMetricKinds]atomic.Uint64

// otherSubject tags the counters of requests for subjects nobody serves.
const otherSubject = "<other>"

func newMetrics() *metrics { return &metrics{} }

// serve starts counting a subject.
func (m *metrics) serve(subject string) {
	m.subjects.LoadOrStore(subject, new(counters))
}

func (m *metrics) count(subject string, kind metricKind) {
	if v, ok := m.subjects.Load(subject); ok {
		v.(*counters)[kind].Add(1)
		return
	}
	m.other[kind].Add(1)
}

// metric is one lymph metric: [name, value, tags].
type metric [3]any

// snapshot returns every counter in lymph's get_metrics shape, sorted.
func (m *metrics) snapshot() []metric {
	var out []metric
	add := func(subject string, c *counters) {
		for kind := range c {
			if n := c[kind].Load(); n > 0 {
				out = append(out, metric{metricNames[kind], n, map[string]any{"subject": subject}})
			}
		}
	}
	m.subjects.Range(func(k, v any) bool {
		add(k.(string), v.(*counters))
		return true
	})
	add(otherSubject, &m.other)
	sort.Slice(out, func(i, j int) bool {
		if out[i][0] != out[j][0] {
			return out[i][0].(string) < out[j][0].(string)
		}
		return out[i][2].(map[string]any)["subject"].(string) < out[j][2].(map[string]any)["subject"].(string)
	})
	return append(out, metric{"rpc.late_replies", m.lateReplies.Load(), map[string]any{}})
}

// transportMetrics reports the transport's counters, and the health of
// each instance in use, in get_metrics' shape.
func transportMetrics(tr *transport.Transport, monitor *health.Monitor) []metric {
	st := tr.Stats()
	none := map[string]any{}
	out := []metric{
		{"transport.connections", st.ConnectionsIn + st.ConnectionsOut, none},
		{"transport.connections_in", st.ConnectionsIn, none},
		{"transport.connections_out", st.ConnectionsOut, none},
		{"transport.messages_in", st.MessagesIn, none},
		{"transport.messages_out", st.MessagesOut, none},
		{"transport.bytes_in", st.BytesIn, none},
		{"transport.bytes_out", st.BytesOut, none},
		{"transport.dial_failures", st.DialFailures, none},
		{"transport.handshake_failures", st.HandshakeFailures, none},
		{"transport.handshaking", st.Handshaking, none},
		{"transport.queue_waits", st.QueueWaits, none},
		{"transport.queue_full", st.QueueFull, none},
		{"transport.read_buffers", st.ReadBuffers, none},
		{"transport.busy_polls", st.BusyPolls, none},
		{"transport.empty_busy_polls", st.EmptyBusyPolls, none},
		{"transport.shared_connections", st.Shared, none},
		{"transport.shared_replies", st.SharedReplies, none},
	}
	for reason, n := range map[string]uint64{
		"bad_frames":   st.Dropped.BadFrames,
		"bad_utf8":     st.Dropped.BadUTF8,
		"unknown_type": st.Dropped.UnknownType,
		"bad_identity": st.Dropped.BadIdentity,
		"too_large":    st.Dropped.TooLarge,
		"unsent":       st.Dropped.Unsent,
	} {
		out = append(out, metric{"transport.dropped", n, map[string]any{"reason": reason}})
	}
	connected := map[string]bool{}
	queued := 0
	for _, p := range tr.Peers() {
		connected[p.Endpoint] = p.Connected
		queued += p.Queued
	}
	out = append(out, metric{"transport.queued", queued, none})
	for _, p := range monitor.Peers() {
		tags := map[string]any{"peer": p.Endpoint, "state": p.State.String()}
		out = append(out,
			metric{"transport.peer_rtt_ms", float64(p.RTT.Mean) / float64(time.Millisecond), tags},
			metric{"transport.peer_outstanding", p.Outstanding, tags},
			metric{"transport.peer_connected", connected[p.Endpoint], tags})
	}
	return out
}

// Metric is one of the container's counters or gauges, as
// lymph.get_metrics reports it: exporters (the prometheus subpackage) read
// the same values, so there is one source of truth.
type Metric struct {
	// Name is lymph's dotted name, e.g. "rpc.requests" or
	// "transport.messages_in".
	Name string
	// Value is the number; booleans read as 0 or 1.
	Value float64
	// Tags are the metric's labels, e.g. subject, reason, peer, state.
	Tags map[string]string
}

// Metrics returns what lymph.get_metrics answers: the request counters per
// served subject, late replies, the transport's counters and peers, the
// events' counters and the process's goroutines.
func (c *Container) Metrics() []Metric {
	raw, _ := (&builtin{c: c}).GetMetrics() // the very answer of lymph.get_metrics
	out := make([]Metric, 0, len(raw))
	for _, m := range raw {
		name, _ := m[0].(string)
		tags := map[string]string{}
		if t, ok := m[2].(map[string]any); ok {
			for k, v := range t {
				tags[k], _ = v.(string)
			}
		}
		out = append(out, Metric{Name: name, Value: metricValue(m[1]), Tags: tags})
	}
	return out
}

func metricValue(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case int:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}
