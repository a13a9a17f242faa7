package registry

import (
	"encoding/json"
	"path"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testWeb(t *testing.T, r WebRegistry) {
	ctx := ctxFor(t)
	name := randomName("web")
	identity := Identity("tcp://127.0.0.1:4000")
	w := WebInstance{Name: name, Identity: identity, Version: "1.2", Hostname: "h", IP: "127.0.0.1", HTTPPort: 8080}
	require.NoError(t, r.RegisterWeb(ctx, w))
	got, err := r.LookupWeb(ctx, name)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, WebInstance{Name: name, ID: InstanceID(identity, name, "1.2.0"), Identity: identity, Version: "1.2.0",
		Hostname: "h", IP: "127.0.0.1", HTTPPort: 8080}, got[0])

	if reg, ok := r.(Registry); ok {
		services, err := reg.Lookup(ctx, name)
		require.NoError(t, err)
		assert.Empty(t, services, "the http namespace is not /services")
	}

	require.NoError(t, r.UnregisterWeb(ctx, w))
	got, err = r.LookupWeb(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, got)

	assert.Error(t, r.RegisterWeb(ctx, WebInstance{Name: name, Identity: identity}), "no port")
	assert.Error(t, r.RegisterWeb(ctx, WebInstance{Name: "a/b", Identity: identity, HTTPPort: 1}), "bad name")
}

func TestWebMemory(t *testing.T) {
	r, err := Open("memory:" + randomName("webns"))
	require.NoError(t, err)
	defer r.Close()
	testWeb(t, r.(WebRegistry))
}

func TestWebZooKeeper(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	r := openZK(t, addr, chroot, "")
	testWeb(t, r)

	// The node is what lymph writes: /http/NAME/ID, the six keys.
	ctx := ctxFor(t)
	w := WebInstance{Name: "shop", Identity: Identity("tcp://127.0.0.1:4001"), Hostname: "h", IP: "127.0.0.1", HTTPPort: 8081}
	require.NoError(t, r.RegisterWeb(ctx, w))
	conn := zkDirect(t, addr)
	id := InstanceID(w.Identity, "shop", "")
	data, stat, err := conn.Get(path.Join(chroot, "http", "shop", id))
	require.NoError(t, err)
	assert.NotZero(t, stat.EphemeralOwner, "ephemeral")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(data, &rec))
	assert.Equal(t, map[string]any{"id": id, "identity": w.Identity, "version": nil, "hostname": "h", "ip": "127.0.0.1", "http_port": 8081.0}, rec)

	require.NoError(t, r.Close())
	ok, _, err := conn.Exists(path.Join(chroot, "http", "shop", id))
	require.NoError(t, err)
	assert.False(t, ok, "gone with the session")
}
