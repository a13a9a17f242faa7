package lymph

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/lymphgo/lymph/internal/pypeer"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// The interop tests run the project's independent Python implementation of
// the lymph protocol (interop/lymph_peer.py, Debian's python3-zmq and
// python3-msgpack) against Go, in both directions. They need the system
// Python with those packages; .ci/run installs them.

const python = pypeer.Python

func requirePython(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatalf("interop tests need %s with python3-zmq and python3-msgpack (apt-get install -y python3-zmq python3-msgpack): %v", python, err)
	}
}

// pyReply is one line of lymph_peer.py call's output.
type pyReply struct {
	Type    string         `json:"type"`
	Body    any            `json:"body"`
	Headers map[string]any `json:"headers"`
}

// pyCall runs the Python client against endpoint.
func pyCall(t *testing.T, to, subject, kwargs string, extra ...string) pyReply {
	t.Helper()
	args := append([]string{"interop/lymph_peer.py", "call", "--to", to, "--timeout", "5", subject, kwargs}, extra...)
	out, err := exec.Command(python, args...).Output()
	require.NoError(t, err, "lymph_peer.py call %s: %s", subject, exitStderr(err))
	var r pyReply
	require.NoError(t, json.Unmarshal(out, &r), "output: %s", out)
	return r
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

var (
	exampleOnce sync.Once
	exampleBin  string
	exampleErr  error
)

// exampleBinary builds the echo example once per test run.
func exampleBinary(t *testing.T) string {
	t.Helper()
	exampleOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lymph-example")
		if err != nil {
			exampleErr = err
			return
		}
		exampleBin = filepath.Join(dir, "echo")
		out, err := exec.Command("go", "build", "-o", exampleBin, "./examples/echo").CombinedOutput()
		if err != nil {
			exampleErr = fmt.Errorf("building the example: %v\n%s", err, out)
		}
	})
	require.NoError(t, exampleErr)
	return exampleBin
}

// startExample runs the echo example's service, as a user would run it,
// registered in registryURL, and returns its endpoint and process. extra
// are more flags (e.g. --version 1.2.0).
func startExample(t *testing.T, registryURL string, extra ...string) (string, *exec.Cmd) {
	t.Helper()
	endpoint := deadEndpoint(t) // a free port, for the example to bind
	cmd := exec.Command(exampleBinary(t), append([]string{"serve", "--endpoint", endpoint, "--registry", registryURL}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "echo serving on "+endpoint)
	return endpoint, cmd
}

func TestInteropPythonCallsGoExample(t *testing.T) {
	requirePython(t)
	ep, _ := startExample(t, "memory:")

	r := pyCall(t, ep, "echo.upper", `{"text": "foo"}`, "--trace-id", "0123456789abcdef0123456789abcdef")
	assert.Equal(t, "REP", r.Type)
	assert.Equal(t, "FOO", r.Body)
	assert.Equal(t, "0123456789abcdef0123456789abcdef", r.Headers["trace_id"], "the reply carries the request's trace id")
	assert.Contains(t, r.Headers, "version")

	r = pyCall(t, ep, "echo.echo", `{"text": "raw"}`)
	assert.Equal(t, pyReply{Type: "REP", Body: "raw", Headers: r.Headers}, r)

	r = pyCall(t, ep, "echo.fail", `{"text": "no way"}`)
	assert.Equal(t, "ERROR", r.Type)
	assert.Equal(t, map[string]any{"type": "Nope", "message": "no way"}, r.Body)

	r = pyCall(t, ep, "echo.do_ack", `{}`)
	assert.Equal(t, "ACK", r.Type)
	assert.Nil(t, r.Body)

	for name, call := range map[string][2]string{
		"unknown method":    {"echo.nope", `{}`},
		"unknown interface": {"nope.upper", `{"text": "x"}`},
		"missing argument":  {"echo.upper", `{}`},
		"extra argument":    {"echo.upper", `{"text": "x", "y": 1}`},
		"ill-typed":         {"echo.upper", `{"text": 5}`},
		"not a map":         {"echo.upper", `["x"]`},
	} {
		r = pyCall(t, ep, call[0], call[1])
		assert.Equal(t, "NACK", r.Type, name)
		assert.Nil(t, r.Body, name)
		// lymph's dispatcher NACK carries the trace id; ours adds the reason,
		// which Python ignores.
		assert.ElementsMatch(t, []string{"nack_reason", "trace_id"}, keys(r.Headers), "%s: a dispatcher NACK carries trace_id and nack_reason", name)
		assert.NotEmpty(t, r.Headers["nack_reason"], name)
	}

	r = pyCall(t, ep, "echo.upper", "", "--raw-kwargs-hex", "c1")
	assert.Equal(t, "NACK", r.Type, "undecodable arguments")

	r = pyCall(t, ep, "lymph.ping", `{"payload": ""}`)
	assert.Equal(t, pyReply{Type: "REP", Body: "", Headers: r.Headers}, r, "heartbeat pings are answered")

	r = pyCall(t, ep, "lymph.status", `{}`)
	assert.Equal(t, map[string]any{"endpoint": ep, "identity": md5Identity(ep), "registration": "registered"}, r.Body)

	r = pyCall(t, ep, "lymph.inspect", `{}`)
	require.Equal(t, "REP", r.Type)
	methods := r.Body.(map[string]any)["methods"].([]any)
	var upper map[string]any
	for _, m := range methods {
		if m.(map[string]any)["name"] == "echo.upper" {
			upper = m.(map[string]any)
		}
	}
	require.NotNil(t, upper)
	assert.Equal(t, []any{"text"}, upper["params"])
	assert.Equal(t, "Upper returns the text in upper case.", upper["help"], "the doc comment, through lymphdoc")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func startPythonService(t *testing.T) string {
	t.Helper()
	return pypeer.Serve(t, "--name", "pyecho")
}

func TestInteropGoCallsPythonService(t *testing.T) {
	requirePython(t)
	pyEndpoint := startPythonService(t)

	reg := memoryRegistry(t)
	ctx := testContext(t)
	// Register the Python instance the way a registry would list it, so the
	// Go proxy finds it by name.
	require.NoError(t, reg.Register(ctx, instanceFor("pyecho", pyEndpoint)))
	client := startContainer(t, reg, nil)
	p := client.Proxy("pyecho")

	out, err := Call[string](ctx, p, "upper", textArgs{Text: "foo"})
	require.NoError(t, err)
	assert.Equal(t, "FOO", out)

	err = p.Call(ctx, "fail", textArgs{Text: "no way"}, nil)
	assert.Equal(t, &RemoteError{Type: "Nope", Message: "no way"}, err)

	msg, err := client.Proxy("pyecho").Request(ctx, "do_ack", nil)
	require.NoError(t, err)
	assert.Equal(t, TypeAck, msg.Type)

	assert.ErrorIs(t, p.Call(ctx, "nope", nil, nil), ErrNack)
	assert.ErrorIs(t, p.Call(ctx, "upper", map[string]any{"txt": "x"}, nil), ErrNack)

	id := NewTraceID()
	msg, err = client.Proxy("pyecho", WithInstance(pyEndpoint)).Request(ContextWithTraceID(ctx, id), "upper", textArgs{Text: "x"})
	require.NoError(t, err)
	assert.Equal(t, id, msg.TraceID())

	// lymph's extension values survive a trip through Python and back.
	when := time.Date(2024, 1, 31, 12, 30, 15, 0, time.FixedZone("", 3600))
	id4 := uuid.MustParse("12345678-1234-5678-1234-567812345678")
	values := map[string]any{
		"datetime": when,
		"date":     Date{Year: 2024, Month: time.February, Day: 29},
		"time":     TimeOfDay{Hour: 23, Minute: 59, Second: 1},
		"decimal":  Decimal("-12.50"),
		"uuid":     id4,
		"bytes":    []byte{0, 0xff},
		"text":     "héllo",
	}
	var back map[string]any
	require.NoError(t, p.Call(ctx, "echo_types", map[string]any{"value": values}, &back))
	assert.True(t, when.Equal(back["datetime"].(time.Time)), "datetime: %v", back["datetime"])
	assert.Equal(t, Date{Year: 2024, Month: time.February, Day: 29}, back["date"])
	assert.Equal(t, TimeOfDay{Hour: 23, Minute: 59, Second: 1}, back["time"])
	assert.Equal(t, Decimal("-12.50"), back["decimal"])
	assert.Equal(t, id4, back["uuid"])
	assert.Equal(t, []byte{0, 0xff}, back["bytes"])
	assert.Equal(t, "héllo", back["text"])

	var set Set
	require.NoError(t, p.Call(ctx, "echo_types", map[string]any{"value": Set{"a", "b"}}, &set))
	assert.ElementsMatch(t, []any{"a", "b"}, []any(set))

	// Our heartbeats reach the Python peer and its answers come back.
	require.Eventually(t, func() bool {
		for _, peer := range client.monitor.Peers() {
			if peer.Endpoint == pyEndpoint && peer.RTT.Samples > 0 {
				return true
			}
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
}

func md5Identity(endpoint string) string { return registry.Identity(endpoint) }

func instanceFor(name, endpoint string) registry.Instance {
	inst, err := registry.NewInstance(name, endpoint, "")
	if err != nil {
		panic(err)
	}
	return inst
}
