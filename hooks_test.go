package lymph

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hooked records its hooks and uses its container from OnStop.
type hooked struct {
	Interface
	mu      sync.Mutex
	events  []string
	section map[string]any
	peer    string // called from OnStop
	stopErr error
}

func (h *hooked) note(e string) {
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
}

func (h *hooked) OnStart(ctx context.Context) error { h.note("start"); return nil }

func (h *hooked) OnStop(ctx context.Context) error {
	h.note("stop")
	_, h.stopErr = Call[string](ctx, h.Proxy("testsvc", WithInstance(h.peer)), "upper", textArgs{Text: "bye"})
	return nil
}

func (h *hooked) ApplyConfig(section map[string]any) error {
	h.note("config")
	h.section = section
	return nil
}

// Ping is the service's one RPC; the hooks are not served.
func (h *hooked) Ping(ctx context.Context) (string, error) { return "pong", nil }

func TestInterfaceHooks(t *testing.T) {
	reg := memoryRegistry(t)
	peer := startContainer(t, reg, installTestService(&testService{}))
	cfg := &Config{Values: map[string]any{"interfaces": map[string]any{"hooked": map[string]any{"greeting": "hi"}}}}
	c, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithStopGrace(0), WithConfig(cfg))
	require.NoError(t, err)
	h := &hooked{peer: peer.Endpoint()}
	require.NoError(t, c.Install(h, WithName("hooked")))
	assert.Equal(t, map[string]any{"greeting": "hi"}, h.section)
	require.NoError(t, c.Start(context.Background()))
	for _, m := range c.inspect() {
		assert.NotContains(t, []string{"hooked.on_start", "hooked.on_stop", "hooked.apply_config"}, m.Name)
	}
	require.NoError(t, c.Stop(testContext(t)))
	assert.Equal(t, []string{"config", "start", "stop"}, h.events)
	assert.NoError(t, h.stopErr, "OnStop can still call other services")
}

type failingStart struct{ Interface }

func (*failingStart) OnStart(ctx context.Context) error { return errors.New("no database") }
func (*failingStart) Ping(ctx context.Context) error    { return nil }

func TestOnStartErrorFailsStart(t *testing.T) {
	c, err := NewContainer(WithLogger(quietLogger()), WithRegistry(memoryRegistry(t)))
	require.NoError(t, err)
	require.NoError(t, c.Install(&failingStart{}, WithName("db")))
	assert.ErrorContains(t, c.Start(context.Background()), "no database")
}

func TestErrorHookSeesPanicsAndUndeclaredErrors(t *testing.T) {
	reg := memoryRegistry(t)
	var mu sync.Mutex
	var reports []ErrorReport
	hook := func(ctx context.Context, r ErrorReport) {
		mu.Lock()
		reports = append(reports, r)
		mu.Unlock()
	}
	server := startContainer(t, reg, installTestService(&testService{}), WithErrorHook(hook))
	client := startContainer(t, reg, nil)
	ctx := ContextWithTraceID(testContext(t), "0123456789abcdef0123456789abcdef")
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))
	assert.ErrorIs(t, p.Call(ctx, "panic", nil, nil), ErrNack)
	assert.ErrorIs(t, p.Call(ctx, "undeclared", nil, nil), ErrNack)
	assert.ErrorIs(t, p.Call(ctx, "fail", textArgs{Text: "declared"}, nil), errNope)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reports, 2, "declared errors are not reported")
	assert.Equal(t, "testsvc.panic", reports[0].Subject)
	assert.Equal(t, "boom", reports[0].Panic)
	assert.NotEmpty(t, reports[0].Stack)
	assert.Equal(t, "testsvc.undeclared", reports[1].Subject)
	assert.EqualError(t, reports[1].Err, "something broke")
	assert.Equal(t, "0123456789abcdef0123456789abcdef", reports[1].TraceID)
}

// slowStarter's OnStart waits until released, so that a test can call
// Stop while Start is still running.
type slowStarter struct {
	Interface
	entered, release chan struct{}
}

func (s *slowStarter) OnStart(ctx context.Context) error {
	close(s.entered)
	<-s.release
	return nil
}

func (s *slowStarter) Hello() (string, error) { return "hi", nil }

// A Stop that arrives while Start runs (a SIGTERM during a slow start) must
// not return before Start and leave a container serving behind it.
func TestStopDuringStartWaitsAndStops(t *testing.T) {
	reg := memoryRegistry(t)
	c, err := NewContainer(WithName("slowstart"), WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	svc := &slowStarter{entered: make(chan struct{}), release: make(chan struct{})}
	require.NoError(t, c.Install(svc))
	started := make(chan error, 1)
	go func() { started <- c.Start(context.Background()) }()
	<-svc.entered

	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(context.Background()) }()
	close(svc.release)
	require.NoError(t, <-started)
	require.NoError(t, <-stopped)
	assert.Equal(t, phaseStopped, c.currentPhase())
	instances, err := reg.Lookup(context.Background(), "slowstart")
	require.NoError(t, err)
	assert.Empty(t, instances, "the stopped container left the registry")
}
