package otel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/lymphgo/lymph/internal/pypeer"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphtest"
	lymphotel "github.com/lymphgo/lymph/otel"
	"github.com/lymphgo/lymph/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const python = pypeer.Python

// startPythonPeer runs the project's Python implementation of the lymph
// protocol (interop/lymph_peer.py), which knows trace_id and nothing of
// traceparent, as Python lymph.
func startPythonPeer(t *testing.T) string {
	t.Helper()
	pypeer.Require(t)
	return pypeer.Serve(t, "--name", "pyecho")
}

// syncBuffer is a log sink safe for the handler's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mid is the middle service: it calls the Python peer, and logs.
type mid struct {
	lymph.Interface
	log *slog.Logger
}

// Relay calls pyecho.upper and returns the trace ids on both sides.
func (s *mid) Relay(ctx context.Context) (map[string]string, error) {
	s.log.InfoContext(ctx, "relaying")
	msg, err := s.Proxy("pyecho").Request(ctx, "upper", map[string]any{"text": "x"})
	if err != nil {
		return nil, err
	}
	return map[string]string{"mine": lymph.TraceID(ctx), "python": msg.TraceID()}, nil
}

func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name && s.SpanKind == kind {
			return s
		}
	}
	t.Fatalf("no %s span %q among %d", kind, name, len(spans))
	return tracetest.SpanStub{}
}

// waitSpans returns the exported spans once there are n: a server span
// ends after its reply is written, so the caller can hold the reply before
// the span is exported.
func waitSpans(t *testing.T, exporter *tracetest.InMemoryExporter, n int) tracetest.SpanStubs {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans := exporter.GetSpans()
		if len(spans) >= n || time.Now().After(deadline) {
			return spans
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// A trace across three services: a Go caller, a Go service, and a peer
// that speaks lymph's protocol in Python and knows only trace_id.
func TestTraceAcrossThreeServices(t *testing.T) {
	pyEndpoint := startPythonPeer(t)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())

	reg := lymphtest.Registry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	py, err := registry.NewInstance("pyecho", pyEndpoint, "")
	require.NoError(t, err)
	require.NoError(t, reg.Register(ctx, py))

	logs := &syncBuffer{}
	logger := slog.New(lymphotel.NewLogHandler(slog.NewJSONHandler(logs, nil)))
	server := lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&mid{log: logger}, lymph.WithName("mid"))
	}, lymph.WithInterceptors(lymphotel.New(lymphotel.WithTracerProvider(tp))), lymph.WithoutHeartbeat())
	client := lymphtest.Start(t, reg, nil, lymph.WithInterceptors(lymphotel.New(lymphotel.WithTracerProvider(tp))), lymph.WithoutHeartbeat())

	ctx, root := tp.Tracer("test").Start(ctx, "root")
	got, err := lymph.Call[map[string]string](ctx, client.Proxy("mid"), "relay", nil)
	root.End()
	require.NoError(t, err)

	traceID := root.SpanContext().TraceID()
	assert.Equal(t, traceID.String(), got["mine"], "the span's trace id is lymph's trace_id")
	assert.Equal(t, traceID.String(), got["python"], "and reaches the Python peer")

	spans := waitSpans(t, exporter, 4)
	require.Len(t, spans, 4, "root, the client call, mid's server span, mid's call to Python")
	for _, s := range spans {
		assert.Equal(t, traceID, s.SpanContext.TraceID(), s.Name)
	}
	callMid := spanNamed(t, spans, "mid.relay", trace.SpanKindClient)
	serveMid := spanNamed(t, spans, "mid.relay", trace.SpanKindServer)
	callPy := spanNamed(t, spans, "pyecho.upper", trace.SpanKindClient)
	assert.Equal(t, root.SpanContext().SpanID(), callMid.Parent.SpanID())
	assert.Equal(t, callMid.SpanContext.SpanID(), serveMid.Parent.SpanID(), "traceparent links Go to Go")
	assert.True(t, serveMid.Parent.IsRemote())
	assert.Equal(t, serveMid.SpanContext.SpanID(), callPy.Parent.SpanID())

	assert.Equal(t, "ok", attr(callMid, "lymph.outcome"))
	assert.Equal(t, server.Endpoint(), attr(callMid, "lymph.peer"))
	assert.Equal(t, client.Endpoint(), attr(serveMid, "lymph.peer"))
	assert.Equal(t, "mid", attr(serveMid, "rpc.service"))
	assert.Equal(t, "relay", attr(serveMid, "rpc.method"))
	assert.Equal(t, pyEndpoint, attr(callPy, "lymph.peer"))

	var record map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &record))
	assert.Equal(t, traceID.String(), record["trace_id"])
	assert.Equal(t, serveMid.SpanContext.SpanID().String(), record["span_id"])
}

// A request from Python (trace_id, no traceparent) starts a server span in
// its trace; a failed call is marked so.
func TestPythonCallerJoinsByTraceID(t *testing.T) {
	pyEndpoint := startPythonPeer(t)
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	reg := lymphtest.Registry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	py, err := registry.NewInstance("pyecho", pyEndpoint, "")
	require.NoError(t, err)
	require.NoError(t, reg.Register(ctx, py))
	server := lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&mid{log: slog.New(slog.DiscardHandler)}, lymph.WithName("mid"))
	}, lymph.WithInterceptors(lymphotel.New(lymphotel.WithTracerProvider(tp))), lymph.WithoutHeartbeat())

	const pyTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	out, err := exec.Command(python, "../interop/lymph_peer.py", "call", "--to", server.Endpoint(),
		"--timeout", "5", "--trace-id", pyTrace, "mid.relay", "{}").Output()
	require.NoError(t, err)
	var reply struct {
		Type string            `json:"type"`
		Body map[string]string `json:"body"`
	}
	require.NoError(t, json.Unmarshal(out, &reply), "%s", out)
	require.Equal(t, "REP", reply.Type)
	assert.Equal(t, pyTrace, reply.Body["mine"])
	assert.Equal(t, pyTrace, reply.Body["python"])

	spans := waitSpans(t, exporter, 2) // mid's server span and its call to Python
	serve := spanNamed(t, spans, "mid.relay", trace.SpanKindServer)
	assert.Equal(t, pyTrace, serve.SpanContext.TraceID().String())
	assert.True(t, serve.Parent.IsRemote(), "the parent is the Python caller, which no exporter has")
	callPy := spanNamed(t, spans, "pyecho.upper", trace.SpanKindClient)
	assert.Equal(t, serve.SpanContext.SpanID(), callPy.Parent.SpanID())

	// Heartbeat pings get no server span unless asked for.
	pinger := lymphtest.Start(t, reg, nil, lymph.WithoutHeartbeat())
	before := len(exporter.GetSpans())
	require.NoError(t, pinger.Proxy("lymph", lymph.WithInstance(server.Endpoint())).Call(ctx, "ping", nil, nil))
	assert.Len(t, exporter.GetSpans(), before, "no span for lymph.ping")
	traced := lymphtest.Start(t, reg, nil, lymph.WithoutHeartbeat(),
		lymph.WithInterceptors(lymphotel.New(lymphotel.WithTracerProvider(tp), lymphotel.WithPings())))
	require.NoError(t, pinger.Proxy("lymph", lymph.WithInstance(traced.Endpoint())).Call(ctx, "ping", nil, nil))
	spanNamed(t, waitSpans(t, exporter, before+1), "lymph.ping", trace.SpanKindServer)

	// A failing call: its span says how it ended.
	client := lymphtest.Start(t, reg, nil, lymph.WithInterceptors(lymphotel.New(lymphotel.WithTracerProvider(tp))), lymph.WithoutHeartbeat())
	require.ErrorIs(t, client.Proxy("pyecho").Call(ctx, "no_such", nil, nil), lymph.ErrNack)
	failed := spanNamed(t, exporter.GetSpans(), "pyecho.no_such", trace.SpanKindClient)
	assert.Equal(t, "nack", attr(failed, "lymph.outcome"))
	assert.Equal(t, "Error", failed.Status.Code.String())
}
