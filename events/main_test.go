package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The local backend's multi-process tests run this binary again as a
	// second process: see helperMain.
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain())
	}
	goleak.VerifyTestMain(m)
}

// waitLong bounds every "eventually": generous, because no test may depend
// on how fast the machine is.
const waitLong = 60 * time.Second

// amqpEnv names the test broker: amqp://guest:guest@127.0.0.1:5672/.
const amqpEnv = "LYMPH_TEST_AMQP"

// requireAMQP returns the test broker's URL. Without one the test fails —
// it is skipped only under -short, as the ZooKeeper tests are — since a
// skipped integration test must not pass for a green one.
func requireAMQP(t testing.TB) string {
	t.Helper()
	u := os.Getenv(amqpEnv)
	if u == "" {
		if testing.Short() {
			t.Skip("-short: no RabbitMQ")
		}
		t.Fatal(amqpEnv + " is not set: run `.ci/rabbitmq.sh start` and " + amqpEnv +
			"=amqp://guest:guest@127.0.0.1:5672/ go test ./events/ (or make test, which does both)")
	}
	return u
}

func ctxFor(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func quietLogger() *slog.Logger {
	if os.Getenv("LYMPH_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// recv waits for the next value on ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLong):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

func eventually(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustOpen(t testing.TB, url string) *Bus {
	t.Helper()
	b, err := Open(url, WithLogger(quietLogger()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}
