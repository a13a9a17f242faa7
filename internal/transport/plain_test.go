package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPlainAuth: a server with Credentials accepts the right user name and
// password and refuses the rest (zmq4's own PLAIN server accepts anyone).
func TestPlainAuth(t *testing.T) {
	ctx := testContext(t)
	creds := map[string]string{"alice": "s3cret", "bob": ""}
	server := echoTransport(t, Options{Credentials: creds})

	for _, tc := range []struct {
		name, user, pass string
		ok               bool
	}{
		{"right password", "alice", "s3cret", true},
		{"empty password", "bob", "", true},
		{"wrong password", "alice", "s3cre", false},
		{"password prefix", "alice", "s3cret!", false},
		{"unknown user", "carol", "s3cret", false},
		{"NULL mechanism", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInbox()
			client := listen(t, Options{Handler: in.handler, Username: tc.user, Password: tc.pass})
			err := client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil)
			if !tc.ok {
				assert.ErrorIs(t, err, ErrNotConnected)
				return
			}
			require.NoError(t, err)
			// The reply comes back on a connection the server dials
			// to the client, which has no Credentials: NULL.
			in.next(t)
		})
	}
	// The server counts a failed handshake after the client has seen it fail.
	require.Eventually(t, func() bool { return server.Stats().HandshakeFailures == 4 }, 5*time.Second, 5*time.Millisecond)
}

// TestPlainRedial: every dial authenticates afresh. zmq4's PLAIN client
// forgets its user name and password after one handshake, so reusing one
// would fail the second connection.
func TestPlainRedial(t *testing.T) {
	ctx := testContext(t)
	creds := map[string]string{"alice": "s3cret"}
	a := listen(t, Options{Credentials: creds})
	b := listen(t, Options{Credentials: creds})
	client := listen(t, Options{Username: "alice", Password: "s3cret"})
	require.NoError(t, client.Send(ctx, a.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	require.NoError(t, client.Send(ctx, b.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	eventually(t, "both received", func() bool { return a.Stats().MessagesIn == 1 && b.Stats().MessagesIn == 1 })
}

func TestParseHello(t *testing.T) {
	for _, tc := range []struct {
		in         string
		user, pass string
		ok         bool
	}{
		{"\x05alice\x02pw", "alice", "pw", true},
		{"\x00\x00", "", "", true},
		{"", "", "", false},
		{"\x05ali", "", "", false},
		{"\x05alice", "", "", false},
		{"\x05alice\x03pw", "", "", false},
		{"\x05alice\x02pwx", "", "", false},
	} {
		u, p, ok := parseHello([]byte(tc.in))
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		if ok {
			assert.Equal(t, tc.user, string(u))
			assert.Equal(t, tc.pass, string(p))
		}
	}
}
