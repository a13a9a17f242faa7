package lymph

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The API shape of issue #11: where a call goes (Proxy's service, its
// constraint, WithInstance) apart from what it calls (Interface, the
// method), one zero rule for options, and the checks made before anything
// is sent.

// versionSeen answers with the version header its request arrived with.
type versionSeen struct{ Interface }

// Seen returns the request's version header, and whether it had one.
func (*versionSeen) Seen(ctx context.Context) (map[string]any, error) {
	v, ok := IncomingRequest(ctx).Headers()["version"]
	return map[string]any{"version": v, "present": ok && v != nil}, nil
}

// startVersioned starts a server with "vsvc" 1.2.0 and the unversioned
// "other", both answering Seen.
func startVersioned(t *testing.T) (server, client *Container) {
	reg := memoryRegistry(t)
	server = startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&versionSeen{}, WithName("vsvc@1.2.0")))
		require.NoError(t, c.Install(&versionSeen{}, WithName("other")))
	})
	return server, startContainer(t, reg, nil)
}

func TestVersionHeaderOnlyForTheServicesOwnInterface(t *testing.T) {
	server, client := startVersioned(t)
	ctx := testContext(t)
	seen := func(p *Proxy) map[string]any {
		t.Helper()
		out, err := Call[map[string]any](ctx, p, "seen", nil)
		require.NoError(t, err)
		return out
	}
	vsvc := client.Proxy("vsvc@1.2")

	assert.Equal(t, map[string]any{"version": "1.2", "present": true}, seen(vsvc),
		"the constraint is the service's interface's version: it travels")
	assert.Equal(t, map[string]any{"version": "1.2", "present": true}, seen(vsvc.Interface("vsvc")),
		"Interface of the service's own name is the same interface")
	assert.Equal(t, map[string]any{"version": nil, "present": false}, seen(vsvc.Interface("other")),
		"another interface of the instances gets no version header")
	assert.Equal(t, map[string]any{"version": nil, "present": false}, seen(client.Proxy("vsvc")),
		"no constraint, no header")
	assert.Equal(t, map[string]any{"version": "1.2", "present": true},
		seen(client.Proxy("vsvc@1.2", WithInstance(server.Endpoint()))), "WithInstance keeps the header")
	assert.Equal(t, map[string]any{"version": nil, "present": false},
		seen(client.Proxy("vsvc@1.2", WithInstance(server.Endpoint())).Interface("other")))
}

func TestInterfaceReachesTheBuiltinOfAVersionedInstance(t *testing.T) {
	server, client := startVersioned(t)
	ctx := testContext(t)

	var st map[string]string
	require.NoError(t, client.Proxy("vsvc@1.2").Interface("lymph").Call(ctx, "status", nil, &st))
	assert.Equal(t, server.Endpoint(), st["endpoint"])

	// What the old model did: send vsvc's version to lymph, whose own
	// version (0.x) does not satisfy it.
	_, err := client.Proxy("lymph@1.2", WithInstance(server.Endpoint())).Request(ctx, "status", nil)
	assert.ErrorIs(t, err, ErrNack)

	// The constraint still selects the instances.
	err = client.Proxy("vsvc@2").Interface("lymph").Call(ctx, "status", nil, &st)
	assert.ErrorIs(t, err, ErrLookupFailure)
}

func TestWithInstance(t *testing.T) {
	reg := memoryRegistry(t)
	var servers []*Container
	for range 2 {
		servers = append(servers, startContainer(t, reg, installTestService(&testService{})))
	}
	ctx := testContext(t)

	// The client's registry knows nothing: WithInstance needs no lookup.
	client := startContainer(t, memoryRegistry(t), nil)
	require.ErrorIs(t, client.Proxy("testsvc").Call(ctx, "upper", textArgs{Text: "x"}, nil), ErrLookupFailure)
	for _, server := range servers {
		p := client.Proxy("testsvc", WithInstance(server.Endpoint()))
		for range 5 {
			msg, err := p.Request(ctx, "upper", textArgs{Text: "x"})
			require.NoError(t, err)
			assert.Equal(t, server.Endpoint(), msg.Source, "always the named instance")
		}
	}

	// A dead instance is not replaced by another: it was asked for.
	err := client.Proxy("testsvc", WithInstance(deadEndpoint(t))).Call(ctx, "upper", textArgs{Text: "x"}, nil)
	assert.ErrorIs(t, err, ErrNotConnected)
}

func TestProxyMistakesFailEveryCall(t *testing.T) {
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	for _, tc := range []struct {
		name string
		p    *Proxy
		want string
	}{
		{"empty", client.Proxy(""), "lymph: proxy: the service name is empty"},
		{"only a version", client.Proxy("@1.2"), `lymph: proxy "@1.2": the service name is empty`},
		{"an endpoint", client.Proxy("tcp://127.0.0.1:4000"),
			`lymph: proxy "tcp://127.0.0.1:4000": an endpoint is not a service name: use c.Proxy(name, lymph.WithInstance(endpoint))`},
		{"bad constraint", client.Proxy("kv@x.y"), `lymph: proxy "kv@x.y": registry: bad version constraint "x.y"`},
		{"zero timeout", client.Proxy("kv", WithTimeout(0)), "lymph: WithTimeout(0s): a timeout must be positive"},
		{"negative timeout", client.Proxy("kv", WithTimeout(-time.Second)), "lymph: WithTimeout(-1s): a timeout must be positive"},
		{"bad instance", client.Proxy("kv", WithInstance("10.0.0.1:4000")), `lymph: WithInstance: endpoint "10.0.0.1:4000": want tcp://host:port`},
		{"nil option", client.Proxy("kv", nil), "lymph: proxy: a nil option"},
		{"empty interface", client.Proxy("kv").Interface(""), "lymph: Proxy.Interface: the interface name is empty"},
		{"carried by Interface", client.Proxy("kv@x.y").Interface("lymph"), `lymph: proxy "kv@x.y": registry: bad version constraint`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, tc.p.Call(ctx, "get", nil, nil), tc.want)
			_, err := tc.p.Request(ctx, "get", nil)
			assert.ErrorContains(t, err, tc.want)
			assert.ErrorContains(t, tc.p.Defer(ctx, "get", nil).Get(ctx, nil), tc.want)
			_, err = Defer[string](ctx, tc.p, "get", nil).Get(ctx)
			assert.ErrorContains(t, err, tc.want)
		})
	}

	t.Run("a method name has no dot", func(t *testing.T) {
		want := `lymph: method "lymph.status": a method name has no '.'; use Proxy.Interface to call another interface`
		p := client.Proxy("kv")
		assert.EqualError(t, p.Call(ctx, "lymph.status", nil, nil), want)
		_, err := p.Request(ctx, "lymph.status", nil)
		assert.EqualError(t, err, want)
		assert.EqualError(t, p.Defer(ctx, "lymph.status", nil).Get(ctx, nil), want)
		assert.EqualError(t, p.Call(ctx, "", nil, nil), "lymph: kv: the method name is empty")
	})
	t.Run("arguments are checked before sending", func(t *testing.T) {
		// No instance of kv exists: the check comes first.
		want := "lymph: kv.get: arguments must be a struct or a map with string keys (lymph keyword arguments), not []string"
		p := client.Proxy("kv")
		assert.EqualError(t, p.Call(ctx, "get", []string{"a"}, nil), want)
		_, err := p.Request(ctx, "get", []string{"a"})
		assert.EqualError(t, err, want)
		assert.EqualError(t, p.Defer(ctx, "get", []string{"a"}).Get(ctx, nil), want)
		for _, ok := range []any{nil, map[string]any{}, map[string]int{}, textArgs{}, &textArgs{}} {
			assert.ErrorIs(t, p.Call(ctx, "get", ok, nil), ErrLookupFailure, "%T gets as far as the lookup", ok)
		}
	})
}

func TestContainerOptionsOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		opt  ContainerOption
		want string
	}{
		{WithTimeout(0), "lymph: WithTimeout(0s): a timeout must be positive"},
		{WithMaxMessageSize(0), "lymph: WithMaxMessageSize(0): the size must be positive"},
		{WithMaxMessageSize(-1), "lymph: WithMaxMessageSize(-1): the size must be positive"},
		{WithSendQueue(0), "lymph: WithSendQueue(0): the queue must be positive"},
		{WithBusyPoll(-time.Millisecond), "lymph: WithBusyPoll(-1ms): the duration cannot be negative (0 is off)"},
		{WithStopGrace(-time.Second), "lymph: WithStopGrace(-1s): the grace cannot be negative (0 is none)"},
		{WithMaxInFlight(0), "lymph: WithMaxInFlight(0): the limit must be positive"},
		{WithName(""), `lymph: WithName(""): the name is empty`},
		{WithName("echo@1.0.0"), `lymph: WithName("echo@1.0.0"): a container's name has no version`},
		{WithEndpoint("garbage"), `lymph: WithEndpoint: endpoint "garbage": want tcp://host:port`},
		{WithEndpoint("tcp://127.0.0.1:http"), `lymph: WithEndpoint: endpoint "tcp://127.0.0.1:http": the port "http" is not a number`},
		{WithEndpoint("tcp://127.0.0.1"), `lymph: WithEndpoint: endpoint "tcp://127.0.0.1": want tcp://host:port`},
		{WithLogEndpoint(""), `lymph: WithLogEndpoint: endpoint "": want tcp://host:port`},
		{WithRegistryURL(""), "lymph: WithRegistryURL: the URL is empty"},
		{WithRegistryURL("bogus"), `lymph: WithRegistryURL: registry: "bogus" is not a registry URL`},
		{WithRegistryURL("etcd://x"), `lymph: WithRegistryURL: registry: unknown registry scheme "etcd"`},
		{WithRegistry(nil), "lymph: WithRegistry: the registry is nil"},
		{WithLogger(nil), "lymph: WithLogger: the logger is nil"},
		{WithPlainLogin("", "pw"), "lymph: WithPlainLogin: the username is empty"},
		{WithPlainUsers(nil), "lymph: WithPlainUsers: no users"},
		{WithEvents(""), "lymph: WithEvents: the URL is empty"},
		{WithEventBus(nil), "lymph: WithEventBus: the bus is nil"},
		{WithErrorHook(nil), "lymph: WithErrorHook: the hook is nil"},
		{WithConfig(nil), "lymph: WithConfig: the configuration is nil"},
		{WithInterceptors(Interceptor(nil)), "lymph: WithInterceptors: interceptor 0 is nil"},
		{WithHealth(Health{PingInterval: -time.Second}), "lymph: WithHealth: PingInterval is -1s"},
		{nil, "lymph: NewContainer: a nil option"},
	} {
		c, err := NewContainer(tc.opt)
		assert.Nil(t, c)
		assert.ErrorContains(t, err, tc.want)
	}

	// Every mistake is reported, not the first only.
	_, err := NewContainer(WithSendQueue(0), WithTimeout(-1))
	assert.ErrorContains(t, err, "WithSendQueue(0)")
	assert.ErrorContains(t, err, "WithTimeout(-1ns)")

	// Zero is in range where it means something.
	c, err := NewContainer(WithBusyPoll(0), WithStopGrace(0), WithLogger(quietLogger()))
	require.NoError(t, err)
	assert.Zero(t, c.cfg.busyPoll)
	assert.Zero(t, c.cfg.stopGrace, "WithStopGrace(0) is no grace, not the default")
	c, err = NewContainer(WithLogger(quietLogger()))
	require.NoError(t, err)
	assert.Equal(t, DefaultStopGrace, c.cfg.stopGrace, "an option not passed leaves the default")
	assert.Equal(t, DefaultTimeout, c.cfg.timeout)
}

// handlerService has an RPC method and an event handler.
type handlerService struct{ Interface }

func (*handlerService) Get(ctx context.Context) (string, error) { return "got", nil }

func (*handlerService) Helper() string { return "not an RPC method" }

func (*handlerService) OnEvent(ctx context.Context, ev *Event) error { return nil }

func TestInstallOptionsNamingUnknownMethods(t *testing.T) {
	c, err := NewContainer(WithLogger(quietLogger()), WithName("h"), memoryEvents())
	require.NoError(t, err)
	for _, tc := range []struct {
		opt  InstallOption
		want string
	}{
		{WithDoc("Nope", "help"), `WithDoc("Nope"): it names no method the service serves`},
		{WithDoc("Helper", "help"), `WithDoc("Helper"): it names no method the service serves`},
		{WithoutMethods("Nope"), `WithoutMethods("Nope"): the service has no exported method of that name`},
		{WithRaises("Nope", errNope), `WithRaises("Nope"): it names no method the service serves`},
		{WithMethodMaxInFlight("Nope", 1), `WithMethodMaxInFlight("Nope"): it names no method the service serves`},
		{WithHandler("Nope", "a.b"), `no exported method "Nope" to handle events`},
		{WithTask("Nope", EventOptions{}), `no exported method "Nope" to handle events`},
	} {
		err := c.Install(&handlerService{}, WithoutMethods("Helper"), WithHandler("OnEvent", "a.b"), tc.opt)
		assert.ErrorContains(t, err, tc.want)
		assert.ErrorContains(t, err, "lymph: cannot install *lymph.handlerService")
	}
	for _, tc := range []struct {
		opt  InstallOption
		want string
	}{
		{WithMethodMaxInFlight("Get", 0), `WithMethodMaxInFlight("Get", 0): the limit must be positive`},
		{WithName(""), `WithName(""): the name is empty`},
		{WithVersion("x.y"), `version "x.y"`},
		{nil, "a nil option"},
	} {
		err := c.Install(&handlerService{}, WithoutMethods("Helper"), WithHandler("OnEvent", "a.b"), tc.opt)
		assert.ErrorContains(t, err, tc.want)
	}
	require.NoError(t, c.Install(&handlerService{}, WithoutMethods("Helper"), WithHandler("OnEvent", "a.b"),
		WithDoc("Get", "Get gets."), WithMethodMaxInFlight("Get", 1)))
	assert.Error(t, c.Install(&handlerService{}), "Helper does not fit: WithoutMethods is needed")
	require.NoError(t, c.Stop(context.Background()))
}

func TestCancelledCallIsErrCancelled(t *testing.T) {
	svc := &testService{release: make(chan struct{})}
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(svc))
	t.Cleanup(func() { close(svc.release) })
	client := startContainer(t, reg, nil)
	p := client.Proxy("testsvc")

	check := func(t *testing.T, err error) {
		t.Helper()
		require.ErrorIs(t, err, ErrCancelled)
		assert.ErrorIs(t, err, context.Canceled, "it matches context.Canceled too")
		assert.NotErrorIs(t, err, ErrTimeout)
		assert.ErrorContains(t, err, "lymph: call cancelled")
		assert.Equal(t, OutcomeFailed, ClientOutcome(err).Kind)
	}
	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		errs := make(chan error, 1)
		go func() { errs <- p.Call(ctx, "block", nil, nil) }()
		f := p.Defer(ctx, "block", nil)
		cancel()
		check(t, <-errs)
		check(t, f.Get(testContext(t), nil))
	})
	t.Run("cancelled before sending", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		check(t, p.Call(ctx, "upper", textArgs{Text: "x"}, nil))
		_, err := p.Request(ctx, "upper", textArgs{Text: "x"})
		check(t, err)
	})
	t.Run("waiting for a future cancelled", func(t *testing.T) {
		f := Defer[string](testContext(t), p, "block", nil)
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		_, err := f.Get(ctx)
		check(t, err)
	})
}

func TestTypedDefer(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	f := Defer[string](ctx, p, "upper", textArgs{Text: "typed"})
	<-f.Done()
	out, err := f.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, "TYPED", out)
	msg, err := f.Message(ctx)
	require.NoError(t, err)
	assert.Equal(t, TypeReply, msg.Type)

	// A declared error, and a value of the wrong type.
	_, err = Defer[string](ctx, p, "fail", textArgs{Text: "no"}).Get(ctx)
	assert.ErrorIs(t, err, errNope)
	n, err := Defer[int](ctx, p, "upper", textArgs{Text: "x"}).Get(ctx)
	assert.ErrorContains(t, err, "decoding the reply")
	assert.Zero(t, n, "no partial value on an error")

	// Several in flight at once, read in any order.
	var fs []*TypedFuture[string]
	for i := range 5 {
		fs = append(fs, Defer[string](ctx, p, "upper", textArgs{Text: fmt.Sprint("x", i)}))
	}
	for i := len(fs) - 1; i >= 0; i-- {
		out, err := fs[i].Get(ctx)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint("X", i), out)
	}
}

// replyOrNot acknowledges unless it replied, as a handler with several
// paths does.
type replyOrNot struct{ Interface }

type replyArgs struct {
	Reply bool `msgpack:"reply"`
}

func (*replyOrNot) Maybe(ch *ReplyChannel, args replyArgs) {
	if args.Reply {
		_ = ch.Reply("replied")
	}
	if err := ch.AckUnlessReplied(); err != nil {
		panic(err)
	}
	if err := ch.NackUnlessReplied(); err != nil {
		panic(err)
	}
	if !errors.Is(ch.Ack(), ErrReplySent) || !errors.Is(ch.Nack(), ErrReplySent) {
		panic("a second reply was not refused")
	}
}

func TestAckUnlessReplied(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&replyOrNot{}, WithName("maybe"))) })
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("maybe")

	msg, err := p.Request(ctx, "maybe", replyArgs{Reply: false})
	require.NoError(t, err)
	assert.Equal(t, TypeAck, msg.Type, "no reply yet: the ACK goes")

	msg, err = p.Request(ctx, "maybe", replyArgs{Reply: true})
	require.NoError(t, err)
	assert.Equal(t, TypeReply, msg.Type, "the reply stays the only one")
	var out string
	require.NoError(t, msg.Decode(&out))
	assert.Equal(t, "replied", out)
}
