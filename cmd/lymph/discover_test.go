package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

func TestDiscover(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)
	id := svc.Identity()

	t.Run("services", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover")
		require.Equal(t, 0, r.code, r.stderr)
		// The CLI's own container is not registered: one instance each.
		assert.Equal(t, "echo [1]\nlymph [1]\nvecho [1]\n", r.stdout)
	})
	t.Run("instances and versions", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover", "--instances", "--versions", "vecho")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "vecho [1]\n   @1.2.0 [1]\n└─ ["+id[:10]+"] "+svc.Endpoint()+" @1.2.0\n", r.stdout)
	})
	t.Run("full", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover", "--full", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "└─ ["+id[:10]+"] "+svc.Endpoint()+"\n")
		assert.Contains(t, r.stdout, "\n   identity: \""+id+"\"\n")
		assert.Contains(t, r.stdout, "\n   id: \""+registry.InstanceID(id, "echo", "")+"\"\n")
		assert.Contains(t, r.stdout, "\n   version: null\n")
	})
	t.Run("json", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover", "--json")
		require.Equal(t, 0, r.code, r.stderr)
		// lymph's shape: {name: [instance.serialize(), ...]}.
		var services map[string][]map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &services), r.stdout)
		require.Len(t, services, 3)
		require.Len(t, services["echo"], 1)
		echo := services["echo"][0]
		assert.Equal(t, svc.Endpoint(), echo["endpoint"])
		assert.Equal(t, id, echo["identity"])
		assert.Equal(t, registry.InstanceID(id, "echo", ""), echo["id"])
		assert.Contains(t, echo, "version")
		assert.Nil(t, echo["version"])
		assert.Equal(t, "127.0.0.1", echo["ip"], "the other published fields too")
		assert.Equal(t, "1.2.0", services["vecho"][0]["version"])
		assert.Equal(t, "0.16.0", services["lymph"][0]["version"])

		r = cli(t, "", "--registry", reg, "discover", "--json", "nosuch")
		assert.Equal(t, exitLookup, r.code)
		assert.Equal(t, "{}\n", r.stdout, "no instances: left out, as lymph does")
	})
	t.Run("unknown name", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover", "nosuch")
		assert.Equal(t, exitLookup, r.code)
		assert.Equal(t, "nosuch [0]\n", r.stdout)
		oneErrorLine(t, r, `no live instance of "nosuch"`)
	})
	t.Run("bad name", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "discover", "a/b")
		assert.Equal(t, exitUsage, r.code)
	})
}

func TestDiscoverEmpty(t *testing.T) {
	t.Parallel()
	r := cli(t, "", "--registry", memoryRegistry(t), "discover")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "No registered services found\n", r.stdout)

	r = cli(t, "", "--registry", memoryRegistry(t), "discover", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "{}", strings.TrimSpace(r.stdout))
}
