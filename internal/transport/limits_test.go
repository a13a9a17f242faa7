package transport

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHugeFrameHeader: a frame header declaring 4 GiB gets the connection
// closed before anything is allocated for it (zmq4's reader would
// make([]byte, 4<<30) and wait for the bytes), and serving goes on.
func TestHugeFrameHeader(t *testing.T) {
	in := newInbox()
	server := listen(t, Options{Handler: in.handler})

	c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
	hdr := []byte{flagLong, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[1:], 4<<30)
	_, err := c.Write(hdr)
	require.NoError(t, err)
	waitClosed(t, c)
	assert.EqualValues(t, 1, server.Stats().Dropped.TooLarge)

	ok := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
	_, err = ok.Write(message([]byte(NewID()), []byte(TypeACK), []byte("a.b"), nil, nil))
	require.NoError(t, err)
	assert.Equal(t, TypeACK, in.next(t).Type)
}

// TestHugeFrameInHandshake: the same during the handshake, which zmq4
// reads: the limit watches the byte stream it is handed.
func TestHugeFrameInHandshake(t *testing.T) {
	server := listen(t, Options{})
	c := rawConn(t, server.Endpoint(), "", false)
	hdr := []byte{flagCommand | flagLong, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[1:], 4<<30)
	_, err := c.Write(append(greeting(), hdr...))
	require.NoError(t, err)
	waitClosed(t, c)
	eventually(t, "handshake failure counted", func() bool { return server.Stats().HandshakeFailures == 1 })
}

// TestMessageSizeLimit: the limit is on the sum of the frames, and a
// message exactly at it passes.
func TestMessageSizeLimit(t *testing.T) {
	const max = 1000
	in := newInbox()
	server := listen(t, Options{Handler: in.handler, MaxMessageSize: max})
	id, typ, subj := []byte(NewID()), []byte(TypeREQ), []byte("a.b")
	body := make([]byte, max-len(id)-len(typ)-len(subj))

	c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
	_, err := c.Write(message(id, typ, subj, nil, body))
	require.NoError(t, err)
	assert.Len(t, in.next(t).Body, len(body))

	// One byte more, spread over frames none of which is too large alone:
	// read past, delivered as TooLarge, the connection kept.
	_, err = c.Write(message(id, typ, subj, []byte{0x80}, body))
	require.NoError(t, err)
	got := in.next(t)
	assert.Equal(t, Incoming{Sender: "tcp://127.0.0.1:1", ID: string(id), Type: TypeREQ, Subject: "a.b", TooLarge: true}, got)
	assert.EqualValues(t, 1, server.Stats().Oversized)
	assert.Zero(t, server.Stats().Dropped.TooLarge)

	// Send refuses what the peer would refuse.
	err = server.Send(testContext(t), server.Endpoint(), string(id), TypeREQ, "a.b", []byte{0x80}, body)
	assert.ErrorIs(t, err, ErrTooLarge)
}

// TestSilentClient: a client that connects and never speaks neither holds
// up other clients nor keeps its connection past HandshakeTimeout (zmq4's
// accept loop runs handshakes one at a time, without a deadline).
func TestSilentClient(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{HandshakeTimeout: 200e6})
	silent := rawConn(t, server.Endpoint(), "", false)

	in := newInbox()
	client := listen(t, Options{Handler: in.handler})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)

	waitClosed(t, silent)
	assert.EqualValues(t, 1, server.Stats().HandshakeFailures)
}

// TestMalformedMetadata: a READY whose property is cut short makes zmq4's
// metadata parser panic; the handshake recovers, and serving goes on.
func TestMalformedMetadata(t *testing.T) {
	ctx := testContext(t)
	server := echoTransport(t, Options{})
	c := rawConn(t, server.Endpoint(), "", false)
	_, err := c.Write(append(greeting(), command("READY", []byte("\x03abc"))...))
	require.NoError(t, err)
	waitClosed(t, c)
	assert.EqualValues(t, 1, server.Stats().HandshakeFailures)

	in := newInbox()
	client := listen(t, Options{Handler: in.handler})
	require.NoError(t, client.Send(ctx, server.Endpoint(), NewID(), TypeREQ, "a.b", nil, nil))
	in.next(t)
}

// TestCommandsBetweenMessages: ZMTP commands after the handshake (a PING
// from a ZMTP 3.1 peer) are skipped; a command inside a message is a
// protocol error that closes the connection.
func TestCommandsBetweenMessages(t *testing.T) {
	in := newInbox()
	server := listen(t, Options{Handler: in.handler})
	c := rawConn(t, server.Endpoint(), "tcp://127.0.0.1:1", true)
	msg := message([]byte(NewID()), []byte(TypeACK), []byte("a.b"), nil, nil)
	var stream bytes.Buffer
	stream.Write(command("PING", []byte("\x00\x10")))
	stream.Write(msg)
	stream.Write(msg[:2+32]) // the id frame, with MORE set
	stream.Write(command("PING", nil))
	_, err := c.Write(stream.Bytes())
	require.NoError(t, err)
	assert.Equal(t, TypeACK, in.next(t).Type)
	waitClosed(t, c)
}
