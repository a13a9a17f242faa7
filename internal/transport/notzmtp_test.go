package transport

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockedBuffer collects log output written from transport goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func warnLogger(buf *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// httpListener is an HTTP server as far as the ZMTP handshake can tell: it
// answers whatever arrives with a 400 (shorter than a ZMTP greeting) and
// keeps the connection open, as a server waiting for its client to hang up
// would. Before the greeting was checked byte by byte, a dial to it waited
// for the 64 bytes of a greeting until its timeout.
func httpListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				var b [1]byte
				if _, err := c.Read(b[:]); err != nil {
					return
				}
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"))
				io.Copy(io.Discard, c) // until the dialer hangs up
			}()
		}
	}()
	return "tcp://" + l.Addr().String()
}

func TestSendToNonZMTPPeerFailsAtOnce(t *testing.T) {
	ep := httpListener(t)
	var logs lockedBuffer
	// A dial timeout far longer than the test's: the send must fail on
	// the peer's first byte, not when the dial gives up.
	tr := listen(t, Options{Logger: warnLogger(&logs), DialTimeout: time.Hour})
	ctx := testContext(t)

	err := tr.Send(ctx, ep, "id", "REQ", "echo.upper", testHeaders, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotConnected, "a request to it was surely not sent")
	assert.ErrorIs(t, err, ErrNotZMTP)
	var nz *NotZMTPError
	require.True(t, errors.As(err, &nz))
	assert.Equal(t, ep, nz.Peer)
	assert.Equal(t, `transport: peer at `+ep+` does not speak ZMTP 3 (got "HTTP/1.1 400 Bad Request...")`, err.Error())

	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "does not speak ZMTP")
	assert.Contains(t, logs.String(), "peer="+ep)
	require.Len(t, tr.Peers(), 1)
	assert.ErrorIs(t, tr.Peers()[0].DialError, ErrNotZMTP)
}

func TestNonZMTPClientIsDroppedAndLogged(t *testing.T) {
	var logs lockedBuffer
	tr := listen(t, Options{Logger: warnLogger(&logs), HandshakeTimeout: time.Hour})
	c, err := net.Dial("tcp", strings.TrimPrefix(tr.Endpoint(), tcpScheme))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)

	// The transport hangs up at the first byte, not when the handshake
	// times out.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(testTimeout)))
	_, err = io.Copy(io.Discard, c)
	require.NoError(t, err, "closed by the transport")
	eventually(t, "the refusal is logged", func() bool {
		return strings.Contains(logs.String(), `does not speak ZMTP 3 (got \"GET / HTTP/1.1`)
	})
	assert.Contains(t, logs.String(), "level=WARN")
}

func TestZMTPSignatureCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		ok     bool
	}{
		{"greeting", greeting(), true},
		{"greeting byte by byte", greeting(), true},
		{"HTTP", []byte("HTTP/1.1 200 OK\r\n"), false},
		{"bad footer", append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 'x'}, greeting()[10:]...), false},
		{"ZMTP 2", func() []byte { g := greeting(); g[10] = 1; return g }(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := newZMTPLimit(handshakeMaxFrame)
			var err error
			if strings.Contains(tc.name, "byte by byte") {
				for i := range tc.stream {
					if err = z.scan(tc.stream[i : i+1]); err != nil {
						break
					}
				}
			} else {
				err = z.scan(tc.stream)
			}
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrNotZMTP)
			assert.NotErrorIs(t, err, ErrNotConnected, "only a peer we dialed")
			assert.Equal(t, err, z.scan([]byte{0}), "the error sticks")
		})
	}
}

// A server that waits for its client to speak first, as net/http does,
// never answers a ZMTP greeting: the dial fails at its timeout, saying
// the peer sent nothing, and that is logged at WARN.
func TestSilentPeerIsReportedAtTheDialTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	t.Cleanup(func() {
		l.Close()
		if c := <-accepted; c != nil {
			c.Close()
		}
	})
	var logs lockedBuffer
	tr := listen(t, Options{Logger: warnLogger(&logs), DialTimeout: 100 * time.Millisecond})
	err = tr.Send(testContext(t), "tcp://"+l.Addr().String(), "id", "REQ", "x.y", testHeaders, nil)
	assert.ErrorIs(t, err, ErrNotConnected)
	assert.ErrorIs(t, err, ErrNoGreeting)
	// The handshake gets what is left of DialTimeout after the connect:
	// 100ms, or a little less when the connect took a moment on a loaded
	// machine (it failed in CI saying 99ms).
	assert.Regexp(t, `peer sent no ZMTP greeting within \d+ms: not a ZMTP peer, or a stuck one`, err.Error())
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "peer=tcp://"+l.Addr().String())
}
