package transport

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
	"github.com/stretchr/testify/require"
)

// These helpers speak ZMTP by hand, to send what no well-behaved peer would.

// greeting returns a ZMTP 3.0 greeting for the NULL mechanism.
func greeting() []byte {
	g := make([]byte, greetingSize)
	g[0], g[9], g[10] = 0xff, 0x7f, 3
	copy(g[12:], "NULL")
	return g
}

// command returns a command frame.
func command(name string, body []byte) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = append(b, body...)
	return frame(flagCommand, b)
}

// frame returns one frame with the given flags (the long flag is added as
// needed).
func frame(flags byte, body []byte) []byte {
	if len(body) > 255 {
		h := make([]byte, 9, 9+len(body))
		h[0] = flags | flagLong
		binary.BigEndian.PutUint64(h[1:], uint64(len(body)))
		return append(h, body...)
	}
	return append([]byte{flags, byte(len(body))}, body...)
}

// property encodes one ZMTP metadata property.
func property(name, value string) []byte {
	b := append([]byte{byte(len(name))}, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// readyBody is the metadata of a READY command.
func readyBody(sockType, identity string) []byte {
	return append(property("Socket-Type", sockType), property("Identity", identity)...)
}

// rawConn connects to ep and, unless handshake is false, completes a NULL
// handshake as a DEALER with the given identity.
func rawConn(t *testing.T, ep, identity string, handshake bool) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ep, tcpScheme))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	if !handshake {
		return c
	}
	_, err = c.Write(append(greeting(), command("READY", readyBody("DEALER", identity))...))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
	var g [greetingSize]byte
	_, err = io.ReadFull(c, g[:])
	require.NoError(t, err)
	var h [2]byte
	_, err = io.ReadFull(c, h[:])
	require.NoError(t, err)
	require.Equal(t, byte(flagCommand), h[0], "READY is a short command")
	_, err = io.ReadFull(c, make([]byte, h[1]))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	return c
}

// message returns the frames of a message as a byte stream.
func message(fs ...[]byte) []byte {
	var b []byte
	for i, f := range fs {
		flags := byte(flagMore)
		if i == len(fs)-1 {
			flags = 0
		}
		b = append(b, frame(flags, f)...)
	}
	return b
}

// waitClosed fails the test unless the server closes c within testTimeout.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection still open")
	}
}

func nullSec() zmq4.Security { return null.Security() }
