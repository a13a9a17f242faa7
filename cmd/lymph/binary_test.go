package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinary builds the lymph command and runs it as a process against a
// service registered in a local: registry, which works across processes:
// what a user gets, exit codes and signals included.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not building the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "lymph")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	reg := "local://" + t.TempDir()
	svc := startEcho(t, reg)

	// lymph runs the binary; its output goes to pipes, so no colours.
	lymph := func(args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--registry", reg}, args...)...)
		cmd.Env = append(os.Environ(), "LYMPH_REGISTRY=", "NO_COLOR=")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), o.String(), e.String()
		}
		require.NoError(t, err)
		return 0, o.String(), e.String()
	}

	code, stdout, stderr := lymph("request", "--json", "echo.upper", `{"text": "hi"}`)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"HI\"\n", stdout)

	code, stdout, stderr = lymph("request", "echo.values")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stdout, "\x1b[", "plain when piped")
	assert.Contains(t, stdout, `"price": Decimal("1.10")`)

	code, stdout, _ = lymph("discover", "--json")
	require.Equal(t, 0, code)
	var services map[string][]map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &services), stdout)
	require.Len(t, services, 3)
	assert.Equal(t, svc.Endpoint(), services["echo"][0]["endpoint"])

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"request", "echo.fail", `{"text": "no"}`}, 3, "lymph: remote error from " + svc.Endpoint() + ": Nope: no"},
		{[]string{"request", "echo.nope"}, 2, "lymph: NACK"},
		{[]string{"request", "--timeout", "0.2", "echo.sleep", `{"seconds": 0.5}`}, 4, "lymph: timeout: echo.sleep: no reply within 200ms"},
		{[]string{"request", "nosuch.x"}, 5, "lymph: lookup failure"},
		{[]string{"ping", "tcp://127.0.0.1:1"}, 5, "lymph: not connected"},
		{[]string{"request", "echo.upper", "{oops"}, 1, "lymph: PARAMS is not valid JSON"},
		{[]string{"request", "upper"}, 1, "lymph: bad subject"},
		{[]string{"--registry", "nope:x", "discover"}, 1, "lymph: registry: unknown registry scheme"},
	} {
		code, stdout, stderr := lymph(tc.args...)
		assert.Equal(t, tc.code, code, "%v: stdout %q stderr %q", tc.args, stdout, stderr)
		assert.True(t, strings.HasPrefix(stderr, tc.want), "%v: stderr %q", tc.args, stderr)
		assert.NotContains(t, stderr, "goroutine", "no panic")
	}

	code, stdout, stderr = lymph("request", "-N", "50", "-C", "4", "echo.upper", `{"text": "hi"}`)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "Requests per second:")
	assert.Contains(t, stdout, "(#req=50)")

	t.Run("interrupt", func(t *testing.T) {
		// SIGINT stops a load run: it prints what it measured and exits 130.
		cmd := exec.Command(bin, "--registry", reg, "request", "-N", "1000000", "-C", "2", "echo.sleep", `{"seconds": 0.005}`)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		require.NoError(t, cmd.Start())
		time.Sleep(500 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		err := cmd.Wait()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "stdout %q stderr %q", o.String(), e.String())
		assert.Equal(t, exitInterrupted, exit.ExitCode())
		assert.Contains(t, o.String(), "Requests per second:")
		assert.Equal(t, "lymph: interrupted\n", e.String())
	})
}
