package events

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/lymphgo/lymph/internal/codec"
)

// ContentType is the AMQP content type lymph's "lymph-msgpack" serializer
// writes. Python's consumers drop any other msgpack content type, so every
// backend sends exactly this one and refuses others.
const ContentType = "application/lymph+x-msgpack"

// ContentEncoding is what kombu sends with ContentType.
const ContentEncoding = "binary"

// Header keys lymph puts in an event's headers (inside the msgpack body, not
// in AMQP's application headers).
const (
	HeaderTraceID    = "trace_id"
	HeaderRetryCount = "retry_count"
)

// Event is one lymph event: a type, a body (lymph's payload), the identity of
// the container that emitted it, and headers (trace_id, retry_count).
type Event struct {
	// Type is the event type, e.g. "user.created"; bindings match it.
	Type string
	// Body is the payload. On emit, any value lymph's msgpack can encode
	// (a map or a struct with msgpack tags, usually). On receipt, the
	// decoded value (map[string]any for a map); Decode fills a typed
	// value instead.
	Body any
	// Source is the emitting container's identity (md5 of its endpoint).
	Source string
	// Headers holds trace_id and, on retries, retry_count.
	Headers map[string]any

	raw []byte // the body's msgpack, as received
}

// TraceID returns the event's trace id, or "" when it has none.
func (e *Event) TraceID() string {
	s, _ := e.Headers[HeaderTraceID].(string)
	return s
}

// RetryCount returns the retries left that a retried event carries, and
// whether it carries any.
func (e *Event) RetryCount() (int, bool) {
	return asInt(e.Headers[HeaderRetryCount])
}

// Decode decodes the body into v, a non-nil pointer, as RPC arguments are
// decoded: into a struct by its msgpack tags (a field the body lacks is an
// error unless optional, an unknown key is an error), into a map, or into
// any other type msgpack can fill.
func (e *Event) Decode(v any) error {
	raw := e.raw
	if raw == nil {
		var err error
		if raw, err = codec.Marshal(e.Body); err != nil {
			return fmt.Errorf("events: %s: encode body: %w", e.Type, err)
		}
	}
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Pointer && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Map) {
		if err := codec.DecodeArgs(raw, v); err != nil {
			return fmt.Errorf("events: %s: %w", e.Type, err)
		}
		return nil
	}
	if err := codec.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("events: %s: %w", e.Type, err)
	}
	return nil
}

// String shows the event as lymph subscribe prints it: "TYPE: BODY".
func (e *Event) String() string {
	return fmt.Sprintf("%s: %v", e.Type, e.Body)
}

// wireEvent is lymph's serialized Event (lymph/core/events.py, serialize):
// keys as msgpack str.
type wireEvent struct {
	Type    string         `msgpack:"type"`
	Headers map[string]any `msgpack:"headers"`
	Body    codec.Raw      `msgpack:"body"`
	Source  string         `msgpack:"source"`
}

// Marshal encodes ev as lymph's msgpack map {type, headers, body, source}.
func Marshal(ev *Event) ([]byte, error) {
	if err := CheckType(ev.Type); err != nil {
		return nil, err
	}
	raw := ev.raw
	if raw == nil {
		var err error
		if raw, err = codec.Marshal(ev.Body); err != nil {
			return nil, fmt.Errorf("events: %s: encode body: %w", ev.Type, err)
		}
	}
	headers := ev.Headers
	if headers == nil {
		headers = map[string]any{}
	}
	b, err := codec.Marshal(wireEvent{Type: ev.Type, Headers: headers, Body: raw, Source: ev.Source})
	if err != nil {
		return nil, fmt.Errorf("events: %s: %w", ev.Type, err)
	}
	return b, nil
}

// ErrBadEvent is wrapped by Unmarshal's errors: the message is not a lymph
// event.
var ErrBadEvent = errors.New("events: not a lymph event")

// Unmarshal decodes a message body lymph's way (Event.deserialize): a
// missing body is {}, missing or nil headers are {}. It refuses what Python
// lymph cannot read either: a non-map document, broken msgpack, a missing
// type, and a map with an unknown lymph "__type__".
func Unmarshal(data []byte) (*Event, error) {
	var w wireEvent
	if err := codec.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if w.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrBadEvent)
	}
	ev := &Event{Type: w.Type, Source: w.Source, Headers: w.Headers}
	if ev.Headers == nil {
		ev.Headers = map[string]any{}
	}
	if err := checkEnvelopes(ev.Headers); err != nil {
		return nil, err
	}
	if w.Body == nil {
		// Missing is {}, but a nil body stays nil (Event.deserialize).
		var m map[string]any
		if codec.Unmarshal(data, &m) == nil {
			if _, present := m["body"]; present {
				ev.Body, ev.raw = nil, []byte{0xc0}
				return ev, nil
			}
		}
		ev.Body, ev.raw = map[string]any{}, []byte{0x80}
		return ev, nil
	}
	ev.raw = []byte(w.Body)
	if err := codec.Unmarshal(ev.raw, &ev.Body); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrBadEvent, err)
	}
	if err := checkEnvelopes(ev.Body); err != nil {
		return nil, err
	}
	return ev, nil
}

// checkEnvelopes refuses a map left with a "__type__" key after decoding:
// the codec turns lymph's known names into Go values, so what is left is a
// name lymph does not know (its load_object raises on those).
func checkEnvelopes(v any) error {
	switch x := v.(type) {
	case map[string]any:
		if t, ok := x["__type__"]; ok {
			return fmt.Errorf("%w: unknown __type__ %v", ErrBadEvent, t)
		}
		for _, e := range x {
			if err := checkEnvelopes(e); err != nil {
				return err
			}
		}
	case map[any]any:
		for _, e := range x {
			if err := checkEnvelopes(e); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkEnvelopes(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckType refuses event types that cannot be a routing key: empty, longer
// than AMQP's 255 bytes, or with a wildcard word (types are concrete).
func CheckType(t string) error {
	if t == "" || len(t) > 255 {
		return fmt.Errorf("events: bad event type %q (1 to 255 bytes)", t)
	}
	for _, w := range strings.Split(t, ".") {
		if w == "*" || w == "#" {
			return fmt.Errorf("events: event type %q has a wildcard word; only bindings may", t)
		}
	}
	return nil
}

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}
