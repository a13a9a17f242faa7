package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The local registry's multi-process tests run this binary again as a
	// second process: see runHelper.
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

// waitLong bounds every "eventually": generous, because no test may depend
// on how fast the machine is.
const waitLong = 60 * time.Second

// testLogger shows the registry's warnings on stderr when a test fails
// mysteriously; lower levels are noise.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// instance returns a new instance of name on a made-up endpoint.
func instance(t *testing.T, name string, port int, version string) Instance {
	t.Helper()
	inst, err := NewInstance(name, fmt.Sprintf("tcp://127.0.0.1:%d", port), version)
	require.NoError(t, err)
	return inst
}

// eventually polls cond until it holds, failing the test after waitLong.
func eventually(t *testing.T, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: "+what, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nextSet reads Watch sets until one satisfies cond, and returns it.
func nextSet(t *testing.T, ch <-chan []Instance, what string, cond func([]Instance) bool) []Instance {
	t.Helper()
	timeout := time.After(waitLong)
	var last []Instance
	for {
		select {
		case set, ok := <-ch:
			require.True(t, ok, "watch channel closed while waiting for: %s", what)
			if cond(set) {
				return set
			}
			last = set
		case <-timeout:
			t.Fatalf("gave up waiting for a watch set: %s (last set: %v)", what, endpoints(last))
		}
	}
}

func endpoints(set []Instance) []string {
	out := make([]string, 0, len(set))
	for _, inst := range set {
		out = append(out, inst.Endpoint)
	}
	return out
}

// hasEndpoints is a nextSet condition: exactly these endpoints, any order.
func hasEndpoints(want ...string) func([]Instance) bool {
	return func(set []Instance) bool {
		if len(set) != len(want) {
			return false
		}
		have := map[string]bool{}
		for _, inst := range set {
			have[inst.Endpoint] = true
		}
		for _, w := range want {
			if !have[w] {
				return false
			}
		}
		return true
	}
}

// waitClosed fails unless ch is closed (after draining what is pending).
func waitClosed(t *testing.T, ch <-chan []Instance) {
	t.Helper()
	timeout := time.After(waitLong)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel was not closed")
		}
	}
}
