package lymph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeparateReplies: a client with WithSeparateReplies is answered the
// lymph way, on a connection the server dials to it; without it, on the
// request's connection.
func TestSeparateReplies(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&documented{}, WithName("doc")))
	})
	ctx := testContext(t)
	for _, tc := range []struct {
		name     string
		opts     []ContainerOption
		shared   int64
		dialBack bool
	}{
		{"default", nil, 1, false},
		{"separate", []ContainerOption{WithSeparateReplies()}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := startContainer(t, reg, nil, tc.opts...)
			var out string // documented's methods answer ""
			require.NoError(t, client.Proxy("doc", WithInstance(server.Endpoint())).Call(ctx, "upper", textArgs{Text: "a"}, &out))
			tr := server.tr.Load()
			assert.Equal(t, tc.dialBack, tr.Connected(client.Endpoint()), "the server dialed the client")
			assert.EqualValues(t, tc.shared, client.tr.Load().Stats().Shared)
			require.NoError(t, client.Stop(ctx))
		})
	}
}
