package lymph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// get returns one counter of a subject.
func (m *metrics) get(subject string, kind metricKind) uint64 {
	v, ok := m.subjects.Load(subject)
	if !ok {
		return m.other[kind].Load()
	}
	return v.(*counters)[kind].Load()
}

func TestMaxInFlightRefusesAtOnce(t *testing.T) {
	svc := &testService{release: make(chan struct{})}
	server := startContainer(t, memoryRegistry(t), installTestService(svc), WithMaxInFlight(2))
	t.Cleanup(func() { close(svc.release) }) // before the server stops, should the test fail early
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))

	blocked := []*Future{p.Defer(ctx, "block", nil), p.Defer(ctx, "block", nil)}
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.block") == 2 }, 5*time.Second, time.Millisecond)

	err := p.Call(ctx, "upper", textArgs{Text: "x"}, nil)
	require.ErrorIs(t, err, ErrNack)
	assert.ErrorIs(t, err, ErrOverloaded)
	assert.ErrorContains(t, err, "overloaded")
	assert.Equal(t, uint64(1), server.metrics.get("testsvc.upper", metricOverloaded))
	assert.Zero(t, server.metrics.requests("testsvc.upper"), "refused before dispatch")

	var payload string
	require.NoError(t, p.Interface("lymph").Call(ctx, "ping", map[string]any{"payload": "hi"}, &payload),
		"heartbeats are not limited: an overloaded instance is alive")

	// Once a slot frees, requests are served again.
	svc.release <- struct{}{} // one of the two, either
	require.Eventually(t, func() bool { return server.limited.Load() == 1 }, 5*time.Second, time.Millisecond)
	out, err := Call[string](ctx, p, "upper", textArgs{Text: "y"})
	require.NoError(t, err)
	assert.Equal(t, "Y", out)
	svc.release <- struct{}{}
	for _, f := range blocked {
		require.NoError(t, f.Get(ctx, nil))
	}
}

// A call by name that an overloaded instance refused goes to another
// instance: the request did no work.
func TestOverloadedCallGoesToAnotherInstance(t *testing.T) {
	busySvc := &testService{release: make(chan struct{})}
	busy := startContainer(t, memoryRegistry(t), installTestService(busySvc), WithMaxInFlight(1))
	t.Cleanup(func() { close(busySvc.release) })
	idle := startContainer(t, memoryRegistry(t), installTestService(&testService{}))
	clientReg := memoryRegistry(t)
	ctx := testContext(t)
	for _, c := range []*Container{busy, idle} {
		inst, err := registry.NewInstance("testsvc", c.Endpoint(), "")
		require.NoError(t, err)
		require.NoError(t, clientReg.Register(ctx, inst))
	}
	client := startContainer(t, clientReg, nil)
	blocked := client.Proxy("testsvc", WithInstance(busy.Endpoint())).Defer(ctx, "block", nil)
	require.Eventually(t, func() bool { return busy.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond)

	p := client.Proxy("testsvc", WithRoundRobin()) // by load, the busy instance would not be picked
	for i := range 20 {
		out, err := Call[string](ctx, p, "upper", textArgs{Text: "a"})
		require.NoError(t, err, "call %d", i)
		assert.Equal(t, "A", out)
	}
	assert.Positive(t, busy.metrics.get("testsvc.upper", metricOverloaded), "some calls reached the busy instance and were sent on")
	assert.Zero(t, busy.metrics.requests("testsvc.upper"))
	busySvc.release <- struct{}{}
	require.NoError(t, blocked.Get(ctx, nil))
}

// A per-method limit refuses only that method's requests.
func TestMaxInFlightPerMethod(t *testing.T) {
	svc := &testService{release: make(chan struct{})}
	server := startContainer(t, memoryRegistry(t), func(c *Container) {
		require.NoError(t, c.Install(svc, WithName("testsvc"), WithMethodMaxInFlight("Block", 1)))
	})
	t.Cleanup(func() { close(svc.release) })
	client := startContainer(t, memoryRegistry(t), nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc", WithInstance(server.Endpoint()))

	blocked := p.Defer(ctx, "block", nil)
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond)
	err := p.Call(ctx, "block", nil, nil)
	assert.ErrorIs(t, err, ErrOverloaded)
	assert.Equal(t, uint64(1), server.metrics.get("testsvc.block", metricOverloaded))
	out, err := Call[string](ctx, p, "upper", textArgs{Text: "u"})
	require.NoError(t, err, "other methods are not limited")
	assert.Equal(t, "U", out)
	svc.release <- struct{}{}
	require.NoError(t, blocked.Get(ctx, nil))

	c, err := NewContainer(WithLogger(quietLogger()))
	require.NoError(t, err)
	assert.ErrorContains(t, c.Install(&testService{}, WithName("x"), WithMethodMaxInFlight("NoSuch", 1)), `WithMethodMaxInFlight("NoSuch"): it names no method the service serves`)
}
