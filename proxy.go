package lymph

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// Proxy calls the methods of one service: lymph's proxy. It is cheap to make
// and safe for concurrent use. The proxy does not check that a method
// exists: it sends the request, and the server's NACK (or the timeout) says
// so.
type Proxy struct {
	c         *Container
	name      string   // service name; "" when the proxy targets an endpoint
	endpoints []string // the one fixed tcp:// endpoint; nil to resolve name
	opts      proxyOptions
	next      atomic.Uint64 // round-robin position
}

// ProxyOption configures a Proxy.
type ProxyOption func(*proxyOptions)

type proxyOptions struct {
	timeout    time.Duration // 0: the container's default
	version    string
	idempotent bool
	roundRobin bool
}

// ProxyTimeout sets how long the proxy's calls wait for a reply. A context
// deadline that comes sooner still wins.
func ProxyTimeout(d time.Duration) ProxyOption {
	return func(o *proxyOptions) { o.timeout = d }
}

// ProxyVersion asks for instances whose interface version satisfies v
// ("1.2" means >=1.2.0, <2.0.0) and sends v as the request's version header.
func ProxyVersion(v string) ProxyOption {
	return func(o *proxyOptions) { o.version = v }
}

// ProxyIdempotent declares the proxy's methods safe to run twice: a request
// whose send failed after it may have left the process is retried on
// another instance. Without it, only requests known not to have left are
// retried, so a server never sees a duplicate.
func ProxyIdempotent() ProxyOption {
	return func(o *proxyOptions) { o.idempotent = true }
}

// ProxyRoundRobin picks instances in turn instead of at random (lymph's
// choice).
func ProxyRoundRobin() ProxyOption {
	return func(o *proxyOptions) { o.roundRobin = true }
}

// Proxy returns a proxy to address: a service name, resolved through the
// registry on each call ("echo", or "echo@1.2" to ask for a version), or a
// literal endpoint "tcp://host:port". A proxy to a name sends method m as
// subject "name.m"; a proxy to an endpoint takes full subjects
// ("echo.upper"), since an endpoint can serve several interfaces.
func (c *Container) Proxy(address string, opts ...ProxyOption) *Proxy {
	p := &Proxy{c: c}
	for _, o := range opts {
		o(&p.opts)
	}
	if strings.HasPrefix(address, "tcp://") {
		p.endpoints = []string{address}
		return p
	}
	name, version, _ := strings.Cut(address, "@")
	p.name = name
	if version != "" && p.opts.version == "" {
		p.opts.version = version
	}
	return p
}

// Call calls method with args (a struct with msgpack tags, or a map: the
// keyword arguments; nil for none) and decodes the reply into result (a
// pointer, or nil to discard it). It waits until the reply, the context's
// end, or the timeout: the context's deadline, else the proxy's timeout,
// else the container's (3 s by default).
func (p *Proxy) Call(ctx context.Context, method string, args, result any) error {
	subject, err := p.subject(method)
	if err != nil {
		return err
	}
	call := syncCalls.Get().(*syncCall)
	defer call.release()
	id, err := p.c.startCall(ctx, p, subject, args, call)
	if err != nil {
		return err
	}
	if err := call.wait(ctx, p.c, id, subject, p.timeout(ctx)); err != nil {
		return err
	}
	if err := replyError(subject, &call.reply); err != nil {
		return err
	}
	return decodeResult(subject, &call.reply, result)
}

// Defer sends the request and returns at once; the Future's Get waits for
// the reply. The call's deadline is fixed here, from ctx and the timeouts,
// and cancelling ctx abandons the call.
func (p *Proxy) Defer(ctx context.Context, method string, args any) *Future {
	subject, err := p.subject(method)
	if err != nil {
		return failedFuture(method, err)
	}
	return p.c.deferCall(ctx, p, subject, args)
}

// Call is Proxy.Call with a typed result:
//
//	out, err := lymph.Call[string](ctx, echo, "upper", UpperArgs{Text: "foo"})
func Call[R any](ctx context.Context, p *Proxy, method string, args any) (R, error) {
	var out R
	err := p.Call(ctx, method, args, &out)
	return out, err
}

func (p *Proxy) subject(method string) (string, error) {
	if p.name != "" {
		return p.name + "." + method, nil
	}
	if _, _, ok := splitSubject(method); !ok {
		return "", fmt.Errorf("lymph: a proxy to an endpoint takes full subjects (interface.method), got %q", method)
	}
	return method, nil
}

// Request sends one request with the full subject ("echo.upper") to address
// (a service name or a tcp:// endpoint) and waits for the reply, lymph's
// low-level request. It returns the reply message; for a NACK or an ERROR
// reply also ErrNack or the *RemoteError.
func (c *Container) Request(ctx context.Context, address, subject string, args any) (*Message, error) {
	if _, _, ok := splitSubject(subject); !ok {
		return nil, fmt.Errorf("lymph: request subject must be interface.method, got %q", subject)
	}
	return c.deferCall(ctx, c.Proxy(address), subject, args).Message(ctx)
}

// deferCall sends a request whose reply a Future waits for.
func (c *Container) deferCall(ctx context.Context, p *Proxy, subject string, args any) *Future {
	f := newFuture(subject)
	id, err := c.startCall(ctx, p, subject, args, f)
	if err != nil {
		f.complete(transport.Incoming{}, err)
		return f
	}
	f.arm(ctx, p.timeout(ctx), func(err error) { c.pending.expire(id, err) })
	return f
}

// startCall is every call's one way out: encode, pick an instance, register
// w for the reply, send. It returns the request's id, or an error when the
// request was not sent, and w is then not registered.
func (c *Container) startCall(ctx context.Context, p *Proxy, subject string, args any, w waiter) (string, error) {
	tr, res, ok := c.running()
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNotRunning, subject)
	}
	if err := ctx.Err(); err != nil {
		return "", waitError(subject, err)
	}
	if args == nil {
		args = emptyArgs
	}
	id := transport.NewID()
	// A call outside any trace starts one, named after its first request.
	traceID := TraceID(ctx)
	if traceID == "" {
		traceID = id
	}
	headers, body, err := codec.MarshalMessage(traceID, p.opts.version, args)
	if err != nil {
		return "", fmt.Errorf("lymph: %s: encoding arguments: %w", subject, err)
	}
	candidates, err := p.candidates(ctx, res, tr)
	if err != nil {
		return "", err
	}

	c.pending.add(id, w)
	for _, endpoint := range candidates {
		err = tr.Send(ctx, endpoint, id, TypeRequest, subject, headers, body)
		if err == nil {
			return id, nil
		}
		// Move on only when the request surely did not leave (or the user
		// said a duplicate is harmless).
		if !errors.Is(err, transport.ErrNotConnected) && !p.opts.idempotent {
			break
		}
		c.logger.Debug("instance unreachable, trying another", "subject", subject, "endpoint", endpoint, "error", err)
	}
	c.pending.take(id)
	return "", sendError(subject, err)
}

var emptyArgs = map[string]any{}

// sendError translates the transport's errors into the package's.
func sendError(subject string, err error) error {
	switch {
	case errors.Is(err, transport.ErrNotConnected):
		return fmt.Errorf("%w: %s: %v", ErrNotConnected, subject, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %v", ErrTimeout, subject, err)
	}
	return fmt.Errorf("lymph: %s: %w", subject, err)
}

// timeout is the call's time to live: the context's deadline, capped by the
// proxy's timeout when it has one, else the proxy's or container's timeout.
func (p *Proxy) timeout(ctx context.Context) time.Duration {
	d := p.opts.timeout
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); d == 0 || left < d {
			return left
		}
		return d
	}
	if d == 0 {
		d = p.c.cfg.timeout
	}
	return d
}

// candidates lists the endpoints to try, best first: the live instances in
// random (or round-robin) order, with those whose heartbeats went quiet
// last.
func (p *Proxy) candidates(ctx context.Context, res *resolver, tr *transport.Transport) ([]string, error) {
	if p.endpoints != nil {
		return p.endpoints, nil
	}
	instances, err := res.lookup(ctx, p.name, p.opts.version)
	if err != nil {
		return nil, err
	}
	if len(instances) == 0 {
		return nil, fmt.Errorf("%w: no instance of %q", ErrLookupFailure, p.name)
	}
	endpoints := make([]string, 0, len(instances))
	for _, inst := range instances {
		endpoints = append(endpoints, inst.Endpoint)
	}
	if p.opts.roundRobin {
		k := int(p.next.Add(1) % uint64(len(endpoints)))
		endpoints = append(endpoints[k:], endpoints[:k]...)
	} else {
		rand.Shuffle(len(endpoints), func(i, j int) { endpoints[i], endpoints[j] = endpoints[j], endpoints[i] })
	}
	healthy := endpoints[:0:0]
	var quiet []string
	for _, ep := range endpoints {
		if state, ok := tr.PeerState(ep); ok && state == transport.StateUnresponsive {
			quiet = append(quiet, ep)
			continue
		}
		healthy = append(healthy, ep)
	}
	return append(healthy, quiet...), nil
}
