package lymph

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WithBusyPoll reaches the transport: with a budget, the replies of an
// instance in another process are read by polling; with 0, never.
func TestWithBusyPoll(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.NumCPU() < 2 {
		t.Skip("no busy polling here (only on unix, with 2 CPUs or more)")
	}
	endpoint, _ := startExample(t, "memory:")
	for _, tc := range []struct {
		budget time.Duration
		polls  bool
	}{
		// A second is longer than any wait here, so every read after
		// the first finds the connection busy.
		{budget: time.Second, polls: true},
		{budget: 0, polls: false},
	} {
		client := startContainer(t, memoryRegistry(t), nil, WithoutHeartbeat(), WithBusyPoll(tc.budget))
		ctx := testContext(t)
		for range 5 {
			var out string
			require.NoError(t, client.Proxy("echo", WithInstance(endpoint)).Call(ctx, "upper", textArgs{Text: "a"}, &out))
		}
		var metrics [][]any
		require.NoError(t, client.Proxy("lymph", WithInstance(client.Endpoint())).Call(ctx, "get_metrics", nil, &metrics))
		polls := -1
		for _, m := range metrics {
			if m[0] == "transport.busy_polls" {
				// Decoded as the narrowest int the value fits.
				n, err := strconv.Atoi(fmt.Sprint(m[1]))
				require.NoError(t, err)
				polls = n
			}
		}
		require.NotEqual(t, -1, polls, "no transport.busy_polls metric")
		if tc.polls {
			assert.Positive(t, polls, "WithBusyPoll(%v)", tc.budget)
		} else {
			assert.Zero(t, polls, "WithBusyPoll(%v)", tc.budget)
		}
	}
}
