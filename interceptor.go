package lymph

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// Interceptor wraps the container's request handling, its calls, or both,
// in the style of connect-go's Interceptor and gRPC's unary interceptors:
// auth, logging, metrics and tracing without forking. Install interceptors
// with WithInterceptors. ServerInterceptor and ClientInterceptor are
// Interceptors that wrap one side only.
type Interceptor interface {
	// WrapServer wraps the handling of every request dispatched to an
	// installed method.
	WrapServer(next ServerHandler) ServerHandler
	// WrapClient wraps every call the container's proxies make.
	WrapClient(next ClientHandler) ClientHandler
}

// WithInterceptors installs interceptors on the container. The first is
// the outermost: it sees a request (or a call) first and its outcome last.
// Without interceptors (the default) the request and call paths do none
// of this work. Passing it more than once appends. A nil interceptor is an
// error.
func WithInterceptors(interceptors ...Interceptor) ContainerOption {
	for i, ic := range interceptors {
		if ic == nil {
			return badContainerOption("WithInterceptors: interceptor %d is nil", i)
		}
	}
	return containerOption(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}

// ServerHandler handles one request and reports how it ended. An
// interceptor that does not call next refuses the request: the container
// answers as the Outcome it returns says (OutcomeError: an ERROR reply of
// ErrorType with Err's text; anything else: a NACK with its Reason).
type ServerHandler func(ctx context.Context, req *ServerRequest) Outcome

// ServerInterceptor wraps request handling only.
type ServerInterceptor func(next ServerHandler) ServerHandler

// WrapServer returns f(next).
func (f ServerInterceptor) WrapServer(next ServerHandler) ServerHandler { return f(next) }

// WrapClient returns next: a ServerInterceptor leaves calls alone.
func (f ServerInterceptor) WrapClient(next ClientHandler) ClientHandler { return next }

// ClientHandler makes one call and returns its error: nil, ErrNack, a
// *RemoteError, ErrTimeout and so on, as Proxy.Call does.
type ClientHandler func(ctx context.Context, call *ClientCall) error

// ClientInterceptor wraps calls only.
type ClientInterceptor func(next ClientHandler) ClientHandler

// WrapServer returns next: a ClientInterceptor leaves requests alone.
func (f ClientInterceptor) WrapServer(next ServerHandler) ServerHandler { return next }

// WrapClient returns f(next).
func (f ClientInterceptor) WrapClient(next ClientHandler) ClientHandler { return f(next) }

// ServerRequest is a request an interceptor sees: it has been dispatched
// to an installed method and its arguments are decoded.
type ServerRequest struct {
	// Subject is "interface.method".
	Subject string
	// Peer is the caller's endpoint, tcp://host:port.
	Peer string
	// TraceID is the request's trace id (a new one if it came without).
	TraceID string
	// Message is the request as it travelled; Message.Headers() has every
	// header, the caller's own included.
	Message *Message
	// Args is the decoded call: the method's argument value (a struct or
	// map), or nil for a method without arguments.
	Args any

	// for the innermost handler
	inst   *installed
	method *method
	args   []reflect.Value
	served bool
}

// OutcomeKind is how a request or a call ended.
type OutcomeKind uint8

// The kinds of outcome. A server sees OK, Error, Nack and Panic; a caller
// sees OK, Error, Nack, Timeout and Failed.
const (
	OutcomeOK      OutcomeKind = iota // a reply or an ACK
	OutcomeError                      // a declared error: an ERROR reply
	OutcomeNack                       // refused (Outcome.Reason says why when known)
	OutcomePanic                      // the method panicked; the caller got a NACK
	OutcomeTimeout                    // no reply before the deadline
	OutcomeFailed                     // not sent, connection lost, container stopped
)

var outcomeNames = [...]string{"ok", "error", "nack", "panic", "timeout", "failed"}

// String returns the kind's name: ok, error, nack, panic, timeout, failed;
// fit for a metric label.
func (k OutcomeKind) String() string {
	if int(k) < len(outcomeNames) {
		return outcomeNames[k]
	}
	return "unknown"
}

// Outcome is how a request or a call ended.
type Outcome struct {
	Kind OutcomeKind
	// ErrorType is the declared error's wire type, for OutcomeError.
	ErrorType string
	// Reason is a NACK's reason, for OutcomeNack and OutcomePanic.
	Reason string
	// Err is the method's error or panic value (server), or the call's
	// error (client); nil for OutcomeOK.
	Err error
}

// ClientOutcome classifies a call's error as an Outcome.
func ClientOutcome(err error) Outcome {
	if err == nil {
		return Outcome{}
	}
	var nack *nackError
	var remote *RemoteError
	switch {
	case errors.As(err, &nack):
		return Outcome{Kind: OutcomeNack, Reason: nack.reason, Err: err}
	case errors.Is(err, ErrNack):
		return Outcome{Kind: OutcomeNack, Err: err}
	case errors.As(err, &remote):
		return Outcome{Kind: OutcomeError, ErrorType: remote.Type, Err: err}
	case errors.Is(err, ErrTimeout):
		return Outcome{Kind: OutcomeTimeout, Err: err}
	}
	return Outcome{Kind: OutcomeFailed, Err: err}
}

// ClientCall is a call a client interceptor sees.
type ClientCall struct {
	// Subject is "interface.method".
	Subject string
	// Args are the call's keyword arguments, as given to the proxy.
	Args any
	// Deferred is true for Proxy.Defer and Proxy.Request: the chain
	// then runs on a goroutine of its own until the call completes, so an
	// interceptor sees the outcome when the Future does.
	Deferred bool
	// Peer is the endpoint that answered, once next returned; "" when no
	// reply came.
	Peer string

	proxy  *Proxy
	result any // Call's result pointer

	// Deferred calls: the inner Future, and sentOnce to release Defer once
	// the request is on its way.
	inner    *Future
	innerErr error
	sent     chan struct{}
	sentOnce sync.Once
}

func (cc *ClientCall) signalSent() { cc.sentOnce.Do(func() { close(cc.sent) }) }

// buildChains composes the configured interceptors around the container's
// own handlers, once.
func (c *Container) buildChains() {
	if len(c.cfg.interceptors) == 0 {
		return
	}
	server := ServerHandler(c.serveIntercepted)
	client := ClientHandler(c.callIntercepted)
	for i := len(c.cfg.interceptors) - 1; i >= 0; i-- {
		server = c.cfg.interceptors[i].WrapServer(server)
		client = c.cfg.interceptors[i].WrapClient(client)
	}
	c.serverChain, c.clientChain = server, client
}

// callIntercepted is the innermost client handler: the call itself.
func (c *Container) callIntercepted(ctx context.Context, cc *ClientCall) error {
	if !cc.Deferred {
		return cc.proxy.call(ctx, cc.Subject, cc.Args, cc.result, cc)
	}
	f := c.deferDirect(ctx, cc.proxy, cc.Subject, cc.Args)
	cc.inner = f
	cc.signalSent()
	<-f.done // every Future ends by its deadline
	cc.Peer = f.reply.Source
	if f.err != nil {
		cc.innerErr = f.err
	} else {
		cc.innerErr = replyError(cc.Subject, &f.reply)
	}
	return cc.innerErr
}

// deferIntercepted runs a deferred call through the client chain on a
// goroutine and returns once the request has been sent (or the chain gave
// up), as Defer without interceptors does.
func (c *Container) deferIntercepted(ctx context.Context, p *Proxy, subject string, args any) *Future {
	outer := newFuture(subject)
	cc := &ClientCall{Subject: subject, Args: args, Deferred: true, proxy: p, sent: make(chan struct{})}
	go func() {
		err := c.clientChain(ctx, cc)
		cc.signalSent()
		switch {
		case cc.inner != nil && (err == nil || err == cc.innerErr):
			outer.completeFrom(cc.inner)
		case err != nil:
			outer.complete(transport.Incoming{}, err)
		default: // the chain answered without a call: an acknowledgement
			outer.completeAck()
		}
	}()
	<-cc.sent
	return outer
}

// intercept runs a dispatched request through the server chain.
func (c *Container) intercept(ctx context.Context, inst *installed, m *method, req *Message, args []reflect.Value) {
	sr := &ServerRequest{Subject: req.Subject, Peer: req.Source, TraceID: req.TraceID(), Message: req,
		inst: inst, method: m, args: args}
	if len(args) > argKw {
		sr.Args = args[argKw].Interface()
	}
	out := c.serverChain(ctx, sr)
	if sr.served {
		return
	}
	// An interceptor answered in the method's place.
	if out.Kind == OutcomeError && out.ErrorType != "" {
		message := ""
		if out.Err != nil {
			message = out.Err.Error()
		}
		body, _ := codec.Marshal(errorBody{Type: out.ErrorType, Message: message})
		c.metrics.count(req.Subject, metricError)
		c.sendReply(req, TypeError, inst.version, nil, body)
		return
	}
	reason := out.Reason
	if reason == "" {
		reason = reasonIntercepted
	}
	c.nack(req, reason)
}

// reasonIntercepted is the NACK reason of a request an interceptor refused
// without giving one.
const reasonIntercepted = "refused by an interceptor"

// serveIntercepted is the innermost server handler: the method itself,
// with the context the interceptors built.
func (c *Container) serveIntercepted(ctx context.Context, sr *ServerRequest) Outcome {
	if sr.served {
		return Outcome{Kind: OutcomeNack, Reason: reasonIntercepted, Err: errors.New("lymph: an interceptor called next twice")}
	}
	sr.served = true
	if sr.method.kind == kindRaw {
		return c.runRaw(ctx, sr.inst, sr.method, sr.Message, sr.args)
	}
	sr.args[argCtx] = reflect.ValueOf(ctx)
	return c.runRPC(ctx, sr.inst, sr.method, sr.Message, sr.args)
}
