// Package prometheus exports a lymph container's metrics to Prometheus
// (github.com/prometheus/client_golang): per-subject latency histograms
// labelled by outcome, on the server and the client side, from the
// container's interceptors; and the container's own counters and gauges —
// the ones lymph.get_metrics answers with, read at scrape time, so the two
// never disagree.
//
//	m := lymphprom.New()
//	c, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithInterceptors(m))
//	m.MustRegister(prometheus.DefaultRegisterer, c) // then serve promhttp.Handler() on /metrics
//
// Label cardinality is bounded: server subjects are the installed methods
// (requests for anything else are refused before the interceptors and
// counted under subject "<other>" by the container), client subjects are
// the first MaxClientSubjects called (100 by default) and "<other>" after,
// outcomes are a fixed set, and peers are the instances of the mesh this
// container talks to.
package prometheus

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/lymphgo/lymph"
)

// OtherSubject labels the subjects past the cap, and requests for subjects
// nobody serves.
const OtherSubject = "<other>"

// Option configures Metrics.
type Option func(*Metrics)

// MaxClientSubjects caps the distinct subject labels of client-side
// metrics (100 by default); later subjects share OtherSubject.
func MaxClientSubjects(n int) Option { return func(m *Metrics) { m.maxClient = int64(n) } }

// Buckets sets the latency histograms' buckets, in seconds (the default
// spans 100 µs to 10 s).
func Buckets(b []float64) Option { return func(m *Metrics) { m.buckets = b } }

// DefaultBuckets are the latency buckets, in seconds: lymph calls on a LAN
// take from a tenth of a millisecond to lymph's 3 s default timeout.
var DefaultBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics is a container's Prometheus instrumentation. It is a
// lymph.Interceptor (install it with lymph.WithInterceptors) and, once
// registered with MustRegister or Register, the collector of the
// container's counters. Use one Metrics per container.
type Metrics struct {
	maxClient int64
	buckets   []float64

	server, client *prom.HistogramVec

	clientSubjects sync.Map // subject -> struct{}
	clientCount    atomic.Int64
}

// New returns the instrumentation, to install and register.
func New(opts ...Option) *Metrics {
	m := &Metrics{maxClient: 100, buckets: DefaultBuckets}
	for _, o := range opts {
		o(m)
	}
	m.server = prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "lymph_server_request_duration_seconds",
		Help:    "Time to serve a request dispatched to an installed method, by subject and outcome (ok, error, nack, panic).",
		Buckets: m.buckets,
	}, []string{"subject", "outcome"})
	m.client = prom.NewHistogramVec(prom.HistogramOpts{
		Name:    "lymph_client_call_duration_seconds",
		Help:    "Time from sending a call to its outcome (ok, error, nack, timeout, failed), by subject.",
		Buckets: m.buckets,
	}, []string{"subject", "outcome"})
	return m
}

// WrapServer times each request and labels it with its outcome.
func (m *Metrics) WrapServer(next lymph.ServerHandler) lymph.ServerHandler {
	return func(ctx context.Context, req *lymph.ServerRequest) lymph.Outcome {
		start := time.Now()
		out := next(ctx, req)
		m.server.WithLabelValues(req.Subject, out.Kind.String()).Observe(time.Since(start).Seconds())
		return out
	}
}

// WrapClient times each call, deferred ones until their Future completes.
func (m *Metrics) WrapClient(next lymph.ClientHandler) lymph.ClientHandler {
	return func(ctx context.Context, call *lymph.ClientCall) error {
		start := time.Now()
		err := next(ctx, call)
		m.client.WithLabelValues(m.clientSubject(call.Subject), lymph.ClientOutcome(err).Kind.String()).
			Observe(time.Since(start).Seconds())
		return err
	}
}

// clientSubject returns the label for a called subject: itself while
// fewer than maxClient subjects have been seen, else OtherSubject.
func (m *Metrics) clientSubject(subject string) string {
	if _, ok := m.clientSubjects.Load(subject); ok {
		return subject
	}
	if m.clientCount.Add(1) > m.maxClient {
		m.clientCount.Add(-1)
		return OtherSubject
	}
	if _, loaded := m.clientSubjects.LoadOrStore(subject, struct{}{}); loaded {
		m.clientCount.Add(-1)
	}
	return subject
}

// Register registers the histograms and the collector of c's counters
// with reg.
func (m *Metrics) Register(reg prom.Registerer, c *lymph.Container) error {
	for _, col := range []prom.Collector{m.server, m.client, &containerCollector{c: c}} {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}

// MustRegister is Register that panics on error, as prometheus.MustRegister.
func (m *Metrics) MustRegister(reg prom.Registerer, c *lymph.Container) {
	if err := m.Register(reg, c); err != nil {
		panic(err)
	}
}

var _ lymph.Interceptor = (*Metrics)(nil)
