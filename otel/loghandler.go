package otel

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/lymphgo/lymph"
)

// NewLogHandler wraps h so that records logged with a context (slog's
// InfoContext and friends) carry trace_id — the span's, else the lymph
// trace id the context carries — and span_id when there is a span. A
// record that already has a trace_id attribute (lymph's own logs add one)
// keeps it.
func NewLogHandler(h slog.Handler) slog.Handler { return logHandler{inner: h} }

type logHandler struct{ inner slog.Handler }

func (l logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.inner.Enabled(ctx, level)
}

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	traceID, spanID := "", ""
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		traceID, spanID = sc.TraceID().String(), sc.SpanID().String()
	} else {
		traceID = lymph.TraceID(ctx)
	}
	if traceID != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "trace_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("trace_id", traceID))
		}
	}
	if spanID != "" {
		r.AddAttrs(slog.String("span_id", spanID))
	}
	return l.inner.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{inner: l.inner.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{inner: l.inner.WithGroup(name)}
}
