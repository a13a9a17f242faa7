package transport

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The repository's independent Python peer (interop/README.md), on
// Debian's python3-zmq (libzmq): the real ZMTP implementation on the other
// side of the wire.
const (
	interopPython = "/usr/bin/python3"
	interopPeer   = "../../interop/lymph_peer.py"
)

func requirePythonPeer(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Python peer")
	}
	if _, err := os.Stat(interopPeer); err != nil {
		t.Fatal("no interop peer:", err)
	}
	if err := exec.Command(interopPython, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatal("interop tests need python3 with zmq and msgpack (apt-get install -y python3-zmq python3-msgpack, or make test):", err)
	}
}

// startPythonPeer runs `lymph_peer.py serve` and returns its endpoint.
func startPythonPeer(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(interopPython, interopPeer, "serve", "--name", "echo")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(testTimeout):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	ep, ok := strings.CutPrefix(strings.TrimSpace(line), "READY ")
	require.True(t, ok, line)
	return ep
}

// TestInteropGoToPython: requests to a libzmq peer, answered on the
// connection it dials back.
func TestInteropGoToPython(t *testing.T) {
	requirePythonPeer(t)
	ctx := testContext(t)
	py := startPythonPeer(t)
	in := newInbox()
	tr := listen(t, Options{Handler: in.handler})

	id := NewID()
	require.NoError(t, tr.Send(ctx, py, id, TypeREQ, "echo.upper", testHeaders, []byte("\x81\xa4text\xa3foo")))
	rep := in.next(t)
	assert.Equal(t, py, rep.Sender)
	assert.Equal(t, TypeREP, rep.Type)
	assert.Equal(t, id, rep.Subject)
	assert.Equal(t, "\xa3FOO", string(rep.Body))

	id = NewID()
	require.NoError(t, tr.Send(ctx, py, id, TypeREQ, "echo.nope", testHeaders, []byte("\x80")))
	assert.Equal(t, TypeNACK, in.next(t).Type)

	assert.True(t, tr.Connected(py))
}

// TestInteropPythonToGo: a libzmq client calls us and gets our reply.
func TestInteropPythonToGo(t *testing.T) {
	requirePythonPeer(t)
	tr := echoTransport(t, Options{})
	out, err := exec.Command(interopPython, interopPeer, "call", "--to", tr.Endpoint(),
		"echo.echo", `{"text": "hi"}`, "--count", "3").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 3)
	for _, l := range lines {
		var rep struct {
			Type string         `json:"type"`
			Body map[string]any `json:"body"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &rep), l)
		assert.Equal(t, TypeREP, rep.Type)
		assert.Equal(t, map[string]any{"text": "hi"}, rep.Body)
	}
}
