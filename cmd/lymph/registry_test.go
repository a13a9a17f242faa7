package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

func TestRegistryFromConfig(t *testing.T) {
	t.Setenv("ZK_HOST", "zk.example")
	for _, tc := range []struct {
		name, yaml, want, err string
	}{
		{"container and dependency", `
dependencies:
    kazoo:
        class: kazoo.client:KazooClient
        hosts: 10.0.0.1:2181,10.0.0.2:2181
container:
    registry:
        class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
        zkclient: dep:kazoo
`, "zookeeper://10.0.0.1:2181,10.0.0.2:2181/lymph", ""},
		{"zkclient map with chroot", `
registry:
    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
    zkclient:
        class: kazoo.client:KazooClient
        hosts: "127.0.0.1:2181/mesh"
`, "zookeeper://127.0.0.1:2181/mesh", ""},
		{"old layout", `
registry:
    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
    hosts: 127.0.0.1:2181
    chroot: /other
`, "zookeeper://127.0.0.1:2181/other", ""},
		{"env substitution and list", `
registry:
    zkclient:
        hosts: ["$(env.ZK_HOST):2181", "b:2182"]
`, "zookeeper://zk.example:2181,b:2182/lymph", ""},
		{"no hosts: kazoo's default", "registry: {class: lymph.discovery.zookeeper:ZookeeperServiceRegistry}", "zookeeper://127.0.0.1:2181/lymph", ""},
		{"no registry", "container: {ip: 127.0.0.1}\nlogging: {}", "", ""},
		{"empty", "", "", ""},
		{"other class", "registry: {class: lymph.discovery.static:StaticServiceRegistryHub}", "", "is not supported"},
		{"missing dependency", "container: {registry: {zkclient: dep:nope}}", "", "not defined"},
		{"var substitution", "registry: {hosts: $(var.zk)}", "", "only $(env.NAME)"},
		{"bad yaml", "registry: [", "", "not valid YAML"},
		{"bad hosts", "registry: {hosts: {a: 1}}", "", "hosts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := registryFromConfig([]byte(tc.yaml))
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want != "", ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestResolveRegistry(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(registry.EnvVar, "")
	t.Setenv(nodeConfigEnv, "")

	src, err := resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, registrySource{registry.DefaultURL, "default"}, src, "nothing set: the default")

	node := filepath.Join(dir, "node.yml")
	require.NoError(t, os.WriteFile(node, []byte("registry: {hosts: node:2181}"), 0o644))
	t.Setenv(nodeConfigEnv, node)
	src, err = resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, "zookeeper://node:2181/lymph", src.url, "$LYMPH_NODE_CONFIG")

	require.NoError(t, os.WriteFile(".lymph.yml", []byte("registry: {hosts: cwd:2181}"), 0o644))
	src, err = resolveRegistry("", "")
	require.NoError(t, err)
	assert.Equal(t, registrySource{"zookeeper://cwd:2181/lymph", ".lymph.yml"}, src, ".lymph.yml wins over the node config")

	other := filepath.Join(dir, "other.yml")
	require.NoError(t, os.WriteFile(other, []byte("registry: {hosts: other:2181}"), 0o644))
	src, err = resolveRegistry("", other)
	require.NoError(t, err)
	assert.Equal(t, "zookeeper://other:2181/lymph", src.url, "--config replaces .lymph.yml")

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
