package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMemory(t *testing.T) {
	ns := randomName("conformance")
	testConformance(t, func(t *testing.T) Registry {
		r, err := Open("memory:" + ns)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	})
}

func TestMemoryNamespaces(t *testing.T) {
	ctx := ctxFor(t)
	open := func(url string) Registry {
		r, err := Open(url)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	shared1, shared2 := open("memory:"), open("memory:")
	ns1, ns1again, ns2 := open("memory:ns1-"+t.Name()), open("memory://ns1-"+t.Name()), open("memory:ns2-"+t.Name())

	name := randomName("svc")
	require.NoError(t, shared1.Register(ctx, instance(t, name, 1, "")))
	require.NoError(t, ns1.Register(ctx, instance(t, name, 2, "")))

	count := func(r Registry) int {
		got, err := r.Lookup(ctx, name)
		require.NoError(t, err)
		return len(got)
	}
	assert.Equal(t, 1, count(shared2), `all "memory:" registries share one namespace`)
	assert.Equal(t, 1, count(ns1again), "memory:NAME and memory://NAME are the same namespace")
	assert.Equal(t, 0, count(ns2), "other namespaces see nothing")
}
