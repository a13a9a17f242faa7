package codec

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lymphgo/lymph/internal/bufpool"
)

// Header names lymph itself sets.
const (
	HeaderTraceID = "trace_id"
	HeaderVersion = "version"
)

// Headers is a lymph message's header map.
type Headers = map[string]any

// MarshalHeaders encodes a lymph message's headers: trace_id and version
// always (an empty string is sent as nil, as lymph sends a missing value),
// then the extra headers in key order, so equal headers encode equally.
// trace_id and version in extra are ignored: lymph sets those.
func MarshalHeaders(traceID, version string, extra map[string]any) ([]byte, error) {
	return AppendHeaders(nil, traceID, version, extra)
}

// AppendHeaders is MarshalHeaders appending to dst; on error dst is
// returned unchanged.
func AppendHeaders(dst []byte, traceID, version string, extra map[string]any) ([]byte, error) {
	e := encoderPool.Get().(*pooledEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer {
			encoderPool.Put(e)
		}
	}()
	e.buf.Reset()
	if err := writeHeaders(e.enc, traceID, version, extra); err != nil {
		return dst, err
	}
	return append(dst, e.buf.Bytes()...), nil
}

// MarshalMessage encodes a message's headers (trace_id and version) and its
// body in one allocation: the two slices share one backing array. It is the
// per-message encoding of every request a proxy sends and of every reply a
// method returns.
func MarshalMessage(traceID, version string, body any) (headers, encoded []byte, err error) {
	headers, encoded, _, err = marshalMessage(traceID, version, body, false)
	return headers, encoded, err
}

// MarshalReply is MarshalMessage for a message whose sender says when it
// is written: a big body is then encoded into a pooled buffer (bigbuf.go),
// and release, when not nil, gives it back. Nothing may use headers or
// encoded after release.
func MarshalReply(traceID, version string, body any) (headers, encoded []byte, release func(), err error) {
	return marshalMessage(traceID, version, body, true)
}

func marshalMessage(traceID, version string, body any, pooled bool) (headers, encoded []byte, release func(), err error) {
	e := encoderPool.Get().(*pooledEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer {
			encoderPool.Put(e)
		}
	}()
	e.buf.Reset()
	if err := writeHeaders(e.enc, traceID, version, nil); err != nil {
		return nil, nil, nil, err
	}
	return appendBody(e.buf.Bytes(), body, pooled)
}

// appendBody encodes body straight after headers, in one buffer, and
// returns the two parts of it: the message's headers and body share one
// backing array. The walker appends to the pooled state's buffer, so a big
// string or []byte body grows it once, to its size, and is copied once,
// into it; before, the body was encoded into one buffer and then written
// into the msgpack encoder's bytes.Buffer, which grew (zeroing) to the
// payload's size and copied it a second time — 1 MiB: 2.1 MB and 9
// allocations per message. A small message is copied out at its exact size
// and the buffer stays for the next one; one over maxPooledBuffer, which
// the pool would not keep anyway, is handed out as it is, or, pooled, in
// a big buffer that release gives back.
func appendBody(headers []byte, body any, pooled bool) (h, encoded []byte, release func(), err error) {
	st := statePool.Get().(*encState)
	st.buf, st.depth, st.big = append(st.buf[:0], headers...), 0, pooled
	n := len(headers)
	err = st.encode(body)
	var b []byte
	switch {
	case st.own != nil: // moved into a big buffer
		b, st.buf, st.own = st.buf, st.own, nil
		if err == nil {
			release = releaser(b)
		} else {
			bufpool.Put(b)
		}
	case err != nil:
	case cap(st.buf) > maxPooledBuffer:
		b, st.buf = st.buf, nil
	default:
		b = bytes.Clone(st.buf)
	}
	st.big = false
	putState(st)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("codec: %w", err)
	}
	return b[:n:n], b[n:], release, nil
}

func writeHeaders(enc *msgpack.Encoder, traceID, version string, extra map[string]any) error {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if k != HeaderTraceID && k != HeaderVersion {
			keys = append(keys, k)
		}
	}
	if err := enc.EncodeMapLen(2 + len(keys)); err != nil {
		return err
	}
	if err := encodeKeyText(enc, HeaderTraceID, traceID); err != nil {
		return err
	}
	if err := encodeKeyText(enc, HeaderVersion, version); err != nil {
		return err
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := enc.EncodeString(k); err != nil {
			return err
		}
		if err := encode(enc, extra[k]); err != nil {
			return fmt.Errorf("codec: header %q: %w", k, err)
		}
	}
	return nil
}

func encodeKeyText(enc *msgpack.Encoder, key, value string) error {
	if err := enc.EncodeString(key); err != nil {
		return err
	}
	if value == "" {
		return enc.EncodeNil()
	}
	return enc.EncodeString(value)
}

// UnmarshalHeaders decodes a lymph message's headers. An empty frame is no
// headers; anything but a map is an error.
func UnmarshalHeaders(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := Unmarshal(data, &v); err != nil {
		return nil, err
	}
	switch m := v.(type) {
	case map[string]any:
		// Python 2 peers sent text as bin: take lymph's own headers as text.
		for _, k := range [...]string{HeaderTraceID, HeaderVersion} {
			if b, ok := m[k].([]byte); ok {
				m[k] = string(b)
			}
		}
		return m, nil
	case nil:
		return map[string]any{}, nil
	case map[any]any:
		// Keep the text keys; lymph's own are all text.
		out := make(map[string]any, len(m))
		for k, val := range m {
			if s, ok := k.(string); ok {
				out[s] = val
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("codec: headers must be a map, got %T", v)
}

// PeekHeaders reads only trace_id and version from a lymph message's
// headers, skipping the rest: what dispatching a request needs, without
// building the whole map. Missing or nil values read as "". An empty frame
// is no headers.
func PeekHeaders(data []byte) (traceID, version string, err error) {
	h, err := PeekRequest(data)
	return h.TraceID, h.Version, err
}

// releaser returns a func giving big back to its pool: a function of its
// own, so that only a big message pays for the closure (captured by a
// closure in appendBody, every message's buffer would move to the heap).
func releaser(big []byte) func() { return func() { bufpool.Put(big) } }
