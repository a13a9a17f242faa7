package lymph

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTraceIDPropagation(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	t.Run("the caller's id reaches the handler and comes back", func(t *testing.T) {
		id := NewTraceID()
		msg, err := client.Proxy("testsvc").Request(ContextWithTraceID(ctx, id), "trace", nil)
		require.NoError(t, err)
		var seen string
		require.NoError(t, msg.Decode(&seen))
		assert.Equal(t, id, seen)
		assert.Equal(t, id, msg.TraceID())
	})
	t.Run("a call without one gets a fresh id", func(t *testing.T) {
		a, err := Call[string](ctx, p, "trace", nil)
		require.NoError(t, err)
		b, err := Call[string](ctx, p, "trace", nil)
		require.NoError(t, err)
		assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), a)
		assert.NotEqual(t, a, b)
	})
	t.Run("calls made from a handler carry its id", func(t *testing.T) {
		id := NewTraceID()
		ids, err := Call[[]string](ContextWithTraceID(ctx, id), p, "forward", forwardArgs{To: "testsvc"})
		require.NoError(t, err)
		assert.Equal(t, []string{id, id}, ids)
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFailuresAreLoggedWithTheTraceID(t *testing.T) {
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	reg := memoryRegistry(t)
	startContainer(t, reg, installTestService(&testService{}), WithLogger(logger))
	client := startContainer(t, reg, nil)

	id := NewTraceID()
	ctx := ContextWithTraceID(testContext(t), id)
	require.ErrorIs(t, client.Proxy("testsvc").Call(ctx, "panic", nil, nil), ErrNack)
	require.ErrorIs(t, client.Proxy("testsvc").Call(ctx, "undeclared", nil, nil), ErrNack)

	var panicLine, errorLine string
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "method panicked"):
			panicLine = line
		case strings.Contains(line, "undeclared error"):
			errorLine = line
		}
	}
	assert.Contains(t, panicLine, "trace_id="+id)
	assert.Contains(t, panicLine, "panic=boom")
	assert.Contains(t, errorLine, "trace_id="+id)
	assert.Contains(t, errorLine, "something broke")
}

func TestTraceIDContext(t *testing.T) {
	assert.Equal(t, "", TraceID(context.Background()))
	assert.Equal(t, "abc", TraceID(ContextWithTraceID(context.Background(), "abc")))
}
