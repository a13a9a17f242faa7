package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricValue(t *testing.T) {
	// The shape lymph.get_metrics returns once decoded: [name, value, tags].
	ms := []any{
		[]any{"rpc.requests", uint64(5), map[string]any{"subject": "echo.echo"}},
		[]any{"rpc.requests", int8(2), map[string]any{"subject": "lymph.ping"}},
		[]any{"transport.dial_failures", uint16(600), map[string]any{}},
		[]any{"transport.peer_connected", true, map[string]any{"peer": "x"}},
		"not a metric",
	}
	v, ok := metricValue(ms, "rpc.requests", "subject", "echo.echo")
	assert.True(t, ok)
	assert.Equal(t, 5.0, v)
	v, ok = metricValue(ms, "rpc.requests", "", "")
	assert.True(t, ok)
	assert.Equal(t, 7.0, v, "all tags summed")
	v, _ = metricValue(ms, "transport.dial_failures", "", "")
	assert.Equal(t, 600.0, v)
	_, ok = metricValue(ms, "transport.peer_connected", "", "")
	assert.False(t, ok, "a boolean is no number")
	_, ok = metricValue(ms, "rpc.requests", "subject", "nope")
	assert.False(t, ok)
}

func TestReadUsage(t *testing.T) {
	u, err := readUsage(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, u.rssKiB)
	assert.GreaterOrEqual(t, u.fds, 3)
	_, err = readUsage(-1)
	assert.Error(t, err)
}

func TestNeighbourFrames(t *testing.T) {
	g := zmtpGreeting()
	require.Len(t, g, 64)
	assert.Equal(t, []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 3, 0}, g[:12])
	assert.Equal(t, "NULL", string(g[12:16]))
	assert.Equal(t, []byte{0x06, 0x40, 0, 0, 0, 0, 0, 0, 0}, hugeFrame(true))
	assert.Equal(t, byte(0x02), hugeFrame(false)[0])
}
