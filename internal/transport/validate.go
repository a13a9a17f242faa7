package transport

import "unicode/utf8"

// Incoming is one validated message as received: the ROUTER's six frames
// [sender, id, type, subject, headers, body]. Sender is valid UTF-8 and a
// tcp://host:port URL (the peer's socket identity, the address to reply
// to); ID, Type and Subject are valid UTF-8; Type is one of REQ, REP, ACK,
// NACK, ERROR. Headers and Body are raw msgpack, owned by the receiver.
type Incoming struct {
	Sender  string
	ID      string
	Type    string
	Subject string
	Headers []byte
	Body    []byte

	// TooLarge reports a message over Options.MaxMessageSize (but within
	// four times it) whose id, type and subject frames were valid: its
	// headers and body were read past without being stored, and are nil.
	// The connection stays open. The receiver should refuse such a
	// request at once (a NACK saying why) rather than leave its caller
	// waiting for a reply that cannot come. Messages far over the limit,
	// or over it before the headers, still close the connection.
	TooLarge bool

	// Route, when not nil, is the connection the message came in on,
	// which the sender agreed to receive replies on: pass it to Reply.
	Route *Route

	// Pooled, when not nil, is the buffer Headers and Body were read into,
	// from bufpool (big messages). A receiver sure that nothing refers to
	// them any more may give it back with bufpool.Put, and must not use
	// them afterwards; left alone, it is garbage collected as usual.
	Pooled []byte
}

// Message types of the lymph protocol.
const (
	TypeREQ   = "REQ"
	TypeREP   = "REP"
	TypeACK   = "ACK"
	TypeNACK  = "NACK"
	TypeERROR = "ERROR"
)

// messageType returns the interned type string for b, so that a received
// message's type costs no allocation, and false for an unknown type.
func messageType(b []byte) (string, bool) {
	switch string(b) { // no allocation: the compiler compares in place
	case TypeREQ:
		return TypeREQ, true
	case TypeREP:
		return TypeREP, true
	case TypeACK:
		return TypeACK, true
	case TypeNACK:
		return TypeNACK, true
	case TypeERROR:
		return TypeERROR, true
	}
	return "", false
}

// dropReason says why a received message was not handed to the Handler.
type dropReason uint8

const (
	dropNone dropReason = iota
	dropBadFrames
	dropBadUTF8
	dropUnknownType
	dropBadIdentity
	dropTooLarge
	dropNoHandler
	dropClosed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{
	dropNone:        "none",
	dropBadFrames:   "bad frame count",
	dropBadUTF8:     "id or subject not UTF-8",
	dropUnknownType: "unknown message type",
	dropBadIdentity: "sender identity not a tcp://host:port URL",
	dropTooLarge:    "message too large",
	dropNoHandler:   "no handler",
	dropClosed:      "transport closed",
}

// String describes the reason for logs.
func (r dropReason) String() string { return dropReasonNames[r] }

// validateFrames checks the five frames of a message as sent (the sender
// identity is checked once per connection, at handshake). The frames are
// id, type, subject, headers, body.
func validateFrames(id, typ, subject []byte) (string, dropReason) {
	t, ok := messageType(typ)
	if !ok {
		return "", dropUnknownType
	}
	if !utf8.Valid(id) || !utf8.Valid(subject) {
		return "", dropBadUTF8
	}
	return t, dropNone
}
