package lymph

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// TestClientCallAllocations counts the allocations of the whole client
// path of a synchronous call — encoding, sending, the transport reading the
// reply, waking the caller, decoding — with the server in another process,
// so that only the client's allocations are counted. The target is at most
// six per call (#10 asked for seven).
func TestClientCallAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items on purpose); scripts/test.sh runs this without it")
	}
	endpoint, _ := startExample(t, "memory:")
	client := startContainer(t, memoryRegistry(t), nil, WithoutHeartbeat())
	p := client.Proxy("echo", WithInstance(endpoint))
	ctx := context.Background()
	args := textArgs{Text: "hello"}
	var out string
	require.NoError(t, p.Call(ctx, "upper", &args, &out))

	allocs := testing.AllocsPerRun(2000, func() {
		if err := p.Call(ctx, "upper", &args, &out); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per call", allocs)
	assert.LessOrEqual(t, allocs, 6.0)
	assert.Equal(t, "HELLO", out)
}

// TestClientCallByNameAllocations is TestClientCallAllocations for a call
// by service name through the registry, with ten versioned instances
// (1.0.0 to 1.9.0, all satisfying the proxy's 1.0): choosing an instance
// must cost no allocation of its own, so no version may be parsed per call.
// The instances are the example's processes, registered by hand in the
// client's registry with their versions.
func TestClientCallByNameAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items on purpose); scripts/test.sh runs this without it")
	}
	reg := memoryRegistry(t)
	ctx := testContext(t)
	for i := range 10 {
		version := fmt.Sprintf("1.%d.0", i)
		endpoint, _ := startExample(t, "memory:", "--version", version)
		inst, err := registry.NewInstance("echo", endpoint, version)
		require.NoError(t, err)
		require.NoError(t, reg.Register(ctx, inst))
	}
	client := startContainer(t, reg, nil, WithoutHeartbeat())
	p := client.Proxy("echo@1.0")
	args := textArgs{Text: "hello"}
	var out string
	// Warm every instance's connection and the resolver's watch.
	for range 100 {
		require.NoError(t, p.Call(ctx, "upper", &args, &out))
	}

	allocs := testing.AllocsPerRun(2000, func() {
		if err := p.Call(ctx, "upper", &args, &out); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per call by name", allocs)
	assert.LessOrEqual(t, allocs, 6.0)
	assert.Equal(t, "HELLO", out)
}
