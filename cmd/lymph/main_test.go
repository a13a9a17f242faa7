package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lymphgo/lymph"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoService is the service the CLI is tested against.
type echoService struct{ lymph.Interface }

type textArgs struct {
	Text string `msgpack:"text"`
}

type sleepArgs struct {
	Seconds float64 `msgpack:"seconds"`
}

var errNope = lymph.NewErrorType("Nope")

func (e *echoService) Upper(args textArgs) (string, error) { return strings.ToUpper(args.Text), nil }

func (e *echoService) Fail(args textArgs) error { return errNope.New(args.Text) }

func (e *echoService) Crash(args textArgs) error { return errors.New("not declared: a NACK") }

func (e *echoService) DoAck(ch *lymph.ReplyChannel) { _ = ch.Ack() }

func (e *echoService) Sleep(ctx context.Context, args sleepArgs) error {
	select {
	case <-time.After(time.Duration(args.Seconds * float64(time.Second))):
	case <-ctx.Done():
	}
	return nil
}

// Values returns one of each kind of value lymph can send.
func (e *echoService) Values() (map[string]any, error) {
	return map[string]any{
		"int":     int64(-3),
		"float":   1.5,
		"bytes":   []byte("raw\x00"),
		"when":    time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		"price":   lymph.Decimal("1.10"),
		"id":      uuid.MustParse("0b6e0c2e-2f7c-4d5f-9a37-6c1b0b0c2c51"),
		"tags":    lymph.Set{"a"},
		"nested":  map[string]any{"list": []any{1, "two", nil, true}},
		"unicode": "grüße <&>",
	}, nil
}

// echoOpts declares the service's error and help texts, as a real service
// would (with lymphdoc).
var echoOpts = []lymph.InstallOption{
	lymph.WithRaises("Fail", errNope),
	lymph.WithDoc("Upper", "Upper returns the text in upper case."),
	lymph.WithDoc("Fail", "Fail always raises the declared error Nope, with the text as its message. This help text is long enough to be wrapped at seventy columns."),
}

// quietLogger keeps the service's expected warnings out of the test output;
// LYMPH_TEST_LOG=1 shows them.
func quietLogger() *slog.Logger {
	if os.Getenv("LYMPH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// memoryRegistry returns a registry URL of its own for one test.
func memoryRegistry(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "memory:cli" + hex.EncodeToString(b)
}

// startEcho runs the echo service ("echo", and "vecho" at version 1.2.0)
// registered in regURL until the test ends.
func startEcho(t *testing.T, regURL string) *lymph.Container {
	t.Helper()
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL(regURL),
		lymph.WithLogger(quietLogger()), lymph.WithoutHeartbeat())
	require.NoError(t, err)
	require.NoError(t, c.Install(&echoService{}, echoOpts...))
	require.NoError(t, c.Install(&echoService{}, append([]lymph.InstallOption{lymph.WithName("vecho"), lymph.WithVersion("1.2.0")}, echoOpts...)...))
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

// result is one in-process run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI in-process with args, stdin as its standard input.
func cli(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr, strings.NewReader(stdin))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// oneErrorLine checks the promise of one clear line per failure.
func oneErrorLine(t *testing.T, r result, contains ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	require.NotEmpty(t, lines[0], "no error message")
	require.True(t, strings.HasPrefix(lines[0], "lymph: "), "error line %q", lines[0])
	for _, want := range contains {
		require.Contains(t, lines[0], want)
	}
	for _, l := range lines[1:] {
		require.True(t, strings.HasPrefix(l, "Run 'lymph"), "more than one error line: %q", r.stderr)
	}
	require.NotContains(t, r.stderr, "panic")
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
