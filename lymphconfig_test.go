package lymph

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "service.yml")
	require.NoError(t, os.WriteFile(path, []byte(`
name: ignored-when-env-set
container:
    ip: $(env.TEST_IP)
    port: 0
    log_endpoint: tcp://127.0.0.1:0
    events:
        class: lymph.events.kombu:KombuEventSystem
        hostname: 127.0.0.1
registry:
    class: lymph.discovery.static:StaticServiceRegistryHub
interfaces:
    echo: {class: "echo:Echo", greeting: hi}
`), 0o644))
	t.Setenv("TEST_IP", "127.0.0.1")
	t.Setenv("LYMPH_SERVICE_NAME", "echo")
	t.Setenv("LYMPH_NODE_CONFIG", "")
	t.Setenv("LYMPH_VARS", "")

	conf, err := FromConfig(path)
	require.NoError(t, err)
	assert.Equal(t, path, conf.Source)
	assert.Equal(t, "echo", conf.ServiceName)
	assert.Equal(t, "tcp://127.0.0.1:0", conf.Endpoint)
	assert.Equal(t, "memory:", conf.RegistryURL)
	assert.Equal(t, "tcp://127.0.0.1:0", conf.LogEndpoint)
	require.NotNil(t, conf.Events)
	assert.Equal(t, "amqp://guest:guest@127.0.0.1:5672/", conf.Events.URL)
	assert.Equal(t, "hi", conf.Values["interfaces"].(map[string]any)["echo"].(map[string]any)["greeting"])

	// The options make a container that runs where the file says.
	c, err := NewContainer(append(conf.Options(), WithLogger(quietLogger()))...)
	require.NoError(t, err)
	require.NoError(t, c.Install(&testService{}))
	ctx := testContext(t)
	require.NoError(t, c.Start(ctx))
	defer func() { require.NoError(t, c.Stop(context.Background())) }()
	assert.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, c.Endpoint())
	assert.Equal(t, "amqp://guest:guest@127.0.0.1:5672/", c.cfg.events.url, "the events section picks the backend")
	var out string
	require.NoError(t, c.Proxy("echo").Call(ctx, "upper", textArgs{Text: "a"}, &out), "installed under the configured name")
	assert.Equal(t, "A", out)

	_, err = FromConfig(filepath.Join(dir, "missing.yml"))
	assert.Error(t, err)
}
