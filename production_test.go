package lymph

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// These tests are the production-paths issue's points, each over real
// sockets. Each one failed before the lifecycle and health redesign.

// A rolling graceful restart fails no call: the stopping instance leaves
// the registry first and serves while callers notice, and a request that
// still reaches it while it drains is refused with "stopping" and sent to
// another instance.
func TestRollingStopFailsNoCall(t *testing.T) {
	reg := memoryRegistry(t)
	svc := func(c *Container) { installTestService(&testService{})(c) }
	startContainer(t, reg, svc)
	stopping, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithStopGrace(100*time.Millisecond))
	require.NoError(t, err)
	svc(stopping)
	require.NoError(t, stopping.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	var calls, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				token := strconv.Itoa(i)
				out, err := Call[string](ctx, p, "upper", textArgs{Text: "t" + token})
				calls.Add(1)
				if err != nil || out != "T"+token {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, errors.Join(err, errors.New("reply "+out)))
				}
			}
		}()
	}
	require.Eventually(t, func() bool { return calls.Load() > 200 }, 5*time.Second, time.Millisecond)
	require.NoError(t, stopping.Stop(ctx))
	before := calls.Load()
	require.Eventually(t, func() bool { return calls.Load() > before+200 }, 5*time.Second, time.Millisecond)
	close(done)
	wg.Wait()
	assert.Zero(t, failed.Load(), "of %d calls; first failure: %v", calls.Load(), firstErr.Load())
}

// A request that reaches a draining instance is refused with "stopping",
// and a call by name goes to another instance. The client's registry still
// lists the draining one here, as a slow watch would.
func TestCallRefusedByStoppingInstanceGoesElsewhere(t *testing.T) {
	svc := &testService{release: make(chan struct{})}
	draining := startContainer(t, memoryRegistry(t), installTestService(svc), WithStopGrace(0))
	alive := startContainer(t, memoryRegistry(t), installTestService(&testService{}))
	clientReg := memoryRegistry(t)
	ctx := testContext(t)
	for _, c := range []*Container{draining, alive} {
		inst, err := registry.NewInstance("testsvc", c.Endpoint(), "")
		require.NoError(t, err)
		require.NoError(t, clientReg.Register(ctx, inst))
	}
	client := startContainer(t, clientReg, nil)

	// A request in flight keeps the instance draining.
	blocked := client.Proxy("testsvc", WithInstance(draining.Endpoint())).Defer(ctx, "block", nil)
	require.Eventually(t, func() bool { return draining.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- draining.Stop(ctx) }()
	require.Eventually(t, func() bool { return draining.currentPhase() == phaseDraining }, 5*time.Second, time.Millisecond)

	p := client.Proxy("testsvc", WithRoundRobin()) // by load, the busy draining instance would never be picked
	for i := range 40 {
		out, err := Call[string](ctx, p, "upper", textArgs{Text: "x" + strconv.Itoa(i)})
		require.NoError(t, err)
		assert.Equal(t, "X"+strconv.Itoa(i), out)
	}
	assert.Positive(t, draining.metrics.nacks("testsvc.upper"), "some calls reached the draining instance and were sent on")
	svc.release <- struct{}{}
	require.NoError(t, blocked.Get(ctx, nil))
	require.NoError(t, <-stopped)
}

// While a container drains, the requests it is still serving can call
// other services: their calls are part of finishing the work.
func TestDrainingRequestsCanStillCall(t *testing.T) {
	reg := memoryRegistry(t)
	downstream := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&testService{}, WithName("downstream")))
	})
	gate := make(chan struct{})
	relay := &relayService{release: gate, to: downstream.Endpoint()}
	server, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithStopGrace(0))
	require.NoError(t, err)
	require.NoError(t, server.Install(relay, WithName("relay")))
	require.NoError(t, server.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)

	f := client.Proxy("relay", WithInstance(server.Endpoint())).Defer(ctx, "relay", nil)
	require.Eventually(t, func() bool { return server.metrics.requests("relay.relay") == 1 }, 5*time.Second, time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- server.Stop(ctx) }()
	require.Eventually(t, func() bool { return server.currentPhase() == phaseDraining }, 5*time.Second, time.Millisecond)
	close(gate)
	var out string
	require.NoError(t, f.Get(ctx, &out))
	assert.Equal(t, "VIA", out)
	require.NoError(t, <-stopped)
}

type relayService struct {
	Interface
	release chan struct{}
	to      string
}

// Relay waits for the test, then calls downstream.
func (s *relayService) Relay(ctx context.Context) (string, error) {
	<-s.release
	return Call[string](ctx, s.Proxy("downstream", WithInstance(s.to)), "upper", textArgs{Text: "via"})
}

// A call waiting on an instance that dies (kill -9) fails with
// ErrConnectionLost once the connection drops, long before its deadline.
func TestCallsOnAKilledInstanceFailFast(t *testing.T) {
	regURL := "local://" + t.TempDir()
	endpoint, cmd := startExample(t, regURL)
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	long, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	p := client.Proxy("echo", WithInstance(endpoint))
	require.NoError(t, p.Call(ctx, "upper", textArgs{Text: "x"}, nil))

	f := p.Defer(long, "sleep", sleepArgs{Seconds: 3600})
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := f.Get(ctx, nil)
	require.ErrorIs(t, err, ErrConnectionLost, "not a timeout: the hour-long deadline is far away")
	assert.Contains(t, err.Error(), "may have been processed")
	// The next call does not wait either: the instance is known down.
	assert.ErrorIs(t, p.Call(long, "upper", textArgs{Text: "x"}, nil), ErrNotConnected)
}

// A frozen instance (SIGSTOP) keeps its connection and its registration;
// with calls by load, it stops getting calls as soon as its calls pile up,
// long before heartbeats would call it unresponsive.
func TestFrozenInstanceShedsCallsByLoad(t *testing.T) {
	regURL := "local://" + t.TempDir()
	frozen, frozenCmd := startExample(t, regURL)
	alive, _ := startExample(t, regURL)
	reg, err := registry.Open(regURL)
	require.NoError(t, err)
	defer reg.Close()
	client := startContainer(t, reg, nil) // default heartbeats: 3 s to unresponsive
	ctx := testContext(t)
	p := client.Proxy("echo", WithTimeout(2*time.Second))
	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		msg, err := client.Proxy("echo").Request(ctx, "upper", textArgs{Text: "x"})
		if err == nil {
			seen[msg.Source] = true
		}
		return len(seen) == 2
	}, 5*time.Second, time.Millisecond)

	require.NoError(t, frozenCmd.Process.Signal(syscall.SIGSTOP))
	defer frozenCmd.Process.Signal(syscall.SIGCONT)
	const callers, perCaller = 8, 100
	var toFrozen, ok atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perCaller {
				msg, err := p.Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
				switch {
				case err == nil && msg.Source == alive:
					ok.Add(1)
				case err == nil && msg.Source == frozen:
					ok.Add(1) // answered as the signal arrived
				default:
					toFrozen.Add(1) // timed out there
				}
			}
		}()
	}
	wg.Wait()
	// Each caller can lose at most the calls it sent before the frozen
	// instance had more outstanding than the live one.
	assert.LessOrEqual(t, toFrozen.Load(), int64(2*callers), "%d calls answered", ok.Load())
	assert.Equal(t, int64(callers*perCaller), ok.Load()+toFrozen.Load())
}

// A request larger than the server's limit gets a NACK saying so at once,
// and the connection keeps working.
func TestOversizedRequestIsRefusedAtOnce(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, reg, nil, WithMaxMessageSize(8<<20))
	ctx := testContext(t)
	long, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	big := make([]byte, 5<<20)
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))
	err := p.Call(long, "roundtrip", everything{Bytes: big}, nil)
	require.ErrorIs(t, err, ErrNack)
	assert.Contains(t, err.Error(), reasonTooLarge)
	out, err := Call[string](ctx, p, "upper", textArgs{Text: "after"})
	require.NoError(t, err)
	assert.Equal(t, "AFTER", out)
}

// Installing while requests are served races with nothing (run with
// -race): dispatch reads an immutable table.
func TestInstallWhileServing(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&testService{}, WithName("multi"), WithVersion("1.0.0")))
	})
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := client.Proxy("multi@1.0", WithInstance(server.Endpoint()))
		for {
			select {
			case <-done:
				return
			default:
			}
			assert.NoError(t, p.Call(ctx, "upper", textArgs{Text: "x"}, nil))
		}
	}()
	for minor := 1; minor <= 20; minor++ {
		require.NoError(t, server.Install(&testService{}, WithName("multi"), WithVersion("1."+strconv.Itoa(minor)+".0")))
	}
	close(done)
	wg.Wait()
}

// blockingRegistry holds every Register until released.
type blockingRegistry struct {
	registry.Registry
	release chan struct{}
	fail    error
}

func (r *blockingRegistry) Register(ctx context.Context, inst registry.Instance) error {
	if inst.Name == builtinName {
		return r.Registry.Register(ctx, inst)
	}
	select {
	case <-r.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r.fail != nil {
		return r.fail
	}
	return r.Registry.Register(ctx, inst)
}

// A slow registry does not freeze the container: Install's registration
// holds no lock that calls or requests need.
func TestSlowRegistryDoesNotFreezeInstall(t *testing.T) {
	reg := &blockingRegistry{Registry: memoryRegistry(t), release: make(chan struct{})}
	server := startContainer(t, reg, nil)
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	installed := make(chan error, 1)
	go func() { installed <- server.Install(&testService{}, WithName("late")) }()
	for range 20 {
		var out string
		require.NoError(t, client.Proxy("lymph", WithInstance(server.Endpoint())).Call(ctx, "ping", map[string]any{"payload": "p"}, &out))
		assert.Equal(t, "p", out)
	}
	close(reg.release)
	require.NoError(t, <-installed)
}

// Start whose registration fails while a request is in flight returns the
// error; it used to deadlock, holding the lock the request needed.
func TestStartFailingWithARequestInFlight(t *testing.T) {
	reg := &blockingRegistry{Registry: memoryRegistry(t), release: make(chan struct{}), fail: registry.ErrInvalidName}
	endpoint := deadEndpoint(t)
	svc := &testService{release: make(chan struct{})}
	server, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithEndpoint(endpoint))
	require.NoError(t, err)
	installTestService(svc)(server)
	started := make(chan error, 1)
	go func() { started <- server.Start(context.Background()) }()
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	var f *Future
	require.Eventually(t, func() bool {
		if f == nil || f.err != nil {
			f = client.Proxy("testsvc", WithInstance(endpoint)).Defer(ctx, "block", nil)
		}
		return server.metrics.requests("testsvc.block") == 1
	}, 5*time.Second, 5*time.Millisecond)
	close(reg.release) // the registration fails now, the request still runs
	close(svc.release)
	require.ErrorIs(t, <-started, registry.ErrInvalidName)
	require.NoError(t, f.Get(ctx, nil), "the request in flight finished and was answered")
}

// A container whose registry cannot be reached starts and serves, says in
// lymph.status that its registration is pending, and registers once the
// registry answers.
func TestStartsWhileRegistryIsDown(t *testing.T) {
	inner := memoryRegistry(t)
	reg := &downRegistry{Registry: inner}
	reg.down.Store(true)
	server := startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	var status map[string]any
	require.NoError(t, client.Proxy("lymph", WithInstance(server.Endpoint())).Call(ctx, "status", nil, &status))
	assert.Equal(t, "pending", status["registration"])
	out, err := Call[string](ctx, client.Proxy("testsvc", WithInstance(server.Endpoint())), "upper", textArgs{Text: "x"})
	require.NoError(t, err)
	assert.Equal(t, "X", out)

	reg.down.Store(false)
	require.Eventually(t, func() bool {
		got, err := inner.Lookup(ctx, "testsvc")
		return err == nil && len(got) == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, client.Proxy("lymph", WithInstance(server.Endpoint())).Call(ctx, "status", nil, &status))
	assert.Equal(t, "registered", status["registration"])
}

// downRegistry is unavailable while down is set.
type downRegistry struct {
	registry.Registry
	down atomic.Bool
}

func (r *downRegistry) Register(ctx context.Context, inst registry.Instance) error {
	if r.down.Load() {
		return registry.ErrUnavailable
	}
	return r.Registry.Register(ctx, inst)
}

// flakyWatchRegistry fails the first watches of every name.
type flakyWatchRegistry struct {
	registry.Registry
	failures atomic.Int64 // watches still to fail
	lookups  atomic.Int64
}

func (r *flakyWatchRegistry) Watch(ctx context.Context, name string) (<-chan []registry.Instance, error) {
	if r.failures.Add(-1) >= 0 {
		return nil, errors.New("watch refused")
	}
	return r.Registry.Watch(ctx, name)
}

func (r *flakyWatchRegistry) Lookup(ctx context.Context, name string) ([]registry.Instance, error) {
	r.lookups.Add(1)
	return r.Registry.Lookup(ctx, name)
}

// A watch that failed is started again: calls stop going to the registry
// once it works.
func TestFailedWatchIsRetried(t *testing.T) {
	inner := memoryRegistry(t)
	startContainer(t, inner, installTestService(&testService{}))
	reg := &flakyWatchRegistry{Registry: inner}
	reg.failures.Store(2)
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc")
	require.Eventually(t, func() bool {
		require.NoError(t, p.Call(ctx, "upper", textArgs{Text: "x"}, nil))
		return reg.failures.Load() < 0
	}, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		before := reg.lookups.Load()
		require.NoError(t, p.Call(ctx, "upper", textArgs{Text: "x"}, nil))
		return reg.lookups.Load() == before
	}, 5*time.Second, 10*time.Millisecond, "calls are served from the watch again")
}

// A bad version constraint is reported as such, not as a missing service.
func TestBadVersionConstraint(t *testing.T) {
	client := startContainer(t, memoryRegistry(t), nil)
	err := client.Proxy("kv@x.y").Call(testContext(t), "get", nil, nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrLookupFailure)
	assert.Contains(t, err.Error(), `"x.y"`)
	assert.ErrorContains(t, client.Proxy("").Call(testContext(t), "get", nil, nil), "empty")
}

type versionedRPC struct{ Interface }

// Version is an RPC of its own: it shadows Interface.Version.
func (s *versionedRPC) Version(ctx context.Context) (string, error) { return "v-rpc", nil }

// A method named like one of Interface's own but with another signature
// is served; the promoted ones never are.
func TestMethodNamedLikeInterfacesOwnIsServed(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&versionedRPC{}, WithName("vs"))) })
	client := startContainer(t, reg, nil)
	out, err := Call[string](testContext(t), client.Proxy("vs"), "version", nil)
	require.NoError(t, err)
	assert.Equal(t, "v-rpc", out)
	var methods []string
	for _, m := range server.inspect() {
		methods = append(methods, m.Name)
	}
	assert.Contains(t, methods, "vs.version")
	assert.NotContains(t, methods, "vs.name")
	assert.NotContains(t, methods, "vs.proxy")
}

// unavailableRegistry cannot be reached at all.
type unavailableRegistry struct{ registry.Registry }

func (unavailableRegistry) Watch(context.Context, string) (<-chan []registry.Instance, error) {
	return nil, registry.ErrUnavailable
}

func (unavailableRegistry) Lookup(context.Context, string) ([]registry.Instance, error) {
	return nil, registry.ErrUnavailable
}

// A call by name while the registry is down, for a name never resolved,
// fails at once saying why, not at its deadline.
func TestCallByNameWithRegistryDownFailsFast(t *testing.T) {
	client := startContainer(t, unavailableRegistry{memoryRegistry(t)}, nil)
	long, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	err := client.Proxy("echo").Call(long, "upper", nil, nil)
	require.ErrorIs(t, err, ErrLookupFailure)
	assert.ErrorIs(t, err, registry.ErrUnavailable)
}

type bigService struct{ Interface }

type sizeArgs struct {
	Size int `msgpack:"size"`
}

// Big returns size bytes.
func (*bigService) Big(ctx context.Context, args sizeArgs) ([]byte, error) {
	return make([]byte, args.Size), nil
}

// A reply larger than the caller's limit fails the call at once, saying
// so, instead of leaving it to its deadline.
func TestOversizedReplyFailsTheCall(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&bigService{}, WithName("big"))) }, WithMaxMessageSize(8<<20))
	client := startContainer(t, reg, nil) // 4 MiB, the default
	ctx := testContext(t)
	long, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	p := client.Proxy("big", WithInstance(server.Endpoint()))
	err := p.Call(long, "big", sizeArgs{Size: 5 << 20}, nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrTimeout)
	assert.Contains(t, err.Error(), "larger than the message size limit")
	var out []byte
	require.NoError(t, p.Call(ctx, "big", sizeArgs{Size: 10}, &out), "the connection still works")
	assert.Len(t, out, 10)
}
