package lymph

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seen is what a recording interceptor saw of one request or call.
type seen struct {
	subject, peer, traceID string
	args                   any
	header                 any
	outcome                Outcome
	deferred               bool
}

type recorder struct {
	mu   sync.Mutex
	list []seen
}

func (r *recorder) add(s seen) {
	r.mu.Lock()
	r.list = append(r.list, s)
	r.mu.Unlock()
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.list...)
}

func (r *recorder) server() ServerInterceptor {
	return func(next ServerHandler) ServerHandler {
		return func(ctx context.Context, req *ServerRequest) Outcome {
			out := next(ctx, req)
			r.add(seen{subject: req.Subject, peer: req.Peer, traceID: req.TraceID, args: req.Args,
				header: req.Message.Header("x-user"), outcome: out})
			return out
		}
	}
}

func (r *recorder) client() ClientInterceptor {
	return func(next ClientHandler) ClientHandler {
		return func(ctx context.Context, call *ClientCall) error {
			err := next(ctx, call)
			r.add(seen{subject: call.Subject, peer: call.Peer, args: call.Args, outcome: ClientOutcome(err), deferred: call.Deferred})
			return err
		}
	}
}

// headerService reads the caller's extra headers.
type headerService struct{ Interface }

// Whoami returns the x-user request header.
func (*headerService) Whoami(ctx context.Context) (any, error) {
	return IncomingRequest(ctx).Header("x-user"), nil
}

func TestServerInterceptorSeesEachRequestAndItsOutcome(t *testing.T) {
	reg := memoryRegistry(t)
	rec := &recorder{}
	server := startContainer(t, reg, installTestService(&testService{}), WithInterceptors(rec.server()))
	client := startContainer(t, reg, nil)
	ctx := ContextWithHeader(ContextWithTraceID(testContext(t), "0123456789abcdef0123456789abcdef"), "x-user", "ann")
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))

	for _, tc := range []struct {
		subject string
		args    any
		want    Outcome
		wantErr error
	}{
		{"testsvc.upper", textArgs{Text: "x"}, Outcome{Kind: OutcomeOK}, nil},
		{"testsvc.fail", textArgs{Text: "no"}, Outcome{Kind: OutcomeError, ErrorType: "Nope"}, errNope},
		{"testsvc.undeclared", nil, Outcome{Kind: OutcomeNack, Reason: reasonFailed}, ErrNack},
		{"testsvc.panic", nil, Outcome{Kind: OutcomePanic, Reason: reasonFailed}, ErrNack},
	} {
		t.Run(tc.subject, func(t *testing.T) {
			before := len(rec.all())
			err := p.Call(ctx, strings.TrimPrefix(tc.subject, "testsvc."), tc.args, nil)
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.wantErr)
			}
			// The reply leaves from inside the chain: the record may follow.
			require.Eventually(t, func() bool { return len(rec.all()) == before+1 }, 5*time.Second, time.Millisecond)
			s := rec.all()[before]
			assert.Equal(t, tc.subject, s.subject)
			assert.Equal(t, client.Endpoint(), s.peer)
			assert.Equal(t, "0123456789abcdef0123456789abcdef", s.traceID)
			assert.Equal(t, "ann", s.header)
			assert.Equal(t, tc.want.Kind, s.outcome.Kind, s.outcome.Kind.String())
			assert.Equal(t, tc.want.ErrorType, s.outcome.ErrorType)
			assert.Equal(t, tc.want.Reason, s.outcome.Reason)
			if tc.want.Kind != OutcomeOK {
				assert.Error(t, s.outcome.Err)
			}
			if tc.args != nil {
				assert.Equal(t, tc.args, s.args, "the decoded call")
			}
		})
	}
	t.Run("unknown methods are refused before the chain", func(t *testing.T) {
		before := len(rec.all())
		require.ErrorIs(t, p.Call(ctx, "no_such", nil, nil), ErrNack)
		assert.Len(t, rec.all(), before)
	})
}

// An interceptor that does not call next answers in the method's place:
// what auth needs.
func TestServerInterceptorCanRefuse(t *testing.T) {
	errDenied := NewErrorType("PermissionDenied")
	auth := ServerInterceptor(func(next ServerHandler) ServerHandler {
		return func(ctx context.Context, req *ServerRequest) Outcome {
			switch req.Message.Header("x-token") {
			case "s3cret":
				return next(ctx, req)
			case nil:
				return Outcome{Kind: OutcomeNack, Reason: "unauthenticated"}
			}
			return Outcome{Kind: OutcomeError, ErrorType: errDenied.Name(), Err: errors.New("bad token")}
		}
	})
	reg := memoryRegistry(t)
	svc := &testService{}
	server := startContainer(t, reg, installTestService(svc), WithInterceptors(auth))
	client := startContainer(t, reg, nil)
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))
	ctx := testContext(t)

	err := p.Call(ctx, "upper", textArgs{Text: "x"}, nil)
	require.ErrorIs(t, err, ErrNack)
	assert.ErrorContains(t, err, "unauthenticated")

	err = p.Call(ContextWithHeader(ctx, "x-token", "guess"), "upper", textArgs{Text: "x"}, nil)
	require.ErrorIs(t, err, errDenied)
	assert.ErrorContains(t, err, "bad token")

	out, err := Call[string](ContextWithHeader(ctx, "x-token", "s3cret"), p, "upper", textArgs{Text: "x"})
	require.NoError(t, err)
	assert.Equal(t, "X", out)
}

func TestClientInterceptorWrapsCallsAndFutures(t *testing.T) {
	reg := memoryRegistry(t)
	svc := &testService{release: make(chan struct{})}
	server := startContainer(t, reg, func(c *Container) {
		installTestService(svc)(c)
		require.NoError(t, c.Install(&headerService{}, WithName("headers")))
	})
	t.Cleanup(func() { close(svc.release) }) // before the server stops, should the test fail early
	rec := &recorder{}
	// An interceptor that adds a header to every call, as a tracer does.
	tag := ClientInterceptor(func(next ClientHandler) ClientHandler {
		return func(ctx context.Context, call *ClientCall) error {
			return next(ContextWithHeader(ctx, "x-user", "from-interceptor"), call)
		}
	})
	client := startContainer(t, reg, nil, WithInterceptors(rec.client(), tag))
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	out, err := Call[string](ctx, p, "upper", textArgs{Text: "a"})
	require.NoError(t, err)
	assert.Equal(t, "A", out)

	f := p.Defer(ctx, "block", nil)
	assert.Len(t, rec.all(), 1, "a Future is reported when it completes, not when it is sent")
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond,
		"Defer returned after the request was sent")
	svc.release <- struct{}{}
	require.NoError(t, f.Get(ctx, &out))
	assert.Equal(t, "released", out)

	_, err = client.Proxy("testsvc").Request(ctx, "fail", textArgs{Text: "no"})
	require.ErrorIs(t, err, errNope)

	who, err := Call[string](ctx, client.Proxy("headers"), "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "from-interceptor", who, "headers set by an interceptor reach the method")

	require.Eventually(t, func() bool { return len(rec.all()) == 4 }, 5*time.Second, time.Millisecond)
	got := rec.all()
	assert.Equal(t, seen{subject: "testsvc.upper", peer: server.Endpoint(), args: textArgs{Text: "a"}, outcome: Outcome{}}, got[0])
	assert.Equal(t, "testsvc.block", got[1].subject)
	assert.True(t, got[1].deferred)
	assert.Equal(t, OutcomeOK, got[1].outcome.Kind)
	assert.Equal(t, server.Endpoint(), got[1].peer)
	assert.Equal(t, "testsvc.fail", got[2].subject)
	assert.Equal(t, OutcomeError, got[2].outcome.Kind)
	assert.Equal(t, "Nope", got[2].outcome.ErrorType)
	assert.True(t, got[2].deferred, "Request runs as a deferred call")
}

// An interceptor's error replaces the call's, on both paths.
func TestClientInterceptorCanFailCalls(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(&testService{}))
	errBlocked := errors.New("blocked by policy")
	block := ClientInterceptor(func(next ClientHandler) ClientHandler {
		return func(ctx context.Context, call *ClientCall) error {
			if call.Subject == "testsvc.panic" {
				return errBlocked
			}
			return next(ctx, call)
		}
	})
	client := startContainer(t, reg, nil, WithInterceptors(block))
	ctx := testContext(t)
	p := client.Proxy("testsvc")
	assert.ErrorIs(t, p.Call(ctx, "panic", nil, nil), errBlocked)
	assert.ErrorIs(t, p.Defer(ctx, "panic", nil).Get(ctx, nil), errBlocked)
	var out string
	require.NoError(t, p.Defer(ctx, "upper", textArgs{Text: "b"}).Get(ctx, &out))
	assert.Equal(t, "B", out)
}

func TestMethodsReadRequestHeaders(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&headerService{}, WithName("headers"))) })
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("headers")

	who, err := Call[any](ctx, p, "whoami", nil)
	require.NoError(t, err)
	assert.Nil(t, who)
	who, err = Call[any](ContextWithHeader(ctx, "x-user", "bob"), p, "whoami", nil)
	require.NoError(t, err)
	assert.Equal(t, "bob", who)
	assert.Nil(t, IncomingRequest(ctx), "outside a method there is no request")
}

func TestClientOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want OutcomeKind
	}{
		{nil, OutcomeOK},
		{&nackError{subject: "a.b", reason: "overloaded"}, OutcomeNack},
		{errNope.New("x"), OutcomeError},
		{noReplyError("a.b", time.Second), OutcomeTimeout},
		{ErrNotConnected, OutcomeFailed},
	} {
		assert.Equal(t, tc.want, ClientOutcome(tc.err).Kind, "%v", tc.err)
	}
	assert.Equal(t, "overloaded", ClientOutcome(&nackError{reason: "overloaded"}).Reason)
	assert.Equal(t, "timeout", OutcomeTimeout.String())
}
