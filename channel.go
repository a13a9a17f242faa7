package lymph

import (
	"context"
	"sync"

	"github.com/lymphgo/lymph/internal/codec"
)

// ReplyChannel answers one request. A raw method (one that takes a
// *ReplyChannel) answers through it; lymph calls this kind raw_rpc.
//
// A request gets exactly one reply: after the first, Reply, Error, Ack and
// Nack return ErrReplySent and send nothing, and AckUnlessReplied and
// NackUnlessReplied return nil and send nothing (lymph's
// unless_reply_sent=True). (Python lymph would send the second message;
// its caller drops it, so nothing observable changes.) A raw method that
// returns without replying gets a NACK, as lymph's dispatcher sends.
//
// A ReplyChannel is safe for use by several goroutines, but the method must
// answer before it returns: its return is when the dispatcher's NACK goes.
type ReplyChannel struct {
	ctx     context.Context
	c       *Container
	req     *Message
	version string // of the interface that serves the request

	mu       sync.Mutex
	sent     bool
	headers  map[string]any
	sentType string // what went back, for interceptors
	errType  string // the ERROR's type
}

// outcome says what the channel sent, once the method returned.
func (ch *ReplyChannel) outcome() Outcome {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	switch ch.sentType {
	case TypeError:
		return Outcome{Kind: OutcomeError, ErrorType: ch.errType}
	case TypeNack:
		return Outcome{Kind: OutcomeNack, Reason: reasonRefused}
	}
	return Outcome{}
}

// Context returns the request's context: it carries the request's trace id
// and ends when the container stops.
func (ch *ReplyChannel) Context() context.Context { return ch.ctx }

// Request returns the request being answered. Its body holds the keyword
// arguments.
func (ch *ReplyChannel) Request() *Message { return ch.req }

// SetHeader sets a header on the reply. trace_id and version are set by the
// channel and cannot be overridden.
func (ch *ReplyChannel) SetHeader(key string, value any) {
	if key == "trace_id" || key == "version" {
		return
	}
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.headers == nil {
		ch.headers = map[string]any{}
	}
	ch.headers[key] = value
}

// Replied reports whether a reply has been sent.
func (ch *ReplyChannel) Replied() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.sent
}

// Reply sends body as the successful reply (REP).
func (ch *ReplyChannel) Reply(body any) error {
	return ch.send(TypeReply, body, false)
}

// Ack acknowledges the request without a value (ACK). After a reply it
// sends nothing and returns ErrReplySent.
func (ch *ReplyChannel) Ack() error {
	return ch.send(TypeAck, nil, false)
}

// AckUnlessReplied acknowledges the request unless a reply was already
// sent, when it does nothing and returns nil: lymph's
// ack(unless_reply_sent=True), for a method that acknowledges whatever
// path it took.
func (ch *ReplyChannel) AckUnlessReplied() error {
	return ch.send(TypeAck, nil, true)
}

// Nack refuses the request (NACK): the caller gets ErrNack. After a reply
// it sends nothing and returns ErrReplySent.
func (ch *ReplyChannel) Nack() error {
	return ch.send(TypeNack, nil, false)
}

// NackUnlessReplied refuses the request unless a reply was already sent,
// when it does nothing and returns nil: lymph's
// nack(unless_reply_sent=True).
func (ch *ReplyChannel) NackUnlessReplied() error {
	return ch.send(TypeNack, nil, true)
}

// Error answers with a declared error: the caller gets a *RemoteError with
// this type and message.
func (ch *ReplyChannel) Error(typ, message string) error {
	return ch.send(TypeError, errorBody{Type: typ, Message: message}, false)
}

// errorBody is an ERROR reply's body.
type errorBody struct {
	Type    string `msgpack:"type"`
	Message string `msgpack:"message"`
}

// claim marks the request answered, for the dispatcher's own NACK, and
// reports whether no reply had been sent before.
func (ch *ReplyChannel) claim() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.sent {
		return false
	}
	ch.sent, ch.sentType = true, TypeNack
	return true
}

func (ch *ReplyChannel) send(typ string, body any, unlessReplySent bool) error {
	ch.mu.Lock()
	if ch.sent {
		ch.mu.Unlock()
		if unlessReplySent {
			return nil
		}
		return ErrReplySent
	}
	ch.sent = true
	headers := ch.headers
	ch.sentType = typ
	if e, ok := body.(errorBody); ok {
		ch.errType = e.Type
	}
	ch.mu.Unlock()

	encoded, err := codec.Marshal(body)
	if err != nil {
		// The method's value cannot travel: the caller must still hear
		// something, and a NACK is what lymph sends for a failed method.
		ch.c.logger.Error("cannot encode reply", "subject", ch.req.Subject, "trace_id", ch.req.TraceID(), "error", err)
		typ, encoded, headers = TypeNack, nilBody, nil
		ch.mu.Lock()
		ch.sentType = TypeNack
		ch.mu.Unlock()
	}
	ch.c.sendReply(ch.req, typ, ch.version, headers, encoded)
	return err
}
