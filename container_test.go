package lymph

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartPicksAFreePortAndRegisters(t *testing.T) {
	reg := memoryRegistry(t)
	c := startContainer(t, reg, installTestService(&testService{}))
	assert.Regexp(t, `^tcp://127\.0\.0\.1:[1-9][0-9]*$`, c.Endpoint())
	assert.Len(t, c.Identity(), 32)

	ctx := testContext(t)
	for _, name := range []string{"testsvc", "lymph"} {
		instances, err := reg.Lookup(ctx, name)
		require.NoError(t, err)
		require.Len(t, instances, 1, name)
		assert.Equal(t, c.Endpoint(), instances[0].Endpoint)
		assert.Equal(t, c.Identity(), instances[0].Identity)
	}
}

func TestStopLetsInFlightRequestsFinish(t *testing.T) {
	reg := memoryRegistry(t)
	svc := &testService{release: make(chan struct{})}
	server, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg), WithStopGrace(3*time.Second))
	require.NoError(t, err)
	installTestService(svc)(server)
	require.NoError(t, server.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)

	inflight := client.Proxy("testsvc", WithInstance(server.Endpoint())).Defer(ctx, "block", nil)
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- server.Stop(ctx) }()

	// It unregisters first, and keeps serving while callers notice.
	require.Eventually(t, func() bool {
		instances, _ := reg.Lookup(ctx, "testsvc")
		return len(instances) == 0
	}, 5*time.Second, time.Millisecond)
	assert.NoError(t, client.Proxy("testsvc", WithInstance(server.Endpoint())).Call(ctx, "upper", textArgs{Text: "x"}, nil), "served during the stop grace")
	// Then it refuses new requests, saying it is stopping.
	require.Eventually(t, func() bool { return server.currentPhase() == phaseDraining }, 10*time.Second, time.Millisecond)
	msg, err := client.Proxy("testsvc", WithInstance(server.Endpoint())).Request(ctx, "upper", textArgs{Text: "x"})
	assert.ErrorIs(t, err, ErrNack)
	require.NotNil(t, msg)
	assert.Equal(t, reasonStopping, msg.Header(headerNackReason))

	svc.release <- struct{}{}
	var out string
	require.NoError(t, inflight.Get(ctx, &out), "the in-flight request finished and its reply went out")
	assert.Equal(t, "released", out)
	require.NoError(t, <-stopped)

	assert.ErrorIs(t, server.Proxy("testsvc").Call(ctx, "upper", nil, nil), ErrNotRunning)
	assert.Error(t, server.Start(ctx), "a container starts once")
}

func TestStopCutsInFlightRequestsAtItsDeadline(t *testing.T) {
	reg := memoryRegistry(t)
	server, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	installTestService(&testService{})(server)
	require.NoError(t, server.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)

	// sleep honours its context, which Stop cancels when it gives up.
	f := client.Proxy("testsvc", WithInstance(server.Endpoint())).Defer(ctx, "sleep", sleepArgs{Seconds: 60})
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.sleep") == 1 }, 5*time.Second, time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, server.Stop(short), context.DeadlineExceeded)
	require.NoError(t, f.Get(ctx, nil), "the method returned once its context ended, and its reply still went out")
}

func TestStopFailsWaitingCalls(t *testing.T) {
	reg := memoryRegistry(t)
	svc := &testService{release: make(chan struct{})}
	server := startContainer(t, reg, installTestService(svc))
	client, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	ctx := testContext(t)

	f := client.Proxy("testsvc", WithInstance(server.Endpoint())).Defer(ctx, "block", nil)
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.block") == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, client.Stop(ctx))
	assert.ErrorIs(t, f.Get(ctx, nil), ErrNotRunning)
	svc.release <- struct{}{}
}

// requests returns how many requests the subject has seen.
func (m *metrics) requests(subject string) uint64 {
	v, ok := m.subjects.Load(subject)
	if !ok {
		return 0
	}
	return v.(*counters)[metricRequest].Load()
}

func (m *metrics) nacks(subject string) uint64 {
	v, ok := m.subjects.Load(subject)
	if !ok {
		return 0
	}
	return v.(*counters)[metricNack].Load()
}
