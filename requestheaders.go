package lymph

import (
	"context"
	"maps"
)

type headersKey struct{}
type requestKey struct{}

// ContextWithHeader returns a context whose calls send the extra request
// header key: value (Python lymph keeps and ignores headers it does not
// know; a Go method reads them with IncomingRequest). lymph's own headers
// (trace_id, version, timeout_ms) cannot be set this way. The value must
// be msgpack-encodable; text and numbers travel everywhere.
func ContextWithHeader(ctx context.Context, key string, value any) context.Context {
	old, _ := ctx.Value(headersKey{}).(map[string]any)
	h := make(map[string]any, len(old)+1)
	maps.Copy(h, old)
	h[key] = value
	return context.WithValue(ctx, headersKey{}, h)
}

// requestHeaders returns the extra headers ctx asks calls to send; nil
// when none (no allocation).
func requestHeaders(ctx context.Context) map[string]any {
	h, _ := ctx.Value(headersKey{}).(map[string]any)
	return h
}

// IncomingRequest returns the request a method's context serves (its
// Headers(), Source, ...), or nil outside a method. Raw methods have it as
// ReplyChannel.Request too. Asked for first after the method has returned
// (by a goroutine it left running), a big request's message may come
// without its body and headers, whose buffer the container reused; the
// trace id, version, ids and source remain.
func IncomingRequest(ctx context.Context) *Message {
	m, _ := ctx.Value(requestKey{}).(*Message)
	return m
}

// requestContext is a method's context: the container's serving context
// with the request attached. One value carries both the trace id and the
// request, so serving costs one allocation for it, as a plain trace id
// did.
type requestContext struct {
	context.Context
	req *Message
}

func (r *requestContext) Value(key any) any {
	switch key.(type) {
	case traceKey:
		return r.req.TraceID()
	case requestKey:
		return r.req.share()
	}
	return r.Context.Value(key)
}
