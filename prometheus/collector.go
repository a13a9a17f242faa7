package prometheus

import (
	"sort"
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/lymphgo/lymph"
)

// family says how one of lymph's metrics is exported.
type family struct {
	name  string
	help  string
	typ   prom.ValueType
	scale float64  // the value is multiplied by it (ms -> s)
	drop  []string // tags left out (a peer's changing state would churn series)
}

// families maps lymph's get_metrics names to Prometheus names, after
// Prometheus' conventions: counters end in _total, times are in seconds.
// A name not listed here (added to lymph later) is exported as an untyped
// lymph_<name> with dots as underscores.
var families = map[string]family{
	"rpc.requests":          {name: "lymph_rpc_requests_total", help: "Requests dispatched to a method, by subject (get_metrics rpc.requests).", typ: prom.CounterValue},
	"rpc.errors":            {name: "lymph_rpc_errors_total", help: "Methods that failed: declared error, other error or panic.", typ: prom.CounterValue},
	"rpc.nacks":             {name: "lymph_rpc_nacks_total", help: "NACKs sent, whatever the reason.", typ: prom.CounterValue},
	"rpc.unknown":           {name: "lymph_rpc_unknown_total", help: "Requests for an unknown interface or method.", typ: prom.CounterValue},
	"rpc.bad_requests":      {name: "lymph_rpc_bad_requests_total", help: "Requests with undecodable headers or arguments.", typ: prom.CounterValue},
	"rpc.overloaded":        {name: "lymph_rpc_overloaded_total", help: "Requests refused past the in-flight limit.", typ: prom.CounterValue},
	"rpc.deadline_exceeded": {name: "lymph_rpc_deadline_exceeded_total", help: "Requests refused because the caller's deadline had passed.", typ: prom.CounterValue},
	"rpc.late_replies":      {name: "lymph_rpc_late_replies_total", help: "Replies that came after their call's deadline.", typ: prom.CounterValue},

	"transport.connections":        {name: "lymph_transport_connections", help: "Open connections.", typ: prom.GaugeValue},
	"transport.connections_in":     {name: "lymph_transport_connections_in", help: "Open accepted connections.", typ: prom.GaugeValue},
	"transport.connections_out":    {name: "lymph_transport_connections_out", help: "Open dialed connections.", typ: prom.GaugeValue},
	"transport.handshaking":        {name: "lymph_transport_handshaking", help: "Accepted connections in their handshake.", typ: prom.GaugeValue},
	"transport.read_buffers":       {name: "lymph_transport_read_buffers", help: "Read buffers held by connections.", typ: prom.GaugeValue},
	"transport.messages_in":        {name: "lymph_transport_messages_in_total", help: "Messages received.", typ: prom.CounterValue},
	"transport.messages_out":       {name: "lymph_transport_messages_out_total", help: "Messages sent.", typ: prom.CounterValue},
	"transport.bytes_in":           {name: "lymph_transport_received_bytes_total", help: "Frame bytes of the messages received.", typ: prom.CounterValue},
	"transport.bytes_out":          {name: "lymph_transport_sent_bytes_total", help: "Frame bytes of the messages sent.", typ: prom.CounterValue},
	"transport.queued":             {name: "lymph_transport_queued_messages", help: "Messages waiting in peers' send queues.", typ: prom.GaugeValue},
	"transport.dial_failures":      {name: "lymph_transport_dial_failures_total", help: "Dials that failed.", typ: prom.CounterValue},
	"transport.handshake_failures": {name: "lymph_transport_handshake_failures_total", help: "Handshakes that failed.", typ: prom.CounterValue},
	"transport.queue_waits":        {name: "lymph_transport_queue_waits_total", help: "Sends that waited for room in a peer's queue.", typ: prom.CounterValue},
	"transport.queue_full":         {name: "lymph_transport_queue_full_total", help: "Sends that gave up on a full queue.", typ: prom.CounterValue},
	"transport.busy_polls":         {name: "lymph_transport_busy_polls_total", help: "Reads that busy-polled.", typ: prom.CounterValue},
	"transport.empty_busy_polls":   {name: "lymph_transport_empty_busy_polls_total", help: "Busy polls that found nothing.", typ: prom.CounterValue},
	"transport.shared_connections": {name: "lymph_transport_shared_connections", help: "Open connections that carry replies back (between lymph-go peers).", typ: prom.GaugeValue},
	"transport.shared_replies":     {name: "lymph_transport_shared_replies_total", help: "Replies sent on the request's connection.", typ: prom.CounterValue},
	"transport.dropped":            {name: "lymph_transport_dropped_total", help: "Messages dropped, by reason.", typ: prom.CounterValue},
	"transport.peer_rtt_ms":        {name: "lymph_transport_peer_rtt_seconds", help: "Mean heartbeat round trip to a peer.", typ: prom.GaugeValue, scale: 1e-3, drop: []string{"state"}},
	"transport.peer_outstanding":   {name: "lymph_transport_peer_outstanding", help: "Calls waiting for a peer's reply.", typ: prom.GaugeValue, drop: []string{"state"}},
	"transport.peer_connected":     {name: "lymph_transport_peer_connected", help: "Whether the connection to a peer is up (1) or not (0).", typ: prom.GaugeValue, drop: []string{"state"}},

	"events.emitted":     {name: "lymph_events_emitted_total", help: "Events emitted, by type.", typ: prom.CounterValue},
	"events.emit_failed": {name: "lymph_events_emit_failed_total", help: "Events that could not be emitted, by type.", typ: prom.CounterValue},
	"events.handled":     {name: "lymph_events_handled_total", help: "Events handled, by type.", typ: prom.CounterValue},
	"events.failed":      {name: "lymph_events_failed_total", help: "Event handlers that failed, by type.", typ: prom.CounterValue},
	"events.retried":     {name: "lymph_events_retried_total", help: "Events handed back for a retry, by type.", typ: prom.CounterValue},
	"events.dropped":     {name: "lymph_events_dropped_total", help: "Events dropped, by type.", typ: prom.CounterValue},
	"events.rejected":    {name: "lymph_events_rejected_total", help: "Events rejected, by type.", typ: prom.CounterValue},

	"process.goroutines": {name: "lymph_process_goroutines", help: "Goroutines of the process.", typ: prom.GaugeValue},
}

// peersDesc counts the peers by health state, from the per-peer metrics.
var peersDesc = prom.NewDesc("lymph_transport_peers", "Peers by health state (healthy, unresponsive, idle, ...).", []string{"state"}, nil)

// containerCollector reads the container's counters at scrape time: the
// same values lymph.get_metrics answers with. It is an unchecked collector
// (its Describe sends nothing): the set of labels follows the container.
type containerCollector struct{ c *lymph.Container }

func (*containerCollector) Describe(chan<- *prom.Desc) {}

func (cc *containerCollector) Collect(ch chan<- prom.Metric) {
	descs := map[string]*prom.Desc{}
	peers := map[string]float64{}
	for _, m := range cc.c.Metrics() {
		f, known := families[m.Name]
		if !known {
			f = family{name: "lymph_" + strings.NewReplacer(".", "_", "-", "_").Replace(m.Name), help: "lymph metric " + m.Name + ".", typ: prom.UntypedValue}
		}
		if m.Name == "transport.peer_connected" {
			peers[m.Tags["state"]]++
		}
		keys := make([]string, 0, len(m.Tags))
		for k := range m.Tags {
			if !contains(f.drop, k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		id := f.name + "|" + strings.Join(keys, ",")
		desc, ok := descs[id]
		if !ok {
			desc = prom.NewDesc(f.name, f.help, keys, nil)
			descs[id] = desc
		}
		values := make([]string, len(keys))
		for i, k := range keys {
			values[i] = m.Tags[k]
		}
		v := m.Value
		if f.scale != 0 {
			v *= f.scale
		}
		metric, err := prom.NewConstMetric(desc, f.typ, v, values...)
		if err != nil {
			ch <- prom.NewInvalidMetric(desc, err)
			continue
		}
		ch <- metric
	}
	for state, n := range peers {
		ch <- prom.MustNewConstMetric(peersDesc, prom.GaugeValue, n, state)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
