// Package otel traces lymph requests and calls with OpenTelemetry
// (go.opentelemetry.io/otel): a server span per request dispatched to an
// installed method and a client span per call, with the subject, the peer
// and the outcome as attributes.
//
//	tracing := lymphotel.New() // the global TracerProvider, or lymphotel.WithTracerProvider(tp)
//	c, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithInterceptors(tracing))
//	slog.SetDefault(slog.New(lymphotel.NewLogHandler(slog.Default().Handler()))) // records get trace_id, span_id
//
// lymph's trace_id (32 hex characters) is the W3C trace id. A call made
// inside a span sends the span's trace id as trace_id, and the span id in
// a W3C traceparent header, which Python lymph keeps and ignores; an
// incoming request starts a server span in its trace_id's trace, as the
// child of the traceparent's span when it has one (Go callers). A request
// from Python lymph has no traceparent: its span's parent is a remote span
// named after the request's message id, which no exporter has, so such
// traces join by trace id, and are sampled (Python lymph does not sample).
// A trace_id that is not 32 hex characters cannot be a W3C trace id: such
// a request gets a trace of its own, and keeps its lymph trace_id.
package otel

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/lymphgo/lymph"
)

// HeaderTraceparent is the request header that carries the calling span,
// in W3C Trace Context's traceparent format.
const HeaderTraceparent = "traceparent"

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/lymphgo/lymph/otel"

// Attribute keys set on the spans, after OpenTelemetry's RPC conventions
// where they have one.
const (
	AttrSystem    = attribute.Key("rpc.system")    // "lymph"
	AttrService   = attribute.Key("rpc.service")   // the interface
	AttrMethod    = attribute.Key("rpc.method")    // the method
	AttrSubject   = attribute.Key("lymph.subject") // interface.method
	AttrPeer      = attribute.Key("lymph.peer")    // the other side's endpoint
	AttrOutcome   = attribute.Key("lymph.outcome") // ok, error, nack, panic, timeout, failed
	AttrErrorType = attribute.Key("lymph.error_type")
	AttrReason    = attribute.Key("lymph.nack_reason")
)

// Tracing is lymph's OpenTelemetry instrumentation, a lymph.Interceptor.
type Tracing struct {
	tracer trace.Tracer
	pings  bool
}

// Option configures Tracing.
type Option func(*options)

type options struct {
	tp    trace.TracerProvider
	pings bool
}

// WithPings traces incoming lymph.ping requests too. By default they get
// no span: every peer sends one a second as its heartbeat, and a trace per
// heartbeat would bury the others.
func WithPings() Option { return func(o *options) { o.pings = true } }

// pingSubject is the builtin ping, the heartbeat.
const pingSubject = "lymph.ping"

// WithTracerProvider sets where spans go; the default is the global
// provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// New returns the instrumentation, to install with lymph.WithInterceptors.
func New(opts ...Option) *Tracing {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	return &Tracing{tracer: o.tp.Tracer(ScopeName), pings: o.pings}
}

var _ lymph.Interceptor = (*Tracing)(nil)

// WrapServer starts a server span per request, in the request's trace.
func (t *Tracing) WrapServer(next lymph.ServerHandler) lymph.ServerHandler {
	return func(ctx context.Context, req *lymph.ServerRequest) lymph.Outcome {
		if req.Subject == pingSubject && !t.pings {
			return next(ctx, req)
		}
		tp, _ := req.Message.Header(HeaderTraceparent).(string)
		if parent, ok := remoteParent(req.TraceID, tp, req.Message.ID); ok {
			ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
		}
		ctx, span := t.tracer.Start(ctx, req.Subject, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(subjectAttrs(req.Subject, req.Peer)...))
		defer span.End()
		out := next(ctx, req)
		setOutcome(span, out)
		return out
	}
}

// WrapClient starts a client span per call and sends its trace id and
// span id with the request.
func (t *Tracing) WrapClient(next lymph.ClientHandler) lymph.ClientHandler {
	return func(ctx context.Context, call *lymph.ClientCall) error {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			// A lymph trace without a span (a method of a container
			// without tracing, say): the call joins it by trace id.
			if parent, ok := remoteParent(lymph.TraceID(ctx), "", ""); ok {
				ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
			}
		}
		ctx, span := t.tracer.Start(ctx, call.Subject, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(subjectAttrs(call.Subject, "")...))
		defer span.End()
		// A lymph trace id that cannot be a W3C one (from a Python caller
		// that made its own) is kept as it is: lymph's trace wins.
		_, lerr := trace.TraceIDFromHex(lymph.TraceID(ctx))
		if sc := span.SpanContext(); sc.IsValid() && (lymph.TraceID(ctx) == "" || lerr == nil) {
			ctx = lymph.ContextWithTraceID(ctx, sc.TraceID().String())
			ctx = lymph.ContextWithHeader(ctx, HeaderTraceparent, traceparent(sc))
		}
		err := next(ctx, call)
		if call.Peer != "" {
			span.SetAttributes(AttrPeer.String(call.Peer))
		}
		setOutcome(span, lymph.ClientOutcome(err))
		return err
	}
}

func subjectAttrs(subject, peer string) []attribute.KeyValue {
	iface, method := subject, ""
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		iface, method = subject[:i], subject[i+1:]
	}
	attrs := []attribute.KeyValue{AttrSystem.String("lymph"), AttrService.String(iface), AttrMethod.String(method), AttrSubject.String(subject)}
	if peer != "" {
		attrs = append(attrs, AttrPeer.String(peer))
	}
	return attrs
}

func setOutcome(span trace.Span, out lymph.Outcome) {
	span.SetAttributes(AttrOutcome.String(out.Kind.String()))
	if out.ErrorType != "" {
		span.SetAttributes(AttrErrorType.String(out.ErrorType))
	}
	if out.Reason != "" {
		span.SetAttributes(AttrReason.String(out.Reason))
	}
	if out.Kind != lymph.OutcomeOK {
		msg := out.Kind.String()
		if out.Err != nil {
			msg = out.Err.Error()
		}
		span.SetStatus(codes.Error, msg)
	}
}

// traceparent formats sc as a W3C traceparent header.
func traceparent(sc trace.SpanContext) string {
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + hex.EncodeToString([]byte{byte(sc.TraceFlags())})
}

// remoteParent is the remote span a request continues: traceparent's span
// when its trace id is the request's trace_id, else a stand-in span (id
// from the message id) in trace_id's trace. ok is false when trace_id is
// no W3C trace id.
func remoteParent(traceID, tp, messageID string) (trace.SpanContext, bool) {
	tid, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		return trace.SpanContext{}, false
	}
	if parts := strings.Split(tp, "-"); len(parts) == 4 && parts[0] == "00" && parts[1] == traceID {
		sid, serr := trace.SpanIDFromHex(parts[2])
		flags, ferr := hex.DecodeString(parts[3])
		if serr == nil && ferr == nil && len(flags) == 1 {
			return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
				TraceFlags: trace.TraceFlags(flags[0]), Remote: true}), true
		}
	}
	// No parent span known: a stand-in, sampled, since a lymph trace is
	// always recorded.
	var sid trace.SpanID
	if len(messageID) >= 16 {
		if b, err := hex.DecodeString(messageID[:16]); err == nil {
			copy(sid[:], b)
		}
	}
	if !sid.IsValid() {
		copy(sid[:], tid[8:])
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.FlagsSampled, Remote: true}), true
}
