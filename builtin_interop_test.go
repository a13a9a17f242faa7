package lymph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInteropBuiltinWithPython checks the builtin interface's points where
// Go once differed from Python lymph, against the project's Python peer, in
// both directions.
func TestInteropBuiltinWithPython(t *testing.T) {
	requirePython(t)

	t.Run("Python calls Go", func(t *testing.T) {
		ep, _ := startExample(t, "memory:")
		r := pyCall(t, ep, "lymph.ping", `{}`)
		assert.Equal(t, "REP", r.Type, "ping without a payload")
		assert.Nil(t, r.Body)
		assert.Equal(t, BuiltinVersion, r.Headers["version"])

		for _, v := range []string{"0.16.0", "0.16.0-dev"} { // lymph@0.16 and Python lymph's own version
			r = pyCall(t, ep, "lymph.status", `{}`, "--version", v)
			assert.Equal(t, "REP", r.Type, "a call for lymph@%s is served by a Go instance", v)
			assert.Equal(t, BuiltinVersion, r.Headers["version"])
		}
		r = pyCall(t, ep, "lymph.status", `{}`, "--version", "1.0.0")
		assert.Equal(t, "NACK", r.Type, "another major is not")
	})

	t.Run("Go calls Python", func(t *testing.T) {
		pyEndpoint := startPythonService(t)
		client := startContainer(t, memoryRegistry(t), nil)
		ctx := testContext(t)
		msg, err := client.Proxy("lymph", WithInstance(pyEndpoint)).Request(ctx, "ping", nil)
		require.NoError(t, err)
		assert.Equal(t, TypeReply, msg.Type, "Python answers a ping without payload too")
		var out any
		require.NoError(t, msg.Decode(&out))
		assert.Nil(t, out)

		// Naive and aware datetimes through Python and back.
		naive := time.Date(2024, 1, 31, 12, 30, 15, 0, Naive)
		aware := time.Date(2024, 1, 31, 12, 30, 15, 0, time.FixedZone("", -7200))
		var back map[string]time.Time
		p := client.Proxy("pyecho", WithInstance(pyEndpoint))
		require.NoError(t, p.Call(ctx, "echo_types", map[string]any{"value": map[string]any{"naive": naive, "aware": aware}}, &back))
		assert.True(t, IsNaive(back["naive"]), "naive stays naive: %v", back["naive"])
		assert.Equal(t, naive, back["naive"])
		assert.False(t, IsNaive(back["aware"]))
		assert.True(t, aware.Equal(back["aware"]))
		_, off := back["aware"].Zone()
		assert.Equal(t, -7200, off)
	})
}
