package lymph

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

func TestServeStopsWhenTheContextEnds(t *testing.T) {
	reg := memoryRegistry(t)
	c, err := NewContainer(WithName("who"), WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	require.NoError(t, c.Install(&whoService{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, 5*time.Second) }()

	tctx := testContext(t)
	require.Eventually(t, func() bool {
		instances, _ := reg.Lookup(tctx, "who")
		return len(instances) == 1
	}, 10*time.Second, time.Millisecond, "registered")
	client := startContainer(t, reg, nil)
	var caller string
	require.NoError(t, client.Proxy("who").Call(tctx, "caller", nil, &caller), "serving")

	cancel()
	require.NoError(t, <-served, "a clean stop")
	assert.Equal(t, phaseStopped, c.currentPhase())
	instances, err := reg.Lookup(tctx, "who")
	require.NoError(t, err)
	assert.Empty(t, instances, "unregistered")
	assert.Error(t, client.Proxy("who").Call(tctx, "caller", nil, &caller), "nobody serves it now")
}

func TestServeReturnsStartsError(t *testing.T) {
	// A port already taken: only Start can find out.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	c, err := NewContainer(WithLogger(quietLogger()), WithRegistry(memoryRegistry(t)), WithEndpoint("tcp://"+taken.Addr().String()))
	require.NoError(t, err)
	err = c.Serve(context.Background(), time.Second)
	assert.ErrorContains(t, err, "lymph: start: ")
	assert.ErrorContains(t, err, taken.Addr().String())

	c, err = NewContainer(WithLogger(quietLogger()), WithRegistry(memoryRegistry(t)))
	require.NoError(t, err)
	for _, d := range []time.Duration{0, -time.Second} {
		err = c.Serve(context.Background(), d)
		assert.ErrorContains(t, err, "the stop timeout must be positive")
	}
	assert.Equal(t, phaseNew, c.currentPhase(), "nothing started")
}

// serveChildEnv, when set (to a registry URL), makes
// TestServeStopsGracefullyOnSIGTERM run the child's side: a service that
// Serve runs until its parent's SIGTERM.
const serveChildEnv = "LYMPH_TEST_SERVE_CHILD"

// serveChildStarted is what the child prints when its slow request is in
// flight.
const serveChildStarted = "serve-child: slow request started"

// slowService's Slow runs until its container is stopping: a request in
// flight when the signal arrives, whatever the timing.
type slowService struct {
	Interface
	c *Container
}

func (s *slowService) Slow(ctx context.Context) (string, error) {
	fmt.Println(serveChildStarted)
	for s.c.currentPhase() < phaseLeaving {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return "finished", nil
}

// TestServeStopsGracefullyOnSIGTERM runs a service in a child process (this
// test binary again), sends it SIGTERM while a request to it is in flight,
// and checks that the request gets its reply, the child unregisters and it
// exits 0: what a deploy's SIGTERM needs.
func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	if url := os.Getenv(serveChildEnv); url != "" {
		serveChild(t, url)
		return
	}
	url := "local://" + t.TempDir()
	reg, err := registry.Open(url)
	require.NoError(t, err)
	t.Cleanup(func() { reg.Close() })

	cmd := exec.Command(os.Args[0], "-test.run=^TestServeStopsGracefullyOnSIGTERM$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+url)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	started := make(chan struct{})
	output := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if sc.Text() == serveChildStarted {
				close(started)
			}
		}
		output <- all.String()
	}()

	ctx := testContext(t)
	require.Eventually(t, func() bool {
		instances, _ := reg.Lookup(ctx, "slow")
		return len(instances) == 1
	}, 10*time.Second, 5*time.Millisecond, "the child registers; stderr: %s", &stderr)
	client := startContainer(t, reg, nil)
	reply := client.Proxy("slow").Defer(ctx, "slow", nil)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatalf("the child never got the request; stderr: %s", stderr.String())
	}

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	var out string
	require.NoError(t, reply.Get(ctx, &out), "the request in flight got its reply")
	assert.Equal(t, "finished", out)
	childOut := <-output
	err = cmd.Wait()
	exited = true
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("the child exited with %d:\n%s\n%s", exit.ExitCode(), childOut, stderr.String())
	}
	require.NoError(t, err)
	instances, err := reg.Lookup(ctx, "slow")
	require.NoError(t, err)
	assert.Empty(t, instances, "the child unregistered")
}

// serveChild is the child's side of TestServeStopsGracefullyOnSIGTERM.
func serveChild(t *testing.T, registryURL string) {
	c, err := NewContainer(WithName("slow"), WithLogger(quietLogger()), WithRegistryURL(registryURL))
	require.NoError(t, err)
	require.NoError(t, c.Install(&slowService{c: c}))
	require.NoError(t, c.Serve(context.Background(), 10*time.Second))
	assert.Equal(t, phaseStopped, c.currentPhase())
}

func TestServeReturnsWhenStoppedElsewhere(t *testing.T) {
	reg := memoryRegistry(t)
	c, err := NewContainer(WithName("who"), WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	require.NoError(t, c.Install(&whoService{}))
	served := make(chan error, 1)
	go func() { served <- c.Serve(context.Background(), 5*time.Second) }()
	ctx := testContext(t)
	// Serving, not merely registered: a Stop during Start does nothing.
	require.Eventually(t, func() bool { return c.currentPhase() == phaseServing }, 10*time.Second, time.Millisecond)
	require.NoError(t, c.Stop(ctx))
	require.NoError(t, <-served)
	assert.Equal(t, phaseStopped, c.currentPhase())
}
