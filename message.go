package lymph

import (
	"github.com/lymphgo/lymph/internal/codec"
)

// Message types, as they appear in a lymph message's type frame.
const (
	TypeRequest = "REQ"   // a request; Subject is "interface.method"
	TypeReply   = "REP"   // a successful reply; Body is the return value
	TypeAck     = "ACK"   // an acknowledgement without a value
	TypeNack    = "NACK"  // a refusal: the caller gets ErrNack
	TypeError   = "ERROR" // a declared error: Body is {type, message}
)

// Message is one lymph message as it travelled: what Request returns and
// what a ReplyChannel's Request describes. Its body stays encoded until
// Decode is called, so a caller pays only for what it reads.
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
	// Headers are the message's headers; trace_id and version among them.
	Headers map[string]any

	body []byte // msgpack
}

// Decode decodes the message body into v, which must be a pointer. lymph's
// extension values decode to time.Time, Date, TimeOfDay, Decimal, uuid.UUID
// and Set.
func (m *Message) Decode(v any) error {
	if len(m.body) == 0 {
		return codec.Unmarshal([]byte{0xc0}, v) // an empty body is nil
	}
	return codec.Unmarshal(m.body, v)
}

// RawBody returns the body's msgpack bytes, undecoded.
func (m *Message) RawBody() []byte { return m.body }

// TraceID returns the message's trace_id header, or "".
func (m *Message) TraceID() string {
	id, _ := m.Headers["trace_id"].(string)
	return id
}

// Version returns the message's version header, or "".
func (m *Message) Version() string {
	v, _ := m.Headers["version"].(string)
	return v
}

// remoteError decodes an ERROR reply's body. A body that is not the
// {type, message} map lymph sends still becomes a RemoteError, so the caller
// learns the call failed rather than getting a decode error.
func (m *Message) remoteError() *RemoteError {
	var body struct {
		Type    string `msgpack:"type"`
		Message string `msgpack:"message"`
	}
	if err := m.Decode(&body); err != nil || body.Type == "" {
		return &RemoteError{Type: "UnknownError", Message: "malformed ERROR reply body"}
	}
	return &RemoteError{Type: body.Type, Message: body.Message}
}
