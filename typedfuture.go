package lymph

import "context"

// TypedFuture is a Future whose reply decodes into an R: what Defer
// returns, as Call is Proxy.Call with a typed result.
type TypedFuture[R any] struct{ f *Future }

// Defer is Proxy.Defer with a typed result: it sends the request and
// returns at once; Get waits for the reply and decodes it into an R.
//
//	f := lymph.Defer[string](ctx, echo, "upper", UpperArgs{Text: "foo"})
//	// ... other work ...
//	out, err := f.Get(ctx)
func Defer[R any](ctx context.Context, p *Proxy, method string, args any) *TypedFuture[R] {
	return &TypedFuture[R]{f: p.Defer(ctx, method, args)}
}

// Get waits for the reply and returns its value, as Future.Get does; on
// an error the value is R's zero value.
func (t *TypedFuture[R]) Get(ctx context.Context) (R, error) {
	var out R
	if err := t.f.Get(ctx, &out); err != nil {
		var zero R
		return zero, err
	}
	return out, nil
}

// Done returns a channel that is closed when the reply (or the call's
// failure) has arrived, for use in select.
func (t *TypedFuture[R]) Done() <-chan struct{} { return t.f.Done() }

// Message waits for the reply and returns it undecoded, as Future.Message
// does.
func (t *TypedFuture[R]) Message(ctx context.Context) (*Message, error) { return t.f.Message(ctx) }
