package lymph

import (
	"sync/atomic"

	"github.com/lymphgo/lymph/internal/bufpool"
	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// Message types, as they appear in a lymph message's type frame: the
// transport's, which validates them (one set of constants).
const (
	TypeRequest = transport.TypeREQ   // "REQ": a request; Subject is "interface.method"
	TypeReply   = transport.TypeREP   // "REP": a successful reply; Body is the return value
	TypeAck     = transport.TypeACK   // "ACK": an acknowledgement without a value
	TypeNack    = transport.TypeNACK  // "NACK": a refusal: the caller gets ErrNack
	TypeError   = transport.TypeERROR // "ERROR": a declared error: Body is {type, message}
)

// Message is one lymph message as it travelled: what Request returns and
// what a ReplyChannel's Request describes. Its headers and body stay
// encoded until asked for, so a caller pays only for what it reads. A
// Message must not be copied once used.
type Message struct {
	// ID is the message's own id (32 hex characters).
	ID string
	// Type is one of TypeRequest, TypeReply, TypeAck, TypeNack, TypeError.
	Type string
	// Subject is "interface.method" for a request, and the answered
	// request's id for a reply.
	Subject string
	// Source is the sender's endpoint, tcp://host:port.
	Source string

	// route is the connection a request came in on, when its sender
	// takes replies on it (a lymph-go peer): see the transport's Reply.
	route *transport.Route

	rawHeaders []byte
	headers    atomic.Pointer[map[string]any] // decoded on first use
	body       []byte                         // msgpack

	// For a request being served, its trace id and version, read without
	// decoding the other headers; the trace id is a new one when the
	// request came without.
	known            bool
	traceID, version string
	// The request's timeout_ms header (deadline.go), when it has one.
	timeout    int64
	hasTimeout bool

	// pooled is the buffer rawHeaders and body are in, when the transport
	// took it from bufpool (a big message). It is given back where nothing
	// else can hold them: a synchronous call's reply (syncCall.release),
	// and a served request whose method never asked for it (releaseBody,
	// by bodyState).
	pooled    []byte
	bodyState atomic.Int32
}

// bodyState values: a served request's message is private until its
// method asks for it (IncomingRequest); a private one's buffer is given
// back once the method has returned.
const (
	bodyPrivate int32 = iota
	bodyShared
	bodyReleased
)

// setFrom fills m from a received message; the transport hands over
// ownership of its byte slices.
func (m *Message) setFrom(in *transport.Incoming) {
	m.ID, m.Type, m.Subject, m.Source = in.ID, in.Type, in.Subject, in.Sender
	m.route = in.Route
	m.rawHeaders, m.body = in.Headers, in.Body
	m.headers.Store(nil)
	m.known, m.traceID, m.version = false, "", ""
	m.timeout, m.hasTimeout = 0, false
	m.pooled = in.Pooled
	m.bodyState.Store(bodyPrivate)
}

// share returns the message for a method to see (IncomingRequest): from
// then on the container never gives its buffer back. Once it has (a
// goroutine of the method asking after the method returned), it returns a
// copy without the body, whose bytes are gone.
func (m *Message) share() *Message {
	if m.bodyState.CompareAndSwap(bodyPrivate, bodyShared) || m.bodyState.Load() == bodyShared {
		return m
	}
	c := new(Message)
	c.copyFrom(m) // keeps the headers if they were decoded
	c.rawHeaders, c.body = nil, nil
	return c
}

// releaseBody gives a served request's buffer back to the pool once its
// method has returned, unless the method asked for the message: the
// arguments were decoded out of it (decoded values never alias the body),
// and nothing else refers to it.
func (m *Message) releaseBody() {
	if m.pooled != nil && m.bodyState.CompareAndSwap(bodyPrivate, bodyReleased) {
		bufpool.Put(m.pooled)
		m.pooled = nil
	}
}

// copyFrom makes m a copy of o, which is no longer written to.
func (m *Message) copyFrom(o *Message) {
	m.ID, m.Type, m.Subject, m.Source = o.ID, o.Type, o.Subject, o.Source
	m.route = o.route
	m.rawHeaders, m.body = o.rawHeaders, o.body
	m.headers.Store(o.headers.Load())
	m.known, m.traceID, m.version = o.known, o.traceID, o.version
	m.timeout, m.hasTimeout = o.timeout, o.hasTimeout
}

// Headers returns the message's headers, trace_id and version among them.
// Headers that cannot be decoded read as none. The map is shared: do not
// modify it.
func (m *Message) Headers() map[string]any {
	if h := m.headers.Load(); h != nil {
		return *h
	}
	h, err := codec.UnmarshalHeaders(m.rawHeaders)
	if err != nil {
		h = map[string]any{}
	}
	if m.known {
		h[codec.HeaderTraceID] = m.traceID
	}
	m.headers.CompareAndSwap(nil, &h)
	return *m.headers.Load()
}

// Header returns one header's value, or nil.
func (m *Message) Header(key string) any { return m.Headers()[key] }

// Decode decodes the message body into v, which must be a pointer. lymph's
// extension values decode to time.Time, Date, TimeOfDay, Decimal, uuid.UUID
// and Set.
func (m *Message) Decode(v any) error {
	if len(m.body) == 0 {
		return codec.Unmarshal(nilBody, v) // an empty body is nil
	}
	return codec.Unmarshal(m.body, v)
}

// RawBody returns the body's msgpack bytes, undecoded.
func (m *Message) RawBody() []byte { return m.body }

// TraceID returns the message's trace_id header, or "".
func (m *Message) TraceID() string {
	if m.known {
		return m.traceID
	}
	id, _ := m.Header(codec.HeaderTraceID).(string)
	return id
}

// Version returns the message's version header, or "".
func (m *Message) Version() string {
	if m.known {
		return m.version
	}
	v, _ := m.Header(codec.HeaderVersion).(string)
	return v
}

// remoteError decodes an ERROR reply's body. A body that is not the
// {type, message} map lymph sends still becomes a RemoteError, so the caller
// learns the call failed rather than getting a decode error.
func (m *Message) remoteError() *RemoteError {
	var body errorBody
	if err := m.Decode(&body); err != nil || body.Type == "" {
		return &RemoteError{Type: "UnknownError", Message: "malformed ERROR reply body"}
	}
	return &RemoteError{Type: body.Type, Message: body.Message}
}

// replyError is what a caller gets for a reply: nil for REP and ACK,
// ErrNack, or the RemoteError of an ERROR.
func replyError(subject string, m *Message) error {
	switch m.Type {
	case TypeReply, TypeAck:
		return nil
	case TypeNack:
		reason, _ := m.Header(headerNackReason).(string)
		return &nackError{subject: subject, reason: reason}
	case TypeError:
		return m.remoteError()
	}
	return &unexpectedReplyError{subject: subject, typ: m.Type}
}
