package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

func TestResolveRegistry(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(registry.EnvVar, "")
	t.Setenv("LYMPH_NODE_CONFIG", "")
	t.Setenv("LYMPH_CONFIG", "")

	src, err := resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, registrySource{registry.DefaultURL, "default"}, src, "nothing set: the default")

	node := filepath.Join(dir, "node.yml")
	require.NoError(t, os.WriteFile(node, []byte("registry: {hosts: node:2181}"), 0o644))
	t.Setenv("LYMPH_NODE_CONFIG", node)
	src, err = resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, "zookeeper://node:2181/lymph", src.url, "$LYMPH_NODE_CONFIG")

	require.NoError(t, os.WriteFile(".lymph.yml", []byte("registry: {hosts: cwd:2181}"), 0o644))
	src, err = resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, registrySource{"zookeeper://cwd:2181/lymph", ".lymph.yml (registry)"}, src, ".lymph.yml wins over the node config")

	other := filepath.Join(dir, "other.yml")
	require.NoError(t, os.WriteFile(other, []byte("registry: {hosts: other:2181}"), 0o644))
	src, err = resolveRegistry("", other)
	require.NoError(t, err)
	assert.Equal(t, "zookeeper://other:2181/lymph", src.url, "--config replaces .lymph.yml")

	t.Setenv("LYMPH_CONFIG", other)
	src, err = resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, "zookeeper://other:2181/lymph", src.url, "$LYMPH_CONFIG replaces .lymph.yml")
	t.Setenv("LYMPH_CONFIG", "")

	static := filepath.Join(dir, "static.yml")
	require.NoError(t, os.WriteFile(static, []byte("registry: {class: lymph.discovery.static:StaticServiceRegistryHub}"), 0o644))
	src, err = resolveRegistry("", static)
	require.NoError(t, err)
	assert.Equal(t, "memory:", src.url, "lymph's in-process static registry")

	t.Setenv(registry.EnvVar, "memory:env")
	src, err = resolveRegistry("", other)
	require.NoError(t, err)
	assert.Equal(t, registrySource{"memory:env", "$LYMPH_REGISTRY"}, src)

	src, err = resolveRegistry("memory:flag", other)
	require.NoError(t, err)
	assert.Equal(t, registrySource{"memory:flag", "--registry"}, src)

	t.Setenv(registry.EnvVar, "")
	_, err = resolveRegistry("", filepath.Join(dir, "missing.yml"))
	require.Error(t, err, "a --config file must exist")
	assert.Equal(t, exitUsage, exitCode(err))

	require.NoError(t, os.WriteFile(".lymph.yml", []byte("registry: {class: x.y:Z}"), 0o644))
	r := cli(t, "", "discover")
	assert.Equal(t, exitUsage, r.code)
	oneErrorLine(t, r, "config .lymph.yml", "x.y:Z")
}

// TestNoRegistryNeeded: a command sent to an endpoint needs no registry,
// so a config whose registry this tool cannot use does not stop it.
func TestNoRegistryNeeded(t *testing.T) {
	svc := startEcho(t, memoryRegistry(t))
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(registry.EnvVar, "")
	t.Setenv("LYMPH_NODE_CONFIG", "")
	t.Setenv("LYMPH_CONFIG", "")
	for _, conf := range []string{
		"registry: {class: lymph.discovery.static:StaticServiceRegistryHub}",
		"registry: {class: my.own:Registry}",
	} {
		require.NoError(t, os.WriteFile(".lymph.yml", []byte(conf), 0o644))
		for _, args := range [][]string{
			{"request", "--address", svc.Endpoint(), "echo.upper", `{"text": "a"}`},
			{"inspect", svc.Endpoint()},
			{"status", svc.Endpoint()},
			{"ping", "-n", "1", svc.Endpoint()},
		} {
			r := cli(t, "", args...)
			assert.Equal(t, 0, r.code, "%s with %s: %s", args[0], conf, r.stderr)
		}
		r := cli(t, "", "request", "echo.upper", `{"text": "a"}`)
		assert.NotEqual(t, 0, r.code, "a name needs the registry: %s", conf)
	}
}
