package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
)

type textArgs struct {
	Text string `msgpack:"text"`
}

// goodEcho answers with the text; liar answers another call's token;
// sloth answers after the caller gave up.
type goodEcho struct{ lymph.Interface }

func (*goodEcho) Echo(ctx context.Context, a textArgs) (string, error) { return a.Text, nil }

type liar struct{ lymph.Interface }

func (*liar) Echo(ctx context.Context, a textArgs) (string, error) { return a.Text + "0", nil }

type sloth struct{ lymph.Interface }

func (*sloth) Echo(ctx context.Context, a textArgs) (string, error) {
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
	}
	return a.Text, nil
}

// container starts a container on loopback, with svc installed as "echo"
// when it is not nil.
func container(t *testing.T, registry string, svc any) *lymph.Container {
	t.Helper()
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithEndpoint("tcp://127.0.0.1:0"),
		lymph.WithRegistryURL(registry), lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	if svc != nil {
		require.NoError(t, c.Install(svc))
	}
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	return c
}

// TestCallerCounts calls real services over loopback sockets and checks
// each call is counted as what it was.
func TestCallerCounts(t *testing.T) {
	for i, tc := range []struct {
		name     string
		svc      any
		deadline time.Duration
		kind     string // "" for success
	}{
		{"the right reply", &goodEcho{}, time.Second, ""},
		{"another call's token", &liar{}, time.Second, kindWrong},
		{"no reply in time", &sloth{}, 100 * time.Millisecond, kindTimeout},
		{"nobody serves echo", nil, time.Second, kindLookup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := fmt.Sprintf("memory:faults-%d", i)
			container(t, reg, tc.svc)
			client := container(t, reg, nil)
			cfg := driverConfig{address: "echo", deadline: tc.deadline, hang: 2 * time.Second}
			cl := newCaller(cfg)
			rec := newRecorder(10)
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			for range 3 {
				cl.call(client.Proxy("echo"), rec, timer)
			}
			res := rec.result(1)
			assert.Equal(t, int64(3), res.Calls)
			if tc.kind == "" {
				assert.Equal(t, int64(3), res.OK, "%v", res.Samples)
				assert.Equal(t, []int64{3}, res.PerSecond)
				assert.Empty(t, res.Failures)
				return
			}
			assert.Zero(t, res.OK)
			assert.Equal(t, map[string]int64{tc.kind: 3}, res.Kinds, "%v", res.Samples)
			require.Len(t, res.Failures, 3)
			for _, f := range res.Failures {
				assert.Equal(t, tc.kind, f.Kind)
				assert.LessOrEqual(t, f.Start, f.End)
			}
		})
	}
}

func TestCallerTokensAreUnique(t *testing.T) {
	a, b := newCaller(driverConfig{address: "echo"}), newCaller(driverConfig{address: "tcp://127.0.0.1:1"})
	assert.NotEqual(t, a.prefix, b.prefix, "two drivers never share tokens")
	assert.Equal(t, "echo", a.method)
	assert.Equal(t, "echo", b.method, "to an endpoint too: proxyTo names the instance with WithInstance")
}

func TestRecorderCapsFailures(t *testing.T) {
	rec := newRecorder(0)
	now := time.Now()
	for range maxFailures + 5 {
		rec.failure(now, now, kindNack, "refused")
	}
	res := rec.result(0)
	assert.Len(t, res.Failures, maxFailures)
	assert.Equal(t, int64(5), res.Dropped)
	assert.Equal(t, int64(maxFailures+5), res.Kinds[kindNack])
	assert.Equal(t, "refused", res.Samples[kindNack])
}

func TestParseDriver(t *testing.T) {
	cfg, err := parseDriver([]string{"-registry", "memory:x", "-duration", "3s", "-workers", "8"})
	require.NoError(t, err)
	assert.Equal(t, "memory:x", cfg.registry)
	assert.Equal(t, 3*time.Second, cfg.duration)
	assert.Equal(t, 8, cfg.workers)
	assert.Equal(t, time.Second, cfg.deadline)
	assert.Equal(t, 2*time.Second, cfg.hang)
	assert.True(t, cfg.warmup)
	_, err = parseDriver(nil)
	assert.ErrorContains(t, err, "-duration, -calls or -count")
	_, err = parseDriver([]string{"-bogus"})
	assert.Error(t, err)
}
