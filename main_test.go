package lymph

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lymphgo/lymph/registry"
)

func TestMain(m *testing.M) {
	code := func() int {
		defer func() {
			if exampleBin != "" {
				os.RemoveAll(filepath.Dir(exampleBin))
			}
		}()
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// quietLogger keeps expected warnings (refused requests, panics) out of the
// test output; set LYMPH_TEST_LOG=1 to see them.
func quietLogger() *slog.Logger {
	if os.Getenv("LYMPH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startContainer starts a container on a free loopback port with the
// services installed, and stops it when the test ends.
func startContainer(t testing.TB, reg registry.Registry, install func(c *Container), opts ...ContainerOption) *Container {
	t.Helper()
	opts = append([]ContainerOption{WithEndpoint("tcp://127.0.0.1:0"), WithLogger(quietLogger()), WithRegistry(reg)}, opts...)
	c, err := NewContainer(opts...)
	require.NoError(t, err)
	if install != nil {
		install(c)
	}
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

var registryNamespaces atomic.Int64

// memoryRegistry returns a fresh in-process registry for one test: a
// namespace of its own, so tests never see each other's instances.
func memoryRegistry(t testing.TB) registry.Registry {
	t.Helper()
	reg, err := registry.Open(fmt.Sprintf("memory:test%d", registryNamespaces.Add(1)))
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })
	return reg
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deadEndpoint returns a loopback endpoint nothing listens on.
func deadEndpoint(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "tcp://" + addr
}
