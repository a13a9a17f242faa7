package lymph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
	"github.com/lymphgo/lymph/registry"
)

// Proxy calls the methods of one service: lymph's proxy. It is cheap to make
// and safe for concurrent use. The proxy does not check that a method
// exists: it sends the request, and the server's NACK (or the timeout) says
// so.
type Proxy struct {
	c       *Container
	name    string   // service name; "" when the proxy targets an endpoint
	fixed   []string // the one tcp:// endpoint, when name is ""
	badAddr error    // why the address cannot be called, found at Proxy
	opts    proxyOptions
	next    atomic.Uint64 // round-robin position
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

// ProxyRoundRobin picks instances in turn instead of by load. The default
// picks two live instances at random and sends to the one with fewer calls
// outstanding (the "power of two choices"), so a slow or frozen instance
// stops getting new calls as soon as its calls pile up.
func ProxyRoundRobin() ProxyOption {
	return func(o *proxyOptions) { o.roundRobin = true }
}

// Proxy returns a proxy to address: a service name, resolved through the
// registry on each call ("echo", or "echo@1.2" to ask for a version), or a
// literal endpoint "tcp://host:port". A proxy to a name sends method m as
// subject "name.m"; a proxy to an endpoint takes full subjects
// ("echo.upper"), since an endpoint can serve several interfaces. An
// address that cannot work (empty, or a version that does not parse) makes
// every call fail with an error saying why.
func (c *Container) Proxy(address string, opts ...ProxyOption) *Proxy {
	p := &Proxy{c: c}
	for _, o := range opts {
		o(&p.opts)
	}
	switch {
	case address == "":
		p.badAddr = errors.New("lymph: proxy address is empty (want a service name or tcp://host:port)")
	case strings.HasPrefix(address, "tcp://"):
		p.fixed = []string{address}
	default:
		name, version, _ := strings.Cut(address, "@")
		p.name = name
		if version != "" && p.opts.version == "" {
			p.opts.version = version
		}
		if name == "" {
			p.badAddr = fmt.Errorf("lymph: proxy address %q has no service name", address)
		}
	}
	if p.badAddr == nil && p.opts.version != "" {
		if _, err := registry.ParseConstraint(p.opts.version); err != nil {
			p.badAddr = fmt.Errorf("lymph: proxy %q: %w", address, err)
		}
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
	if h := p.c.clientChain; h != nil {
		return h(ctx, &ClientCall{Subject: subject, Args: args, proxy: p, result: result})
	}
	return p.call(ctx, subject, args, result, nil)
}

// call is a synchronous call; cc, when interceptors see the call, learns
// the peer that answered.
func (p *Proxy) call(ctx context.Context, subject string, args, result any, cc *ClientCall) error {
	call := syncCalls.Get().(*syncCall)
	defer call.release()
	timeout := p.timeout(ctx)
	id, err := p.c.startCall(ctx, p, subject, args, timeout, call)
	if err != nil {
		return err
	}
	if err := call.wait(ctx, p.c, id, subject, timeout); err != nil {
		return err
	}
	if cc != nil {
		cc.Peer = call.reply.Source
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
	if p.badAddr != nil {
		return "", p.badAddr
	}
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
	p := c.Proxy(address)
	if p.badAddr != nil {
		return nil, p.badAddr
	}
	return c.deferCall(ctx, p, subject, args).Message(ctx)
}

// deferCall sends a request whose reply a Future waits for, through the
// interceptors when there are any.
func (c *Container) deferCall(ctx context.Context, p *Proxy, subject string, args any) *Future {
	if c.clientChain != nil {
		return c.deferIntercepted(ctx, p, subject, args)
	}
	return c.deferDirect(ctx, p, subject, args)
}

// deferDirect sends a request whose reply a Future waits for.
func (c *Container) deferDirect(ctx context.Context, p *Proxy, subject string, args any) *Future {
	f := newFuture(subject)
	timeout := p.timeout(ctx)
	id, err := c.startCall(ctx, p, subject, args, timeout, f)
	if err != nil {
		f.complete(transport.Incoming{}, err)
		return f
	}
	f.arm(ctx, timeout, func(err error) { c.pending.expire(id, err) })
	return f
}

// maxTries bounds the instances one call tries when they cannot be
// reached; maxResends the instances it is sent to again after a refusal
// that did no work.
const (
	maxTries   = 4
	maxResends = 2
)

// startCall is every call's one way out: encode, pick an instance, register
// w for the reply, send. It returns the request's id, or an error when the
// request was not sent, and w is then not registered.
func (c *Container) startCall(ctx context.Context, p *Proxy, subject string, args any, timeout time.Duration, w waiter) (string, error) {
	tr := c.tr.Load()
	if !c.currentPhase().calling() || tr == nil {
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
	// The deadline travels (deadline.go), with the caller's extra headers.
	headers, body, err := codec.MarshalRequest(traceID, p.opts.version, timeoutMillis(timeout), requestHeaders(ctx), args)
	if err != nil {
		return "", fmt.Errorf("lymph: %s: encoding arguments: %w", subject, err)
	}
	endpoints, err := p.endpoints(ctx)
	if err != nil {
		return "", err
	}
	// A full queue makes Send wait, until ctx ends or the connection
	// dies; a peer that stops reading loses its connection within the
	// transport's write timeout, so the wait is bounded without a context
	// of our own (three allocations a call).
	pc := pendingCall{w: w, subject: subject, deadline: time.Now().Add(timeout)}
	if p.name != "" {
		pc.proxy, pc.ctx, pc.headers, pc.body = p, ctx, headers, body
	}
	var tried [maxTries]string
	for n := 0; n < maxTries; n++ {
		endpoint := c.choose(endpoints, tried[:n], p)
		if endpoint == "" {
			break
		}
		tried[n] = endpoint
		pc.peer = c.monitor.Peer(endpoint)
		c.pending.add(id, pc)
		err = tr.Send(ctx, endpoint, id, TypeRequest, subject, headers, body)
		if err == nil {
			c.pending.markSent(id)
			return id, nil
		}
		c.pending.take(id)
		// Move on only when the request surely did not leave (or the user
		// said a duplicate is harmless).
		if !errors.Is(err, transport.ErrNotConnected) && !p.opts.idempotent {
			break
		}
		c.logger.Debug("instance unreachable, trying another", "subject", subject, "endpoint", endpoint, "error", err)
	}
	if err == nil {
		err = fmt.Errorf("%w: no reachable instance of %q", ErrNotConnected, p.name)
	}
	return "", sendError(subject, err)
}

// resend sends a call that an instance refused without doing any work (it
// was stopping) to another instance. The call was taken out of the pending
// table: resend puts it back, or completes it with the refusal.
func (c *Container) resend(pc pendingCall, refusal transport.Incoming) {
	id := refusal.Subject
	tr := c.tr.Load()
	pc.tries++
	if endpoints, err := pc.proxy.endpoints(pc.ctx); err == nil && c.currentPhase().calling() {
		exclude := []string{refusal.Sender}
		for len(exclude) <= maxTries {
			endpoint := c.choose(endpoints, exclude, pc.proxy)
			if endpoint == "" || time.Until(pc.deadline) <= 0 {
				break
			}
			exclude = append(exclude, endpoint)
			pc.peer = c.monitor.Peer(endpoint)
			c.pending.add(id, pc)
			ctx, cancel := context.WithDeadline(pc.ctx, pc.deadline)
			err := tr.Send(ctx, endpoint, id, TypeRequest, pc.subject, pc.headers, pc.body)
			cancel()
			if err == nil {
				c.pending.markSent(id)
				// The waiter's own timer may have fired while the call was
				// out of the table: this one ends it at the same deadline.
				time.AfterFunc(time.Until(pc.deadline), func() {
					c.pending.expire(id, noReplyError(pc.subject, time.Until(pc.deadline)))
				})
				c.logger.Debug("instance was stopping; request sent to another", "subject", pc.subject, "from", refusal.Sender, "to", endpoint)
				return
			}
			if _, ok := c.pending.take(id); !ok {
				return // completed meanwhile (the connection died)
			}
			if !errors.Is(err, transport.ErrNotConnected) {
				break
			}
		}
	}
	pc.w.complete(refusal, nil)
}

var emptyArgs = map[string]any{}

// sendError translates the transport's errors into the package's.
func sendError(subject string, err error) error {
	switch {
	case errors.Is(err, ErrNotConnected), errors.Is(err, ErrLookupFailure), errors.Is(err, ErrTimeout):
		return err
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

// endpoints lists the instances the proxy may call. The slice is shared.
func (p *Proxy) endpoints(ctx context.Context) ([]string, error) {
	if p.name == "" {
		return p.fixed, nil
	}
	eps, err := p.c.resolver.endpoints(ctx, p.name, p.opts.version)
	if err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		if p.opts.version != "" {
			return nil, fmt.Errorf("%w: no instance of %q with a version %s", ErrLookupFailure, p.name, p.opts.version)
		}
		return nil, fmt.Errorf("%w: no instance of %q", ErrLookupFailure, p.name)
	}
	return eps, nil
}
