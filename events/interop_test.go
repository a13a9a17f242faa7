package events

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Python peer (../interop/events_peer.py) is an independent
// implementation of lymph's layout on Debian's python3-kombu and
// python3-msgpack: these tests exchange events with it both ways.

const peerScript = "../interop/events_peer.py"

func requirePython(t *testing.T) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import kombu, msgpack").CombinedOutput()
	if err != nil {
		t.Fatalf("the Python peer needs /usr/bin/python3 with Debian's python3-kombu and python3-msgpack "+
			"(apt-get install python3-kombu python3-msgpack; scripts/test.sh installs them): %v\n%s", err, out)
	}
}

func pyPublish(t *testing.T, url string, args ...string) {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", append([]string{peerScript, "publish", url}, args...)...).CombinedOutput()
	require.NoError(t, err, "python publish: %s", out)
}

type pyEvent struct {
	Type         string         `json:"type"`
	Body         map[string]any `json:"body"`
	Headers      map[string]any `json:"headers"`
	Source       string         `json:"source"`
	ContentType  string         `json:"content_type"`
	DeliveryMode int            `json:"delivery_mode"`
}

type pyConsumer struct {
	events chan pyEvent
	stdin  io.WriteCloser
	cmd    *exec.Cmd
	stderr *strings.Builder
	once   sync.Once
	err    error
}

// pyConsume starts the peer's consumer and waits until it consumes.
func pyConsume(t *testing.T, url string, args ...string) *pyConsumer {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{peerScript, "consume", url}, args...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &pyConsumer{events: make(chan pyEvent, 1000), stdin: stdin, cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	ready := make(chan struct{})
	go func() {
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first && sc.Text() == "READY" {
				first = false
				close(ready)
				continue
			}
			var ev pyEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
		if first {
			close(ready)
		}
	}()
	t.Cleanup(func() { _ = p.stop() })
	select {
	case <-ready:
	case <-time.After(waitLong):
		t.Fatal("the Python consumer never got ready")
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("the Python consumer exited: %s", p.stderr)
	}
	return p
}

// stop closes the peer's stdin and returns its exit error with stderr.
func (p *pyConsumer) stop() error {
	p.once.Do(func() {
		_ = p.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				p.err = fmt.Errorf("%w: %s", err, p.stderr)
			}
		case <-time.After(waitLong):
			_ = p.cmd.Process.Kill()
			<-done
			p.err = fmt.Errorf("python consumer did not exit")
		}
	})
	return p.err
}

func TestPythonInterop(t *testing.T) {
	url := requireAMQP(t)
	requirePython(t)

	t.Run("PythonToGo", func(t *testing.T) {
		b := mustOpen(t, url)
		typ := randomName("py")
		h, got := collect()
		subscribe(t, b, Subscription{Queue: randomName("svc-on_py"), Types: []string{typ}}, h)
		pyPublish(t, url, typ, `{"a": 1, "s": "text"}`, "--trace-id", "py-trace", "--count", "3")
		seen := map[int]bool{}
		for range 3 {
			ev := recv(t, got, "a Python event")
			assert.Equal(t, typ, ev.Type)
			assert.Equal(t, "py-trace", ev.TraceID())
			assert.Equal(t, "python-peer", ev.Source)
			var body struct {
				A int    `msgpack:"a"`
				S string `msgpack:"s"`
				I int    `msgpack:"i"`
			}
			require.NoError(t, ev.Decode(&body))
			assert.Equal(t, 1, body.A)
			assert.Equal(t, "text", body.S)
			seen[body.I] = true
		}
		assert.Equal(t, map[int]bool{0: true, 1: true, 2: true}, seen)
	})

	t.Run("PythonDelayedToGo", func(t *testing.T) {
		b := mustOpen(t, url)
		typ := randomName("py")
		h, got := collect()
		subscribe(t, b, Subscription{Queue: randomName("svc-on_py"), Types: []string{typ}}, h)
		pyPublish(t, url, typ, `{"late": true}`, "--delay", "200")
		ev := recv(t, got, "the delayed Python event")
		assert.Equal(t, true, ev.Body.(map[string]any)["late"])
	})

	t.Run("GoToPython", func(t *testing.T) {
		ctx := ctxFor(t)
		b := mustOpen(t, url)
		typ := randomName("go")
		p := pyConsume(t, url, randomName("pysvc-on_go"), typ+".#")
		require.NoError(t, b.Emit(ctx, typ+".x", map[string]any{"n": 1, "s": "ü"}, WithTraceID("go-trace"), WithSource("go-src")))
		require.NoError(t, b.Emit(ctx, typ, map[string]any{"n": 2}, Delay(150*time.Millisecond)))
		ev := recv(t, p.events, "Go's event in Python")
		assert.Equal(t, pyEvent{Type: typ + ".x", Body: map[string]any{"n": float64(1), "s": "ü"}, Headers: map[string]any{"trace_id": "go-trace"},
			Source: "go-src", ContentType: ContentType, DeliveryMode: 2}, ev)
		ev = recv(t, p.events, "Go's delayed event in Python")
		assert.Equal(t, typ, ev.Type)
		assert.Equal(t, float64(2), ev.Body["n"])
		require.NoError(t, p.stop(), "the peer saw no error (no 406)")
	})

	for _, pythonFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("SharedQueue/pythonDeclaresFirst=%v", pythonFirst), func(t *testing.T) {
			ctx := ctxFor(t)
			b, emitter := mustOpen(t, url), mustOpen(t, url)
			typ, queue := randomName("shared"), randomName("svc-on_shared")
			var mu sync.Mutex
			goSeen := map[int]int{}
			goCount := make(chan struct{}, 1000)
			h := func(_ context.Context, ev *Event) error {
				var n numbered
				if err := ev.Decode(&n); err != nil {
					return err
				}
				mu.Lock()
				goSeen[n.N]++
				mu.Unlock()
				goCount <- struct{}{}
				return nil
			}
			var p *pyConsumer
			if pythonFirst {
				p = pyConsume(t, url, queue, typ)
				subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
			} else {
				subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
				p = pyConsume(t, url, queue, typ)
			}
			const total = 40
			for i := range total {
				require.NoError(t, emitter.Emit(ctx, typ, numbered{N: i}))
			}
			pySeen := map[int]int{}
			for n := 0; n < total; n++ {
				select {
				case ev := <-p.events:
					pySeen[int(ev.Body["n"].(float64))]++
				case <-goCount:
				case <-time.After(waitLong):
					t.Fatalf("only %d of %d events handled", n, total)
				}
			}
			require.NoError(t, p.stop(), "the Python consumer shared the queue without an error (no 406)")
			mu.Lock()
			defer mu.Unlock()
			for i := range total {
				assert.Equal(t, 1, goSeen[i]+pySeen[i], "event %d handled once (Go %d, Python %d)", i, goSeen[i], pySeen[i])
			}
		})
	}
}
