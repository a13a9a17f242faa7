package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
)

// startLogged runs an echo container in regURL whose log goes to the
// returned buffer.
func startLogged(t *testing.T, regURL string) (*lymph.Container, *syncBuffer) {
	t.Helper()
	var buf syncBuffer
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL(regURL),
		lymph.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))), lymph.WithoutHeartbeat())
	require.NoError(t, err)
	require.NoError(t, c.Install(&echoService{}, echoOpts...))
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c, &buf
}

func TestChangeLoglevel(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	_, log1 := startLogged(t, reg)
	svc2, log2 := startLogged(t, reg)

	t.Run("every instance of a service", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "change-loglevel", "-n", "lymph.core", "-l", "DEBUG", "-p", "30", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "Changing logger 'lymph.core' of 'echo' to 'DEBUG' for a period of 30.0 seconds\n", r.stdout)
		for i, log := range []*syncBuffer{log1, log2} {
			assert.Contains(t, log.String(), `msg="log level changed" qualname=lymph.core level=DEBUG period=30s`, "instance %d", i+1)
		}
	})
	t.Run("one endpoint", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "change-loglevel", "--level", "WARNING", svc2.Endpoint())
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "for a period of 60.0 seconds")
		assert.Contains(t, log2.String(), "level=WARN period=1m0s")
		assert.NotContains(t, log1.String(), "level=WARN")
	})
	t.Run("errors", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "change-loglevel", "-l", "LOUD", svc2.Endpoint())
		assert.Equal(t, exitNack, r.code, "the service refuses an unknown level")
		assert.Contains(t, r.stderr, svc2.Endpoint())

		r = cli(t, "", "--registry", reg, "change-loglevel", "-l", "INFO", "nosuch")
		assert.Equal(t, exitLookup, r.code)
		oneErrorLine(t, r, `no live instance of "nosuch"`)

		r = cli(t, "", "--registry", reg, "change-loglevel", "echo")
		assert.Equal(t, exitUsage, r.code, "--level is required")

		r = cli(t, "", "--registry", reg, "change-loglevel", "-l", "INFO", "-p", "0", "echo")
		assert.Equal(t, exitUsage, r.code)
		oneErrorLine(t, r, "--period")
	})
}

func TestChangeLoglevelPython(t *testing.T) {
	t.Parallel()
	ep := startPythonPeer(t)
	reg := memoryRegistry(t)
	r := cli(t, "", "--registry", reg, "change-loglevel", "-n", "lymph_peer", "-l", "DEBUG", "-p", "0.5", ep)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Changing logger 'lymph_peer' of '"+ep+"' to 'DEBUG' for a period of 0.5 seconds\n", r.stdout)

	r = cli(t, "", "--registry", reg, "change-loglevel", "-n", "x", "-l", "LOUD", ep)
	assert.Equal(t, exitNack, r.code, "Python's setLevel refuses the level: a NACK")
}

func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("LYMPH_NODE_CONFIG", "")
	t.Setenv("LYMPH_CONFIG", "")
	t.Setenv("LYMPH_NODE_IP", "")
	t.Setenv("LYMPH_VARS", "")
	t.Setenv("ECHO_PORT", "4000")
	writeConfig(t, ".lymph.yml", "name: echo\ncontainer: {port: $(env.ECHO_PORT)}\ninterfaces: {echo: {class: 'echo:Echo'}}\n")

	r := cli(t, "", "config")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "container:\n    ip: 127.0.0.1\n    port: \"4000\"\ninterfaces:\n    echo:\n        class: echo:Echo\nname: echo\n", r.stdout)

	r = cli(t, "", "--config", "missing.yml", "config")
	assert.Equal(t, exitUsage, r.code)
	oneErrorLine(t, r, "missing.yml")

	writeConfig(t, "bad.yml", "name: $(env.LYMPH_TEST_SURELY_UNSET)")
	r = cli(t, "", "--config", "bad.yml", "config")
	assert.Equal(t, exitUsage, r.code)
	oneErrorLine(t, r, "LYMPH_TEST_SURELY_UNSET")
	assert.False(t, strings.Contains(r.stdout, "name"), "nothing printed")
}

func writeConfig(t *testing.T, name, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, []byte(text), 0o644))
}
