package lymph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
	"github.com/lymphgo/lymph/registry"
)

// Proxy calls the methods of one interface on the instances of one
// service: lymph's proxy. It separates where a call goes from what it
// calls. Where: the instances of the service named at Container.Proxy,
// found in the registry (those whose version satisfies the name's
// constraint) and balanced, or the one instance WithInstance names. What:
// an interface of those instances, the service's own by default, another
// with Interface; Call's method completes the subject "interface.method".
//
// A proxy is cheap to make and safe for concurrent use. It does not check
// that a method exists: it sends the request, and the server's NACK (or
// the timeout) says so.
type Proxy struct {
	c       *Container
	service string   // NAME: whose instances are called
	iface   string   // the interface called: subjects are iface.method
	fixed   []string // WithInstance's endpoint: no registry lookup
	version string   // the constraint: selects the instances
	header  string   // the version header: version, for interface service only
	err     error    // why the proxy cannot call, found at Proxy
	opts    proxyOptions
	// next is the round-robin position: own's address, or the position of
	// the proxy Interface derived this one from, so they take turns together.
	next *atomic.Uint64
	own  atomic.Uint64
	// subjects maps the methods called to their subjects, "iface.method":
	// building the string was an allocation per call. Copied on write,
	// up to maxCachedSubjects methods; beyond, subjects are built per call.
	subjects atomic.Pointer[map[string]string]
}

// maxCachedSubjects bounds Proxy.subjects: a proxy called with ever new
// method names (a gateway passing them through) must not grow it forever.
const maxCachedSubjects = 64

// proxyOption is a ProxyOption made of a function.
type proxyOption func(*proxyOptions)

func (f proxyOption) applyProxy(o *proxyOptions) { f(o) }

type proxyOptions struct {
	errs       []error       // out-of-range option values: every call fails
	timeout    time.Duration // 0: the container's default
	idempotent bool
	roundRobin bool
	instance   string // WithInstance
}

// WithIdempotent declares the proxy's methods safe to run twice: a request
// whose send failed after it may have left the process is retried on
// another instance. By default only requests known not to have left are
// retried, so a server never sees a duplicate.
func WithIdempotent() ProxyOption {
	return proxyOption(func(o *proxyOptions) { o.idempotent = true })
}

// WithRoundRobin picks instances in turn instead of by load. The default
// picks two live instances at random and sends to the one with fewer calls
// outstanding (the "power of two choices"), so a slow or frozen instance
// stops getting new calls as soon as its calls pile up.
func WithRoundRobin() ProxyOption {
	return proxyOption(func(o *proxyOptions) { o.roundRobin = true })
}

// WithInstance sends the proxy's calls to the one instance at endpoint,
// tcp://host:port, without asking the registry. By default a proxy calls
// the instances the registry knows of the service. An endpoint that is not
// tcp://host:port makes every call of the proxy fail.
func WithInstance(endpoint string) ProxyOption {
	if err := checkEndpoint(endpoint); err != nil {
		err = fmt.Errorf("lymph: WithInstance: %w", err)
		return proxyOption(func(o *proxyOptions) { o.errs = append(o.errs, err) })
	}
	return proxyOption(func(o *proxyOptions) { o.instance = endpoint })
}

// Proxy returns a proxy to the interface service of the instances of
// service. service is NAME or NAME@CONSTRAINT: the instances of NAME in
// the registry, those whose version satisfies CONSTRAINT when there is one
// ("1.2" means >=1.2.0,<2.0.0), or the instance WithInstance names. The
// proxy calls interface NAME (p.Call(ctx, "upper", ...) sends the subject
// "NAME.upper"), and sends CONSTRAINT as those requests' version header:
// it is that interface's version. Interface derives a proxy to another
// interface of the same instances.
//
// A service that cannot work (empty, an endpoint, a bad constraint) or an
// option value out of its range makes every call of the proxy fail with
// an error saying why; making the proxy does not fail.
func (c *Container) Proxy(service string, opts ...ProxyOption) *Proxy {
	p := &Proxy{c: c}
	p.next = &p.own // no allocation of its own: proxies are made per call too
	for _, o := range opts {
		if o == nil {
			p.opts.errs = append(p.opts.errs, errors.New("lymph: proxy: a nil option"))
			continue
		}
		o.applyProxy(&p.opts)
	}
	name, constraint, _ := strings.Cut(service, "@")
	p.service, p.iface, p.version, p.header = name, name, constraint, constraint
	if p.opts.instance != "" {
		p.fixed = []string{p.opts.instance}
	}
	switch {
	case service == "":
		p.err = errors.New("lymph: proxy: the service name is empty")
	case strings.HasPrefix(service, "tcp://"):
		p.err = fmt.Errorf("lymph: proxy %q: an endpoint is not a service name: use c.Proxy(name, lymph.WithInstance(endpoint))", service)
	case name == "":
		p.err = fmt.Errorf("lymph: proxy %q: the service name is empty", service)
	case len(p.opts.errs) > 0:
		p.err = errors.Join(p.opts.errs...)
	}
	if p.err == nil && constraint != "" {
		if _, err := registry.ParseConstraint(constraint); err != nil {
			p.err = fmt.Errorf("lymph: proxy %q: %w", service, err)
		}
	}
	return p
}

// Interface returns a proxy to another interface of the same instances:
// the same service, constraint, instance and options, and so the same
// balancing. Its calls send the subject "name.method" and no version
// header (the constraint is the service's interface's version), unless
// name is the service's own interface:
//
//	c.Proxy("echo@1.2").Interface("lymph").Call(ctx, "status", nil, &st)
//
// asks an echo 1.x instance for lymph.status. An empty name makes every
// call fail.
func (p *Proxy) Interface(name string) *Proxy {
	q := &Proxy{c: p.c, service: p.service, iface: name, fixed: p.fixed, version: p.version,
		err: p.err, opts: p.opts, next: p.next}
	if name == p.service {
		q.header = p.version
	}
	if q.err == nil && name == "" {
		q.err = errors.New("lymph: Proxy.Interface: the interface name is empty")
	}
	return q
}

// Call calls method with args (a struct with msgpack tags, a pointer to
// one, or a map with string keys: the keyword arguments; nil for none)
// and decodes the reply into result (a pointer, or nil to discard it). It
// waits until the reply, the context's end, or the timeout: the context's
// deadline, else the proxy's timeout, else the container's (3 s by
// default). Arguments of another kind fail here, before anything is sent.
func (p *Proxy) Call(ctx context.Context, method string, args, result any) error {
	subject, err := p.prepare(method, args)
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
	if err := call.wait(ctx, p.c, id, subject); err != nil {
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
	subject, err := p.prepare(method, args)
	if err != nil {
		return failedFuture(p.iface+"."+method, err)
	}
	return p.c.deferCall(ctx, p, subject, args)
}

// Request sends one request for method and waits for the reply, lymph's
// low-level request: it returns the reply message undecoded, and for a
// NACK or an ERROR reply also ErrNack or the *RemoteError.
func (p *Proxy) Request(ctx context.Context, method string, args any) (*Message, error) {
	subject, err := p.prepare(method, args)
	if err != nil {
		return nil, err
	}
	return p.c.deferCall(ctx, p, subject, args).Message(ctx)
}

// Call is Proxy.Call with a typed result:
//
//	out, err := lymph.Call[string](ctx, echo, "upper", UpperArgs{Text: "foo"})
func Call[R any](ctx context.Context, p *Proxy, method string, args any) (R, error) {
	var out R
	err := p.Call(ctx, method, args, &out)
	return out, err
}

// prepare checks a call before anything is sent and returns its subject.
func (p *Proxy) prepare(method string, args any) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	switch {
	case method == "":
		return "", fmt.Errorf("lymph: %s: the method name is empty", p.iface)
	case strings.IndexByte(method, '.') >= 0:
		return "", fmt.Errorf("lymph: method %q: a method name has no '.'; use Proxy.Interface to call another interface", method)
	}
	subject := p.subject(method)
	if err := checkArgs(subject, args); err != nil {
		return "", err
	}
	return subject, nil
}

// subject returns "iface.method", from the cache when method was called
// before.
func (p *Proxy) subject(method string) string {
	ptr := p.subjects.Load()
	var cached map[string]string
	if ptr != nil {
		cached = *ptr
	}
	if s, ok := cached[method]; ok {
		return s
	}
	s := p.iface + "." + method
	if len(cached) < maxCachedSubjects {
		m := make(map[string]string, len(cached)+1)
		maps.Copy(m, cached)
		m[method] = s
		p.subjects.CompareAndSwap(ptr, &m) // lost to another caller: the next miss tries again
	}
	return s
}

// checkArgs rejects arguments that cannot be lymph keyword arguments, so
// that the caller learns of the mistake here rather than from a NACK.
func checkArgs(subject string, args any) error {
	switch args.(type) {
	case nil, map[string]any, codec.Raw: // codec.Raw: the CLI's pre-encoded keyword arguments
		return nil
	}
	t := reflect.TypeOf(args)
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		return nil
	}
	if t.Kind() == reflect.Struct || (t.Kind() == reflect.Map && t.Key().Kind() == reflect.String) {
		return nil
	}
	return fmt.Errorf("lymph: %s: arguments must be a struct or a map with string keys (lymph keyword arguments), not %T", subject, args)
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
	f.watch(ctx, func(err error) { c.pending.expire(id, err) })
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
	headers, body, err := codec.MarshalRequest(traceID, p.header, timeoutMillis(timeout), requestHeaders(ctx), args)
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
	pc := pendingCall{w: w, subject: subject, deadline: time.Now().Add(timeout), timeout: timeout}
	if p.fixed == nil { // a refusal can go to another instance
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
		if _, ok := c.pending.take(id); !ok {
			// Completed meanwhile (its deadline passed while Send dialed,
			// or Stop): the waiter holds the outcome.
			return id, nil
		}
		// Move on only when the request surely did not leave (or the user
		// said a duplicate is harmless).
		if !errors.Is(err, transport.ErrNotConnected) && !p.opts.idempotent {
			break
		}
		c.logger.Debug("instance unreachable, trying another", "subject", subject, "endpoint", endpoint, "error", err)
	}
	if err == nil {
		err = fmt.Errorf("%w: no reachable instance of %q", ErrNotConnected, p.service)
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
				c.pending.markSent(id) // its deadline is back on the table's clock
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
	case errors.Is(err, ErrNotConnected), errors.Is(err, ErrLookupFailure), errors.Is(err, ErrTimeout), errors.Is(err, ErrCancelled):
		return err
	case errors.Is(err, transport.ErrNotConnected):
		return fmt.Errorf("%w: %s: %v", ErrNotConnected, subject, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %v", ErrTimeout, subject, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%w: %s: %v", ErrCancelled, subject, err)
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
	if p.fixed != nil {
		return p.fixed, nil
	}
	eps, err := p.c.resolver.endpoints(ctx, p.service, p.version)
	if err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		if p.version != "" {
			return nil, fmt.Errorf("%w: no instance of %q with a version %s", ErrLookupFailure, p.service, p.version)
		}
		return nil, fmt.Errorf("%w: no instance of %q", ErrLookupFailure, p.service)
	}
	return eps, nil
}
