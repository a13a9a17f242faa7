package transport

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdvertiseHostIsTheIdentity(t *testing.T) {
	in := newInbox()
	a := listen(t, Options{Endpoint: "tcp://0.0.0.0:0", AdvertiseHost: "127.0.0.1"})
	b := listen(t, Options{Handler: in.handler})

	host, port, err := net.SplitHostPort(a.ListenAddr())
	require.NoError(t, err)
	assert.True(t, net.ParseIP(host).IsUnspecified(), "bound to every address, not %s", host)
	assert.Equal(t, "tcp://127.0.0.1:"+port, a.Endpoint(), "known by the advertised host and the bound port")

	require.NoError(t, a.Send(testContext(t), b.Endpoint(), "id", "REQ", "x.y", testHeaders, nil))
	assert.Equal(t, a.Endpoint(), in.next(t).Sender, "the identity peers see and reply to")
}

func TestAdvertiseHostMustMakeAnEndpoint(t *testing.T) {
	_, err := Listen(context.Background(), Options{Endpoint: "tcp://127.0.0.1:0", AdvertiseHost: "a b"})
	assert.ErrorIs(t, err, ErrBadEndpoint)
}
