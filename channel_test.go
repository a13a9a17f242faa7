package lymph

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawService records what its channels returned, for the test to check.
type rawService struct {
	Interface
	results chan []error
}

func (s *rawService) Ack(ch *ReplyChannel) { s.results <- []error{ch.Ack()} }

func (s *rawService) Silent(ch *ReplyChannel) { s.results <- nil }

func (s *rawService) ReplyTwice(ch *ReplyChannel, args textArgs) {
	s.results <- []error{ch.Reply(args.Text), ch.Reply("second"), ch.Error("Late", "too late")}
}

func (s *rawService) UnlessSent(ch *ReplyChannel) {
	s.results <- []error{ch.Reply("first"), ch.AckUnlessReplied(), ch.NackUnlessReplied(), ch.Nack()}
}

func (s *rawService) Nack(ch *ReplyChannel) { s.results <- []error{ch.Nack()} }

func (s *rawService) Error(ch *ReplyChannel) { s.results <- []error{ch.Error("Custom", "by hand")} }

func (s *rawService) Headers(ch *ReplyChannel) {
	ch.SetHeader("x-extra", "yes")
	ch.SetHeader("trace_id", "ignored")
	s.results <- []error{ch.Reply(ch.Request().Subject)}
}

func (s *rawService) Panics(ch *ReplyChannel) {
	s.results <- nil
	panic("raw boom")
}

func TestRawChannelSemantics(t *testing.T) {
	reg := memoryRegistry(t)
	svc := &rawService{results: make(chan []error, 1)}
	startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(svc, WithName("raw"))) })
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("raw")

	t.Run("ack", func(t *testing.T) {
		msg, err := client.Proxy("raw").Request(ctx, "ack", nil)
		require.NoError(t, err)
		assert.Equal(t, TypeAck, msg.Type)
		assert.Equal(t, []error{nil}, <-svc.results)
	})
	t.Run("returning without a reply is a NACK", func(t *testing.T) {
		assert.ErrorIs(t, p.Call(ctx, "silent", nil, nil), ErrNack)
		<-svc.results
	})
	t.Run("a second reply is refused, the first one counts", func(t *testing.T) {
		out, err := Call[string](ctx, p, "reply_twice", textArgs{Text: "one"})
		require.NoError(t, err)
		assert.Equal(t, "one", out)
		assert.Equal(t, []error{nil, ErrReplySent, ErrReplySent}, <-svc.results)
	})
	t.Run("unless_reply_sent", func(t *testing.T) {
		out, err := Call[string](ctx, p, "unless_sent", nil)
		require.NoError(t, err)
		assert.Equal(t, "first", out)
		assert.Equal(t, []error{nil, nil, nil, ErrReplySent}, <-svc.results)
	})
	t.Run("explicit nack", func(t *testing.T) {
		assert.ErrorIs(t, p.Call(ctx, "nack", nil, nil), ErrNack)
		<-svc.results
	})
	t.Run("error by hand", func(t *testing.T) {
		err := p.Call(ctx, "error", nil, nil)
		assert.Equal(t, &RemoteError{Type: "Custom", Message: "by hand"}, err)
		<-svc.results
	})
	t.Run("headers", func(t *testing.T) {
		ctx := ContextWithTraceID(ctx, "0123456789abcdef0123456789abcdef")
		msg, err := client.Proxy("raw").Request(ctx, "headers", nil)
		require.NoError(t, err)
		<-svc.results
		assert.Equal(t, "yes", msg.Header("x-extra"))
		assert.Equal(t, "0123456789abcdef0123456789abcdef", msg.TraceID(), "trace_id cannot be overridden")
		var subject string
		require.NoError(t, msg.Decode(&subject))
		assert.Equal(t, "raw.headers", subject)
	})
	t.Run("panic is a NACK", func(t *testing.T) {
		assert.ErrorIs(t, p.Call(ctx, "panics", nil, nil), ErrNack)
		<-svc.results
	})
}
