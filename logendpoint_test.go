package lymph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithLogEndpoint(t *testing.T) {
	reg := memoryRegistry(t)
	ctx := testContext(t)
	with := startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&testService{}, WithName("logged"))) },
		WithLogEndpoint("tcp://127.0.0.1:9999"))
	without := startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&testService{}, WithName("logged"))) })

	for _, name := range []string{"logged", "lymph"} {
		instances, err := reg.Lookup(ctx, name)
		require.NoError(t, err)
		byEndpoint := map[string]any{}
		for _, inst := range instances {
			byEndpoint[inst.Endpoint] = inst.Fields["log_endpoint"]
		}
		assert.Equal(t, "tcp://127.0.0.1:9999", byEndpoint[with.Endpoint()], "%s: every interface publishes it", name)
		assert.Nil(t, byEndpoint[without.Endpoint()], "%s: null without a log stream, as lymph writes it", name)
		assert.Contains(t, byEndpoint, without.Endpoint())
	}
}
