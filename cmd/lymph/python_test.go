package main

import (
	"github.com/lymphgo/lymph/internal/pypeer"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The CLI against the project's Python lymph peer (interop/lymph_peer.py):
// what Python lymph puts on the wire, the CLI must read as lymph's own tool
// does.

const python = pypeer.Python

func requirePython(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import zmq, msgpack").Run(); err != nil {
		t.Fatalf("these tests need %s with python3-zmq and python3-msgpack (apt-get install -y python3-zmq python3-msgpack): %v", python, err)
	}
}

// startPythonPeer runs lymph_peer.py serve with args and returns its
// endpoint; the peer stops when the test ends.
func startPythonPeer(t *testing.T, args ...string) string {
	t.Helper()
	requirePython(t)
	return pypeer.Serve(t, args...)
}

func TestPythonPeer(t *testing.T) {
	t.Parallel()
	// As real lymph: the builtin interface at lymph's version, and "None"
	// written as the version of unversioned methods.
	ep := startPythonPeer(t, "--name", "pyecho", "--builtin-version", "0.16.0-dev", "--inspect-str-version")
	reg := memoryRegistry(t)

	t.Run("inspect reads None as no version", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "inspect", ep)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "rpc pyecho.upper(text)\n")
		assert.Contains(t, r.stdout, "rpc lymph.ping@0.16.0-dev(payload)\n")
		assert.NotContains(t, r.stdout, "@None")

		r = cli(t, "", "--registry", reg, "inspect", "--json", ep)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, `"name": "pyecho.upper",`+"\n"+`    "version": null,`)
	})
	t.Run("floats print as Python prints them", func(t *testing.T) {
		for _, tc := range []struct{ in, pretty, json string }{
			{"3.0", "3.0", "3.0"},
			{"-0.5", "-0.5", "-0.5"},
			{"1e16", "1e+16", "1e+16"},
			{"1000000.0", "1000000.0", "1000000.0"},
			{"0.0001", "0.0001", "0.0001"},
			{"0.00001", "1e-05", "1e-05"},
			{"3", "3", "3"}, // an int stays an int
		} {
			r := cli(t, "", "--registry", reg, "request", "--address", ep, "pyecho.echo_types", `{"value": `+tc.in+`}`)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, tc.pretty+"\n", r.stdout, tc.in)
			r = cli(t, "", "--registry", reg, "request", "--json", "--address", ep, "pyecho.echo_types", `{"value": [`+tc.in+`]}`)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, "[\n  "+tc.json+"\n]\n", r.stdout, tc.in)
		}
	})
}
