package prometheus_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphtest"
	lymphprom "github.com/lymphgo/lymph/prometheus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echo struct{ lymph.Interface }

type textArgs struct {
	Text string `msgpack:"text"`
}

var errNope = lymph.NewErrorType("Nope")

func (*echo) Upper(ctx context.Context, args textArgs) (string, error) {
	return strings.ToUpper(args.Text), nil
}
func (*echo) Fail(ctx context.Context, args textArgs) error { return errNope.New(args.Text) }
func (*echo) Broken(ctx context.Context) error              { return errors.New("broken") }

func quiet() lymph.ContainerOption {
	return lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// scrape fetches url and parses the text exposition format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return families
}

// serveMetrics serves reg's /metrics over real HTTP until the test ends.
func serveMetrics(t *testing.T, reg *prom.Registry) string {
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// value finds the sample of family name whose labels include want; for a
// histogram its count. ok is false when there is none.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestScrapeAfterKnownCalls(t *testing.T) {
	reg := lymphtest.Registry(t)
	serverMetrics := lymphprom.New()
	server := lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&echo{}, lymph.WithName("echo"), lymph.WithRaises("Fail", errNope))
	}, lymph.WithInterceptors(serverMetrics), lymph.WithoutHeartbeat(), quiet())
	serverReg := prom.NewRegistry()
	serverMetrics.MustRegister(serverReg, server)

	clientMetrics := lymphprom.New()
	client := lymphtest.Start(t, reg, nil, lymph.WithInterceptors(clientMetrics), lymph.WithoutHeartbeat(), quiet())
	clientReg := prom.NewRegistry()
	clientMetrics.MustRegister(clientReg, client)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := client.Proxy("echo")
	for range 3 {
		_, err := lymph.Call[string](ctx, p, "upper", textArgs{Text: "a"})
		require.NoError(t, err)
	}
	require.ErrorIs(t, p.Call(ctx, "fail", textArgs{Text: "no"}, nil), errNope)
	require.ErrorIs(t, p.Call(ctx, "broken", nil, nil), lymph.ErrNack)
	require.ErrorIs(t, p.Call(ctx, "no_such", nil, nil), lymph.ErrNack)
	require.NoError(t, p.Defer(ctx, "upper", textArgs{Text: "b"}).Get(ctx, nil))

	families := scrape(t, serveMetrics(t, serverReg))
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"lymph_rpc_requests_total", map[string]string{"subject": "echo.upper"}, 4},
		{"lymph_rpc_errors_total", map[string]string{"subject": "echo.fail"}, 1},
		{"lymph_rpc_errors_total", map[string]string{"subject": "echo.broken"}, 1},
		{"lymph_rpc_nacks_total", map[string]string{"subject": "echo.broken"}, 1},
		{"lymph_rpc_unknown_total", map[string]string{"subject": "<other>"}, 1},
		{"lymph_server_request_duration_seconds", map[string]string{"subject": "echo.upper", "outcome": "ok"}, 4},
		{"lymph_server_request_duration_seconds", map[string]string{"subject": "echo.fail", "outcome": "error"}, 1},
		{"lymph_server_request_duration_seconds", map[string]string{"subject": "echo.broken", "outcome": "nack"}, 1},
		{"lymph_transport_connections_in", nil, 1},
	} {
		got, ok := value(families, tc.name, tc.labels)
		if assert.True(t, ok, "%s%v missing", tc.name, tc.labels) {
			assert.Equal(t, tc.want, got, "%s%v", tc.name, tc.labels)
		}
	}
	assert.Equal(t, dto.MetricType_COUNTER, families["lymph_transport_messages_in_total"].GetType())
	got, _ := value(families, "lymph_transport_messages_in_total", nil)
	assert.GreaterOrEqual(t, got, 7.0, "seven requests came in")
	received, _ := value(families, "lymph_transport_received_bytes_total", nil)
	assert.Greater(t, received, 7*32.0, "seven requests' bytes came in")
	_, ok := value(families, "lymph_transport_queued_messages", nil)
	assert.True(t, ok, "send queue depth")
	goroutines, ok := value(families, "lymph_process_goroutines", nil)
	assert.True(t, ok)
	assert.Greater(t, goroutines, 1.0)
	_, ok = value(families, "lymph_server_request_duration_seconds", map[string]string{"subject": "echo.no_such"})
	assert.False(t, ok, "unknown subjects never become labels")

	// One source of truth: lymph.get_metrics answers with the same numbers.
	var metrics [][]any
	require.NoError(t, client.Proxy("lymph", lymph.WithInstance(server.Endpoint())).Call(ctx, "get_metrics", nil, &metrics))
	found := false
	for _, m := range metrics {
		if m[0] == "rpc.requests" && m[2].(map[string]any)["subject"] == "echo.upper" {
			assert.EqualValues(t, 4, m[1])
			found = true
		}
	}
	assert.True(t, found, "get_metrics has rpc.requests for echo.upper")

	families = scrape(t, serveMetrics(t, clientReg))
	for _, tc := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"subject": "echo.upper", "outcome": "ok"}, 4},
		{map[string]string{"subject": "echo.fail", "outcome": "error"}, 1},
		{map[string]string{"subject": "echo.broken", "outcome": "nack"}, 1},
		{map[string]string{"subject": "echo.no_such", "outcome": "nack"}, 1},
	} {
		got, ok := value(families, "lymph_client_call_duration_seconds", tc.labels)
		if assert.True(t, ok, "%v missing", tc.labels) {
			assert.Equal(t, tc.want, got, "%v", tc.labels)
		}
	}
	peers, ok := value(families, "lymph_transport_peers", nil)
	assert.True(t, ok)
	assert.Equal(t, 1.0, peers, "the client talks to one peer")
}

func TestClientSubjectsAreCapped(t *testing.T) {
	reg := lymphtest.Registry(t)
	lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&echo{}, lymph.WithName("echo"), lymph.WithRaises("Fail", errNope))
	}, lymph.WithoutHeartbeat(), quiet())
	m := lymphprom.New(lymphprom.MaxClientSubjects(1))
	client := lymphtest.Start(t, reg, nil, lymph.WithInterceptors(m), lymph.WithoutHeartbeat(), quiet())
	promReg := prom.NewRegistry()
	m.MustRegister(promReg, client)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := client.Proxy("echo")
	require.NoError(t, p.Call(ctx, "upper", textArgs{Text: "a"}, nil))
	for _, method := range []string{"upper", "x1", "x2", "x3"} {
		_ = p.Call(ctx, method, nil, nil)
	}
	families := scrape(t, serveMetrics(t, promReg))
	got, _ := value(families, "lymph_client_call_duration_seconds", map[string]string{"subject": "echo.upper", "outcome": "ok"})
	assert.Equal(t, 1.0, got)
	got, _ = value(families, "lymph_client_call_duration_seconds", map[string]string{"subject": "echo.upper", "outcome": "nack"})
	assert.Equal(t, 1.0, got, "upper without its argument")
	got, _ = value(families, "lymph_client_call_duration_seconds", map[string]string{"subject": lymphprom.OtherSubject})
	assert.Equal(t, 3.0, got)
	assert.Len(t, families["lymph_client_call_duration_seconds"].Metric, 3, "upper ok, upper nack (bad args), <other> nack")
}
