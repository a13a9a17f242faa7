package lymph

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var eventNamespaces atomic.Int64

func memoryEvents() ContainerOption {
	return WithEvents(fmt.Sprintf("memory:lymphtest%d", eventNamespaces.Add(1)))
}

// userEvents handles and emits events: OnCreated re-emits with the
// incoming trace id, through the embedded Interface.
type userEvents struct {
	Interface
	got     chan *Event
	traces  chan string
	fail    atomic.Int32
	tasks   chan taskArgs
	emitted chan error
}

type user struct {
	ID   int    `msgpack:"id"`
	Name string `msgpack:"name"`
}

type taskArgs struct {
	X int `msgpack:"x"`
}

func (s *userEvents) OnCreated(ctx context.Context, ev *Event) error {
	if s.fail.Add(-1) >= 0 {
		return errors.New("not yet")
	}
	s.got <- ev
	s.traces <- TraceID(ctx)
	s.emitted <- s.Emit(ctx, "user.welcomed", map[string]any{"id": 1})
	return nil
}

func (s *userEvents) OnWelcomed(ctx context.Context, ev *Event) error {
	s.traces <- TraceID(ctx)
	return nil
}

func (s *userEvents) Cleanup(ctx context.Context, ev *Event) error {
	var a taskArgs
	if err := ev.Decode(&a); err != nil {
		return err
	}
	s.tasks <- a
	return nil
}

// Upper stays an RPC method beside the handlers.
func (s *userEvents) Upper(args textArgs) (string, error) { return args.Text, nil }

func newUserEvents() *userEvents {
	return &userEvents{got: make(chan *Event, 10), traces: make(chan string, 10), tasks: make(chan taskArgs, 10), emitted: make(chan error, 10)}
}

func installUsers(svc *userEvents) func(c *Container) {
	return func(c *Container) {
		err := c.Install(svc, WithName("users"),
			WithHandlerOptions("OnCreated", EventOptions{Retry: 1}, "user.created"),
			WithHandler("OnWelcomed", "user.*"),
			WithTask("Cleanup", EventOptions{}))
		if err != nil {
			panic(err)
		}
	}
}

func TestEventsHandleEmitTrace(t *testing.T) {
	reg := memoryRegistry(t)
	evOpt := memoryEvents()
	svc := newUserEvents()
	svc.fail.Store(1) // one failure, then the retry succeeds
	c := startContainer(t, reg, installUsers(svc), evOpt)
	ctx := ContextWithTraceID(testContext(t), "trace-events-1")

	require.NoError(t, c.Emit(ctx, "user.created", user{ID: 7, Name: "ann"}))
	ev := recvT(t, svc.got)
	var u user
	require.NoError(t, ev.Decode(&u))
	assert.Equal(t, user{ID: 7, Name: "ann"}, u)
	assert.Equal(t, c.Identity(), ev.Source)
	n, ok := ev.RetryCount()
	assert.True(t, ok, "the second delivery is the retry")
	assert.Equal(t, 0, n)
	assert.Equal(t, "trace-events-1", recvT(t, svc.traces), "the handler's context carries the event's trace id")
	require.NoError(t, recvT(t, svc.emitted))
	// OnWelcomed sees "user.created" (user.*) and "user.welcomed": both
	// carry the trace on.
	assert.Equal(t, "trace-events-1", recvT(t, svc.traces))
	assert.Equal(t, "trace-events-1", recvT(t, svc.traces))

	// The RPC method is still served; handlers are not.
	methods := map[string]bool{}
	for _, m := range c.inspect() {
		methods[m.Name] = true
	}
	assert.True(t, methods["users.upper"])
	assert.False(t, methods["users.on_created"])

	require.Eventually(t, func() bool {
		found := map[string]bool{}
		for _, m := range c.eventMetrics() {
			found[fmt.Sprint(m[0], " ", m[2].(map[string]any)["type"])] = true
		}
		return found["events.handled user.created"] && found["events.retried user.created"] && found["events.emitted user.welcomed"]
	}, 10*time.Second, 5*time.Millisecond, "event metrics in get_metrics")
	b := &builtin{c: c}
	all, err := b.GetMetrics()
	require.NoError(t, err)
	var names []string
	for _, m := range all {
		names = append(names, m[0].(string))
	}
	assert.Contains(t, names, "events.handled")
}

func TestEventsTasksRunInWorkers(t *testing.T) {
	reg := memoryRegistry(t)
	evOpt := memoryEvents()
	service, worker := newUserEvents(), newUserEvents()
	c := startContainer(t, reg, installUsers(service), evOpt)
	startContainer(t, reg, installUsers(worker), evOpt, WithWorker())
	ctx := testContext(t)
	require.NoError(t, c.ApplyTask(ctx, "users", "Cleanup", taskArgs{X: 3}))
	assert.Equal(t, taskArgs{X: 3}, recvT(t, worker.tasks))
	assert.Equal(t, "lymph.tasks.users.cleanup", TaskType("users", "Cleanup"))
	// The worker does not handle events, the service does not run tasks.
	require.NoError(t, c.Emit(ctx, "user.created", user{ID: 1}))
	recvT(t, service.got)
	select {
	case <-worker.got:
		t.Fatal("a worker handled an event")
	case a := <-service.tasks:
		t.Fatalf("a non-worker ran a task: %v", a)
	default:
	}
}

func TestEventsSubscribeAndNextEvent(t *testing.T) {
	reg := memoryRegistry(t)
	evOpt := memoryEvents()
	svc := newUserEvents()
	c := startContainer(t, reg, installUsers(svc), evOpt)
	ctx := testContext(t)
	got := make(chan string, 10)
	sub, err := svc.Subscribe(ctx, func(ctx context.Context, ev *Event) error {
		got <- ev.Type + " " + TraceID(ctx)
		return nil
	}, EventOptions{}, "order.#")
	require.NoError(t, err)
	w, err := svc.NextEvent(ctx, "order.placed")
	require.NoError(t, err)
	require.NoError(t, c.Emit(ContextWithTraceID(ctx, "t-sub"), "order.placed", map[string]any{"n": 1}))
	assert.Equal(t, "order.placed t-sub", recvT(t, got))
	ev, err := w.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, "order.placed", ev.Type)
	require.NoError(t, sub.Stop(ctx))
}

func TestEventsBadHandlerDeclarations(t *testing.T) {
	c, err := NewContainer(WithLogger(quietLogger()), memoryEvents())
	require.NoError(t, err)
	for _, opt := range []InstallOption{
		WithHandler("Upper", "x"),   // wrong shape
		WithHandler("Missing", "x"), // no such method
		WithHandler("OnCreated"),    // no types
		WithHandlerOptions("OnCreated", EventOptions{Once: true, Broadcast: true}, "x"),
	} {
		assert.Error(t, c.Install(newUserEvents(), WithName("bad"), opt))
	}
	assert.Error(t, newUserEvents().Emit(context.Background(), "x.y", nil), "an interface not installed has no bus")
}

func TestEventsEmitAfterStop(t *testing.T) {
	reg := memoryRegistry(t)
	c, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithEndpoint("tcp://127.0.0.1:0"), memoryEvents())
	require.NoError(t, err)
	assert.ErrorIs(t, c.Emit(testContext(t), "x.y", nil), ErrNotRunning, "before Start")
	require.NoError(t, c.Start(context.Background()))
	require.NoError(t, c.Emit(testContext(t), "x.y", nil), "a container without handlers opens its bus on first emit")
	require.NoError(t, c.Stop(context.Background()))
	assert.ErrorIs(t, c.Emit(testContext(t), "x.y", nil), ErrNotRunning)
}

func recvT[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("gave up waiting")
		panic("unreachable")
	}
}
