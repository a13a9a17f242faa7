package main

import (
	"bufio"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/logstream"
	"github.com/lymphgo/lymph/registry"
)

// loggingEcho is an echo instance with a log stream, registered in regURL.
type loggingEcho struct {
	c      *lymph.Container
	pub    *logstream.Publisher
	logger *slog.Logger
}

func startLoggingEcho(t *testing.T, regURL string) *loggingEcho {
	t.Helper()
	pub, err := logstream.Listen("tcp://127.0.0.1:0", nil)
	require.NoError(t, err)
	logger := slog.New(pub.Handler(&logstream.HandlerOptions{Name: "echo"}))
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL(regURL),
		lymph.WithLogger(logger), lymph.WithLogEndpoint(pub.Endpoint()), lymph.WithoutHeartbeat())
	require.NoError(t, err)
	require.NoError(t, c.Install(&echoService{}, echoOpts...))
	require.NoError(t, c.Start(context.Background()))
	e := &loggingEcho{c: c, pub: pub, logger: logger}
	t.Cleanup(e.stop)
	return e
}

func (e *loggingEcho) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.c.Stop(ctx)
	_ = e.pub.Close()
}

// runningCLI is the CLI running in-process until stopped.
type runningCLI struct {
	cancel         context.CancelFunc
	done           chan int
	stdout, stderr *syncBuffer
}

func startCLI(t *testing.T, args ...string) *runningCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningCLI{cancel: cancel, done: make(chan int, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() { r.done <- run(ctx, args, r.stdout, r.stderr, strings.NewReader("")) }()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *runningCLI) stop() int {
	r.cancel()
	code, ok := <-r.done
	if ok {
		close(r.done)
	}
	return code
}

// waitFor logs with log until want shows in buf.
func waitFor(t *testing.T, buf *syncBuffer, want string, log func()) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never showed; output:\n%s", want, buf.String())
		}
		log()
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	first := startLoggingEcho(t, reg)
	tail := startCLI(t, "--registry", reg, "tail", "-l", "INFO", "echo")

	prefix := "[" + first.c.Endpoint() + "][" + first.c.Identity()[:10] + "] "
	waitFor(t, tail.stderr, prefix+"[WARNING] ", func() { first.logger.Warn("first up") })
	assert.Regexp(t, `\Q`+prefix+`\E\[WARNING\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[WARNING\] echo: first up - trace_id="None"`, tail.stderr.String())

	// Below --level: not shown, though sent after a shown record.
	first.logger.Debug("too chatty")
	waitFor(t, tail.stderr, "marker", func() { first.logger.Info("marker") })
	assert.NotContains(t, tail.stderr.String(), "too chatty")

	// An instance that comes later is followed too.
	second := startLoggingEcho(t, reg)
	waitFor(t, tail.stderr, "["+second.c.Endpoint()+"]", func() { second.logger.Error("second up") })

	// One that goes away is dropped; the others stay followed.
	first.stop()
	waitFor(t, tail.stderr, "still here", func() { second.logger.Info("still here") })
	assert.Equal(t, 0, tail.stop(), tail.stderr.String())
	assert.Empty(t, tail.stdout.String())
}

func TestTailPython(t *testing.T) {
	t.Parallel()
	requirePython(t)
	cmd := exec.Command(python, "../../interop/lymph_peer.py", "logpub", "--name", "pyecho")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	logEndpoint := strings.TrimPrefix(strings.TrimSpace(line), "READY ")

	// Registered as a Python instance registers itself.
	regURL := memoryRegistry(t)
	reg, err := registry.Open(regURL)
	require.NoError(t, err)
	defer reg.Close()
	inst, err := registry.NewInstance("pyecho", "tcp://127.0.0.1:1", "")
	require.NoError(t, err)
	inst.Fields = map[string]any{"log_endpoint": logEndpoint}
	require.NoError(t, reg.Register(context.Background(), inst))

	tail := startCLI(t, "--registry", regURL, "tail", "-l", "WARNING", "pyecho")
	waitFor(t, tail.stderr, "[CRITICAL]", func() {}) // the peer logs by itself
	out := tail.stderr.String()
	assert.Contains(t, out, "[tcp://127.0.0.1:1]["+inst.Identity[:10]+"] [CRITICAL] ")
	assert.Regexp(t, `\[CRITICAL\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[CRITICAL\] pyecho: record \d+ - trace_id="(None|[0-9a-f]{32})"`, out)
	assert.NotContains(t, out, "[INFO]", "below --level")
	assert.NotContains(t, out, "[DEBUG]")
}

func TestTailErrors(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	startEcho(t, reg) // no log stream: log_endpoint null
	r := cli(t, "", "--registry", reg, "tail", "echo", "nosuch")
	assert.Equal(t, exitUsage, r.code)
	assert.Equal(t, "Couldn't connect to log endpoint of 'echo'\nCouldn't connect to log endpoint of 'nosuch'\n", r.stdout)
	oneErrorLine(t, r, "no instance with a log endpoint")

	r = cli(t, "", "--registry", reg, "tail", "-l", "LOUD", "echo")
	assert.Equal(t, exitUsage, r.code)
	r = cli(t, "", "--registry", reg, "tail")
	assert.Equal(t, exitUsage, r.code)
}
