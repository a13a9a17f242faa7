package lymph

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpServer answers any connection with an HTTP 400, shorter than a ZMTP
// greeting, and keeps it open: what a call to a lymph endpoint reused by an
// HTTP server meets.
func httpServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return "tcp://" + l.Addr().String()
}

func TestCallToANonZMTPPeerFailsAtOnce(t *testing.T) {
	reg := memoryRegistry(t)
	ep := httpServer(t)
	require.NoError(t, reg.Register(testContext(t), instanceFor("web", ep)))
	var logs syncBuffer
	client := startContainer(t, reg, nil, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

	// A timeout far beyond the test's own: the call must fail on the
	// peer's first byte, not wait for its reply.
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	err := client.Proxy("web").Call(ctx, "upper", nil, nil)
	require.ErrorIs(t, err, ErrNotConnected)
	assert.ErrorContains(t, err, "transport: peer at "+ep+` does not speak ZMTP 3 (got "HTTP/1.1 400 Bad Request...")`)
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "does not speak ZMTP")
}
