// Package pypeer runs the project's independent Python lymph peer
// (interop/lymph_peer.py, on Debian's python3-zmq and python3-msgpack) for
// the interop tests of several packages.
package pypeer

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Python is the interpreter the peers run on: the system's, with Debian's
// packages.
const Python = "/usr/bin/python3"

// Script returns the path of an interop script, e.g. "lymph_peer.py".
func Script(name string) string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "interop", name)
}

// Require fails the test when Python or its packages are missing: a
// skipped interop test must not pass for a green one.
func Require(t testing.TB) {
	t.Helper()
	if err := exec.Command(Python, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatalf("this test needs %s with python3-zmq and python3-msgpack (apt-get install -y python3-zmq python3-msgpack): %v", Python, err)
	}
}

// Serve runs lymph_peer.py serve with args and returns the endpoint it
// reports; the peer is interrupted when the test ends.
func Serve(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(Python, append([]string{Script("lymph_peer.py"), "serve"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("lymph_peer.py serve: %v", err)
	}
	ep, ok := strings.CutPrefix(strings.TrimSpace(line), "READY ")
	if !ok {
		t.Fatalf("lymph_peer.py serve: unexpected first line %q", line)
	}
	return ep
}
