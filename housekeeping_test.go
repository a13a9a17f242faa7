package lymph

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A name nobody looks up any more loses its watch (and its goroutine:
// goleak would see one left), and comes back on the next lookup.
func TestResolverForgetsUnusedNames(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	require.NoError(t, client.Proxy("testsvc").Call(ctx, "upper", textArgs{Text: "x"}, nil))
	res := client.resolver
	res.mu.Lock()
	require.Len(t, res.names, 1)
	res.mu.Unlock()
	time.Sleep(time.Millisecond)
	res.forgetUnused(0)
	res.mu.Lock()
	assert.Empty(t, res.names)
	res.mu.Unlock()
	require.NoError(t, client.Proxy("testsvc").Call(ctx, "upper", textArgs{Text: "x"}, nil))
}

// The container's logger lets the user's handler decide the level (a
// debug handler gets debug records), the registry logs through it, and a
// method cut short by a normal Stop is not an error.
func TestLoggingGoesThroughTheUsersHandler(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := NewContainer(WithLogger(logger), WithRegistryURL("zookeeper://"+strings.TrimPrefix(deadEndpoint(t), "tcp://")+"/lymph"))
	require.NoError(t, err)
	c.logger.Debug("a debug record")
	require.NoError(t, c.Start(context.Background()))
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "registry=zookeeper") }, 10*time.Second, 10*time.Millisecond,
		"the registry's records reach the container's handler")
	require.NoError(t, c.Stop(context.Background()))
	assert.Contains(t, out.String(), "a debug record")

	out.mu.Lock()
	out.b.Reset()
	out.mu.Unlock()
	reg := memoryRegistry(t)
	server, err := NewContainer(WithLogger(logger), WithRegistry(reg), WithStopGrace(0))
	require.NoError(t, err)
	installTestService(&testService{})(server)
	require.NoError(t, server.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	f := client.Proxy("testsvc", WithInstance(server.Endpoint())).Defer(ctx, "cancelled", nil)
	require.Eventually(t, func() bool { return server.metrics.requests("testsvc.cancelled") == 1 }, 5*time.Second, time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_ = server.Stop(short)
	_ = f.Get(ctx, nil)
	assert.Contains(t, out.String(), "method failed with an undeclared error")
	assert.NotContains(t, out.String(), "level=ERROR msg=\"method failed", "a Stop's cancellation is not an error")
}

// get_metrics counts the process's goroutines.
func TestMetricsCountGoroutines(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, nil)
	client := startContainer(t, reg, nil)
	var metrics [][]any
	require.NoError(t, client.Proxy("lymph", WithInstance(server.Endpoint())).Call(testContext(t), "get_metrics", nil, &metrics))
	found := false
	for _, m := range metrics {
		if m[0] == "process.goroutines" {
			found = true
			assert.Positive(t, m[1])
		}
	}
	assert.True(t, found)
}
