package lymph

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// deadlineService reports the deadline its context has, and passes what
// is left on downstream.
type deadlineService struct {
	Interface
	downstream string
}

// Left returns the milliseconds left on the method's context, -1 for no
// deadline.
func (*deadlineService) Left(ctx context.Context) (int64, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return -1, nil
	}
	return time.Until(d).Milliseconds(), nil
}

// Relay returns its own time left and what the downstream's Left saw.
func (s *deadlineService) Relay(ctx context.Context) ([]int64, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return nil, nil
	}
	mine := time.Until(d).Milliseconds()
	theirs, err := Call[int64](ctx, s.Proxy(s.downstream), "left", nil)
	return []int64{mine, theirs}, err
}

func TestDeadlineTravelsDownstream(t *testing.T) {
	reg := memoryRegistry(t)
	startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&deadlineService{}, WithName("leaf")))
	})
	startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&deadlineService{downstream: "leaf"}, WithName("mid")))
	})
	client := startContainer(t, reg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	got, err := Call[[]int64](ctx, client.Proxy("mid"), "relay", nil)
	require.NoError(t, err)
	require.Len(t, got, 2)
	mid, leaf := got[0], got[1]
	assert.Positive(t, leaf)
	assert.LessOrEqual(t, leaf, mid+1, "the downstream call inherits what is left (+1: rounding up to a millisecond)")
	assert.LessOrEqual(t, mid, int64(2000))

	// Without a context deadline, the proxy's timeout is what travels.
	left, err := Call[int64](context.Background(), client.Proxy("leaf", WithTimeout(700*time.Millisecond)), "left", nil)
	require.NoError(t, err)
	assert.Positive(t, left)
	assert.LessOrEqual(t, left, int64(700))
}

// rawCall sends one request with the given headers as Python lymph would
// (no timeout_ms unless the headers have one) and returns the reply.
func rawCall(t *testing.T, endpoint, subject string, headers map[string]any) transport.Incoming {
	t.Helper()
	replies := make(chan transport.Incoming, 1)
	ctx := testContext(t)
	tr, err := transport.Listen(ctx, transport.Options{
		Endpoint: "tcp://127.0.0.1:0",
		Logger:   quietLogger(),
		Handler: func(in transport.Incoming) {
			if in.Type != TypeRequest {
				replies <- in
			}
		},
	})
	require.NoError(t, err)
	defer tr.Close()
	extra := map[string]any{}
	for k, v := range headers {
		extra[k] = v
	}
	h, err := codec.MarshalHeaders(NewTraceID(), "", extra)
	require.NoError(t, err)
	require.NoError(t, tr.Send(ctx, endpoint, transport.NewID(), TypeRequest, subject, h, []byte{0x80}))
	select {
	case in := <-replies:
		return in
	case <-ctx.Done():
		t.Fatal("no reply")
	}
	return transport.Incoming{}
}

func TestDeadlineHeaderOnTheServer(t *testing.T) {
	server := startContainer(t, memoryRegistry(t), func(c *Container) {
		require.NoError(t, c.Install(&deadlineService{}, WithName("leaf")))
	})
	t.Run("a caller without the header (Python) gets no deadline", func(t *testing.T) {
		in := rawCall(t, server.Endpoint(), "leaf.left", nil)
		require.Equal(t, TypeReply, in.Type)
		var left int64
		require.NoError(t, codec.Unmarshal(in.Body, &left))
		assert.Equal(t, int64(-1), left)
	})
	t.Run("a request already late is not started", func(t *testing.T) {
		before := server.metrics.requests("leaf.left")
		in := rawCall(t, server.Endpoint(), "leaf.left", map[string]any{codec.HeaderTimeout: 0})
		require.Equal(t, TypeNack, in.Type)
		assert.Equal(t, reasonDeadline, nackReason(in.Headers))
		assert.Equal(t, before, server.metrics.requests("leaf.left"), "not dispatched")
		assert.Equal(t, uint64(1), server.metrics.get("leaf.left", metricDeadline))
	})
	t.Run("a timeout that is not a number is refused", func(t *testing.T) {
		in := rawCall(t, server.Endpoint(), "leaf.left", map[string]any{codec.HeaderTimeout: "soon"})
		require.Equal(t, TypeNack, in.Type)
		assert.Equal(t, reasonBadHeader, nackReason(in.Headers))
	})
	t.Run("the header sets the method's deadline", func(t *testing.T) {
		in := rawCall(t, server.Endpoint(), "leaf.left", map[string]any{codec.HeaderTimeout: 60000})
		require.Equal(t, TypeReply, in.Type)
		var left int64
		require.NoError(t, codec.Unmarshal(in.Body, &left))
		assert.Positive(t, left)
		assert.LessOrEqual(t, left, int64(60000))
	})
}

func TestTimeoutMillisRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		0: 0, -time.Second: 0, time.Microsecond: 1, time.Millisecond: 1,
		1500 * time.Microsecond: 2, 3 * time.Second: 3000,
	} {
		assert.Equal(t, want, timeoutMillis(d), "%v", d)
	}
}

// The method's context reports the caller's deadline but ends a grace
// later, so the caller's timeout always comes first.
func TestCallerDeadlineEndsAfterAGrace(t *testing.T) {
	for _, tc := range []struct {
		timeout int64
		grace   time.Duration
	}{
		{10, 5 * time.Millisecond},
		{200, 20 * time.Millisecond},
		{60000, 100 * time.Millisecond},
	} {
		arrived := time.Now()
		ctx, cancel := withCallerDeadline(context.Background(), arrived, tc.timeout)
		d, ok := ctx.Deadline()
		require.True(t, ok)
		assert.Equal(t, arrived.Add(time.Duration(tc.timeout)*time.Millisecond), d)
		assert.Equal(t, tc.grace, deadlineGrace(time.Duration(tc.timeout)*time.Millisecond))
		if tc.timeout == 10 {
			<-ctx.Done()
			assert.False(t, time.Now().Before(d.Add(tc.grace)), "ended after the grace")
			assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		}
		cancel()
	}
}

// The method's context makes its timer only when asked for Done, and
// behaves as context.WithDeadline would whichever way it ends.
func TestCallerDeadlineIsLazy(t *testing.T) {
	type key struct{}
	base := context.WithValue(context.Background(), key{}, "v")

	t.Run("no timer for Deadline, Value and Err", func(t *testing.T) {
		ctx, cancel := withCallerDeadline(base, time.Now(), 60000)
		defer cancel()
		_, ok := ctx.Deadline()
		assert.True(t, ok)
		assert.Equal(t, "v", ctx.Value(key{}))
		assert.NoError(t, ctx.Err())
		assert.Nil(t, ctx.(*callerDeadline).ctx.Load(), "nothing asked for Done")
	})

	t.Run("ends by its clock without Done", func(t *testing.T) {
		ctx, cancel := withCallerDeadline(base, time.Now().Add(-time.Second), 10)
		defer cancel()
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
		assert.ErrorIs(t, context.Cause(ctx), context.DeadlineExceeded)
		<-ctx.Done()
	})

	t.Run("cancel before and after Done", func(t *testing.T) {
		ctx, cancel := withCallerDeadline(base, time.Now(), 60000)
		cancel()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		<-ctx.Done()

		ctx, cancel = withCallerDeadline(base, time.Now(), 60000)
		done := ctx.Done()
		child, stopChild := context.WithCancel(ctx)
		defer stopChild()
		cancel()
		<-done
		<-child.Done()
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		assert.ErrorIs(t, context.Cause(child), context.Canceled)
	})

	t.Run("the parent's end reaches it", func(t *testing.T) {
		parent, stopParent := context.WithCancelCause(base)
		ctx, cancel := withCallerDeadline(parent, time.Now(), 60000)
		defer cancel()
		stopParent(errors.New("stopping"))
		assert.ErrorIs(t, ctx.Err(), context.Canceled)
		assert.EqualError(t, context.Cause(ctx), "stopping")
		<-ctx.Done()
	})

	t.Run("a child made first is ended by the clock", func(t *testing.T) {
		ctx, cancel := withCallerDeadline(base, time.Now(), 10)
		defer cancel()
		child, stopChild := context.WithCancel(ctx)
		defer stopChild()
		<-child.Done()
		assert.ErrorIs(t, child.Err(), context.DeadlineExceeded)
		assert.ErrorIs(t, ctx.Err(), context.DeadlineExceeded)
	})
}
