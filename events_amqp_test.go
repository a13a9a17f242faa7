package lymph

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireAMQP returns the test RabbitMQ's URL; without one the test fails
// (skipped only under -short), as the ZooKeeper tests do.
func requireAMQP(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LYMPH_TEST_AMQP")
	if u == "" {
		if testing.Short() {
			t.Skip("-short: no RabbitMQ")
		}
		t.Fatal("LYMPH_TEST_AMQP is not set: run `.ci/rabbitmq.sh start` and LYMPH_TEST_AMQP=amqp://guest:guest@127.0.0.1:5672/ go test ./... (or make test, which does both)")
	}
	return u
}

// A container's handlers and emits on RabbitMQ, against the independent
// Python peer (interop/events_peer.py): Python's event reaches the Go
// handler with its trace id on the context, and Go's emit reaches a Python
// consumer with the container's identity as source.
func TestEventsContainerWithPython(t *testing.T) {
	url := requireAMQP(t)
	svc := newUserEvents()
	name := "users" + uuid.NewString()[:8]
	c := startContainer(t, memoryRegistry(t), func(c *Container) {
		require.NoError(t, c.Install(svc, WithName(name), WithHandler("OnCreated", name+".created")))
	}, WithEvents(url))

	// Python -> Go.
	out, err := exec.Command("/usr/bin/python3", "interop/events_peer.py", "publish", url, name+".created", `{"id": 5, "name": "py"}`, "--trace-id", "py-trace").CombinedOutput()
	require.NoError(t, err, "python publish: %s", out)
	ev := recvT(t, svc.got)
	var u user
	require.NoError(t, ev.Decode(&u))
	assert.Equal(t, user{ID: 5, Name: "py"}, u)
	assert.Equal(t, "py-trace", recvT(t, svc.traces))
	require.NoError(t, recvT(t, svc.emitted))

	// Go -> Python.
	cmd := exec.Command("/usr/bin/python3", "interop/events_peer.py", "consume", url, "pyside-"+name, name+".ping", "--broadcast")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	require.Equal(t, "READY", recvLine(t, lines))
	require.NoError(t, c.Emit(ContextWithTraceID(testContext(t), "go-trace"), name+".ping", map[string]any{"x": 1}))
	var got struct {
		Type    string         `json:"type"`
		Source  string         `json:"source"`
		Headers map[string]any `json:"headers"`
	}
	require.NoError(t, json.Unmarshal([]byte(recvLine(t, lines)), &got))
	assert.Equal(t, name+".ping", got.Type)
	assert.Equal(t, c.Identity(), got.Source)
	assert.Equal(t, "go-trace", got.Headers["trace_id"])
}

func recvLine(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-ch:
		require.True(t, ok, "the Python peer exited")
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("no line from the Python peer")
		return ""
	}
}
