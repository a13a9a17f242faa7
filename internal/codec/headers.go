package codec

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/vmihailenco/msgpack/v5"
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
	e := encoderPool.Get().(*pooledEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer {
			encoderPool.Put(e)
		}
	}()
	e.buf.Reset()
	if err := writeHeaders(e.enc, traceID, version, nil); err != nil {
		return nil, nil, err
	}
	n := e.buf.Len()
	if err := encode(e.enc, body); err != nil {
		return nil, nil, fmt.Errorf("codec: %w", err)
	}
	b := e.takeBytes()
	return b[:n:n], b[n:], nil
}

// takeBytes returns what e encoded, for the caller to keep. A small
// message is copied out at its exact size and the buffer stays for the
// next one. A message over maxPooledBuffer, whose buffer the pool would
// not keep anyway, gets the buffer itself: copying a 1 MiB reply once more
// cost 12.7 % of a server's CPU (and as much again in GC); the encoder,
// with a fresh empty buffer, goes back to the pool instead of being
// dropped and rebuilt.
func (e *pooledEncoder) takeBytes() []byte {
	if e.buf.Len() <= maxPooledBuffer {
		return bytes.Clone(e.buf.Bytes())
	}
	b := e.buf.Bytes()
	e.buf = bytes.Buffer{} // the encoder writes to &e.buf: same address
	return b
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
