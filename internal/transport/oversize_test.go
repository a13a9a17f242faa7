package transport

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOversizedMessages: what a message over MaxMessageSize gets, sent by
// hand. Within four times the limit, and with id, type and subject inside
// it, the message is read past and delivered as TooLarge, and the
// connection keeps working; otherwise the connection is closed before
// anything big is read or allocated.
func TestOversizedMessages(t *testing.T) {
	const max = 1000
	id, typ, subj := []byte(NewID()), []byte(TypeREQ), []byte("a.b")
	big := func(n int) []byte { return bytes.Repeat([]byte{0xc0}, n) }
	for _, tc := range []struct {
		name                  string
		frames                [][]byte
		delivered, closes     bool
		oversized, droppedBig uint64
	}{
		{name: "headers over", frames: [][]byte{id, typ, subj, big(max), nil}, delivered: true, oversized: 1},
		{name: "body over", frames: [][]byte{id, typ, subj, nil, big(2 * max)}, delivered: true, oversized: 1},
		{name: "both over, within 4x", frames: [][]byte{id, typ, subj, big(max), big(2 * max)}, delivered: true, oversized: 1},
		{name: "over 4x", frames: [][]byte{id, typ, subj, nil, big(4*max + 1)}, closes: true, droppedBig: 1},
		{name: "subject over", frames: [][]byte{id, typ, big(max + 1), nil, nil}, closes: true, droppedBig: 1},
		{name: "six frames over", frames: [][]byte{id, typ, subj, nil, big(max), nil}},
		{name: "bad type over", frames: [][]byte{id, []byte("XYZ"), subj, nil, big(max)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInbox()
			server := listen(t, Options{Handler: in.handler, MaxMessageSize: max})
			c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
			_, err := c.Write(message(tc.frames...))
			require.NoError(t, err)
			if tc.closes {
				waitClosed(t, c)
			} else {
				// The connection still works, and what came before was
				// handled in order.
				_, err = c.Write(message([]byte("next"), typ, subj, nil, []byte{0xc0}))
				require.NoError(t, err)
				m := in.next(t)
				if tc.delivered {
					assert.Equal(t, Incoming{Sender: "tcp://127.0.0.1:1", ID: string(id), Type: string(tc.frames[1]), Subject: "a.b", TooLarge: true}, m)
					m = in.next(t)
				}
				assert.Equal(t, "next", m.ID)
				assert.False(t, m.TooLarge)
			}
			st := server.Stats()
			assert.Equal(t, tc.oversized, st.Oversized)
			assert.Equal(t, tc.droppedBig, st.Dropped.TooLarge)
		})
	}
}

// TestOversizedRequestRefused: between real transports, a request over the
// server's limit (5 MiB against 4 MiB, the case) reaches the
// server's Handler as TooLarge, which can refuse it at once; the caller gets
// the NACK instead of waiting out its deadline, and the connection stays.
// Before, the server dropped the message and closed the connection.
func TestOversizedRequestRefused(t *testing.T) {
	ctx := testContext(t)
	var server *Transport
	ready := make(chan struct{})
	server = listen(t, Options{Handler: func(in Incoming) {
		<-ready
		typ := TypeREP
		if in.TooLarge {
			typ = TypeNACK
		}
		go server.Send(ctx, in.Sender, NewID(), typ, in.ID, nil, nil)
	}})
	close(ready)
	ev := newEvents()
	replies := newInbox()
	client := listen(t, ev.options(Options{Handler: replies.handler, MaxMessageSize: 32 << 20}))

	id := NewID()
	require.NoError(t, client.Send(ctx, server.Endpoint(), id, TypeREQ, "a.b", nil, make([]byte, 5<<20)))
	rep := replies.next(t)
	assert.Equal(t, TypeNACK, rep.Type)
	assert.Equal(t, id, rep.Subject)
	assert.True(t, ev.next(t).up)

	id = NewID()
	require.NoError(t, client.Send(ctx, server.Endpoint(), id, TypeREQ, "a.b", nil, []byte{0xc0}))
	rep = replies.next(t)
	assert.Equal(t, TypeREP, rep.Type)
	assert.Equal(t, id, rep.Subject)
	assert.EqualValues(t, 1, client.Stats().Dialed, "the connection was kept")
	assert.EqualValues(t, 1, server.Stats().Oversized)

	// Far over the limit the server hangs up, and the client hears of it.
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, make([]byte, 17<<20)))
	down := ev.next(t)
	assert.Equal(t, server.Endpoint(), down.endpoint)
	assert.ErrorIs(t, down.err, ErrNotConnected)
}

// TestHandshakeCap: connections accepted while MaxHandshakes others are
// still in their handshake are closed at once and counted; once one
// finishes, connections are accepted again. Before, every silent
// connection held ~74 KiB and a goroutine until HandshakeTimeout.
func TestHandshakeCap(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	server := listen(t, Options{Handler: in.handler, MaxHandshakes: 2, HandshakeTimeout: time.Minute})
	s1 := rawConn(t, server.Endpoint(), "", false)
	rawConn(t, server.Endpoint(), "", false)
	eventually(t, "two handshakes running", func() bool { return server.Stats().Handshaking == 2 })

	// Refused with an RST: the dial itself may already see the reset.
	if refused, err := net.Dial("tcp", strings.TrimPrefix(server.Endpoint(), tcpScheme)); err == nil {
		waitClosed(t, refused)
		refused.Close()
	}
	eventually(t, "the refusal to be counted", func() bool { return server.Stats().HandshakeRefusals == 1 })
	assert.EqualValues(t, 2, server.Stats().Handshaking)

	require.NoError(t, s1.Close())
	eventually(t, "the closed one's handshake to end", func() bool { return server.Stats().Handshaking == 1 })
	client := listen(t, Options{})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
	assert.EqualValues(t, 1, server.Stats().HandshakeRefusals)
}

// TestHandshakeCapOptions: 0 means the default cap, negative none.
func TestHandshakeCapOptions(t *testing.T) {
	assert.Equal(t, DefaultMaxHandshakes, listen(t, Options{}).opts.MaxHandshakes)
	server := listen(t, Options{MaxHandshakes: -1, HandshakeTimeout: time.Minute})
	for range 3 {
		rawConn(t, server.Endpoint(), "", false)
	}
	eventually(t, "three handshakes running", func() bool { return server.Stats().Handshaking == 3 })
	assert.Zero(t, server.Stats().HandshakeRefusals)
}
