package lymph

import (
	"context"

	"github.com/lymphgo/lymph/internal/transport"
)

type traceKey struct{}

// TraceID returns the trace id the context carries, or "" when it has none.
// A method's context carries the trace id of the request it serves; calls
// made with that context carry it on.
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceKey{}).(string)
	return id
}

// ContextWithTraceID returns a context that carries id as its trace id.
// Calls made with it send id as the request's trace_id header; without it
// a call outside any request starts a trace of its own.
func ContextWithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey{}, id)
}

// NewTraceID returns a fresh trace id: 32 lowercase hex characters, as lymph
// makes them.
func NewTraceID() string { return transport.NewID() }

// traceIDOrNew returns the context's trace id, or a new one: every request
// lymph sends carries one.
func traceIDOrNew(ctx context.Context) string {
	if id := TraceID(ctx); id != "" {
		return id
	}
	return transport.NewID()
}
