package lymph

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientCallAllocations counts the allocations of the whole client
// path of a synchronous call — encoding, sending, the transport reading the
// reply, waking the caller, decoding — with the server in another process,
// so that only the client's allocations are counted. The target is at most
// ten per call.
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
	assert.LessOrEqual(t, allocs, 10.0)
	assert.Equal(t, "HELLO", out)
}
