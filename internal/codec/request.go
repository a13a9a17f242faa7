package codec

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// HeaderTimeout is the request header that carries the caller's remaining
// time, in whole milliseconds (rounded up), as gRPC's grpc-timeout does: a
// duration rather than an instant, so the two clocks need not agree.
// Python lymph neither sends nor reads it.
const HeaderTimeout = "timeout_ms"

// RequestHeaders are the headers a server reads before dispatching a
// request, without decoding the others.
type RequestHeaders struct {
	TraceID, Version string
	// Timeout is the caller's remaining time in milliseconds; HasTimeout
	// says whether the header was there (a Python caller sends none).
	Timeout    int64
	HasTimeout bool
}

// MarshalRequest encodes a request's headers — trace_id, version, the
// timeout when timeoutMs > 0, then extra in key order — and its body in one
// allocation, as MarshalMessage does. Keys of extra that lymph or this
// package set are ignored.
func MarshalRequest(traceID, version string, timeoutMs int64, extra map[string]any, body any) (headers, encoded []byte, err error) {
	e := encoderPool.Get().(*pooledEncoder)
	defer func() {
		if e.buf.Cap() <= maxPooledBuffer {
			encoderPool.Put(e)
		}
	}()
	e.buf.Reset()
	if err := writeRequestHeaders(e.enc, traceID, version, timeoutMs, extra); err != nil {
		return nil, nil, err
	}
	n := e.buf.Len()
	if err := encode(e.enc, body); err != nil {
		return nil, nil, fmt.Errorf("codec: %w", err)
	}
	b := e.takeBytes()
	return b[:n:n], b[n:], nil
}

func writeRequestHeaders(enc *msgpack.Encoder, traceID, version string, timeoutMs int64, extra map[string]any) error {
	if len(extra) == 0 {
		if timeoutMs <= 0 {
			return writeHeaders(enc, traceID, version, nil)
		}
		return writeTimeoutOnly(enc, traceID, version, timeoutMs)
	}
	// The timeout goes with the extra headers, in key order; a caller's own
	// timeout_ms never replaces the one the deadline gives.
	all := make(map[string]any, len(extra)+1)
	for k, v := range extra {
		all[k] = v
	}
	delete(all, HeaderTimeout)
	if timeoutMs > 0 {
		all[HeaderTimeout] = timeoutMs
	}
	return writeHeaders(enc, traceID, version, all)
}

// writeTimeoutOnly is the common request: lymph's two headers and the
// timeout, written without building a map.
func writeTimeoutOnly(enc *msgpack.Encoder, traceID, version string, timeoutMs int64) error {
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	if err := encodeKeyText(enc, HeaderTraceID, traceID); err != nil {
		return err
	}
	if err := encodeKeyText(enc, HeaderVersion, version); err != nil {
		return err
	}
	if err := enc.EncodeString(HeaderTimeout); err != nil {
		return err
	}
	return enc.EncodeInt(timeoutMs)
}

// PeekRequest reads only trace_id, version and the timeout from a request's
// headers, skipping the rest, as PeekHeaders does.
func PeekRequest(data []byte) (h RequestHeaders, err error) {
	defer recoverDecode(&err)
	if len(data) == 0 {
		return h, nil
	}
	n, err := checkWellFormed(data)
	if err != nil {
		return h, fmt.Errorf("codec: %w", err)
	}
	if n != len(data) {
		return h, fmt.Errorf("codec: %d bytes after the msgpack document", len(data)-n)
	}
	pd := getDecoder(data)
	defer putDecoder(pd)
	d := pd.dec
	entries, err := d.DecodeMapLen()
	if err != nil {
		return h, fmt.Errorf("codec: headers must be a map: %w", err)
	}
	for range max(entries, 0) {
		key, err := d.DecodeInterface()
		if err != nil {
			return h, fmt.Errorf("codec: %w", err)
		}
		k, _ := key.(string)
		if b, ok := key.([]byte); ok {
			k = string(b) // Python 2 peers sent text keys as bin
		}
		switch k {
		case HeaderTraceID, HeaderVersion:
			v, err := d.DecodeInterface()
			if err != nil {
				return h, fmt.Errorf("codec: header %q: %w", k, err)
			}
			var s string
			switch x := v.(type) {
			case string:
				s = x
			case []byte:
				s = string(x)
			}
			if k == HeaderTraceID {
				h.TraceID = s
			} else {
				h.Version = s
			}
		case HeaderTimeout:
			v, err := d.DecodeInterface()
			if err != nil {
				return h, fmt.Errorf("codec: header %q: %w", k, err)
			}
			ms, ok := toInt64(v)
			if !ok {
				return h, fmt.Errorf("codec: header %q: want an integer, got %T", k, v)
			}
			h.Timeout, h.HasTimeout = ms, true
		default:
			if err := d.Skip(); err != nil {
				return h, fmt.Errorf("codec: %w", err)
			}
		}
	}
	return h, nil
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > 1<<62 {
			return 1 << 62, true
		}
		return int64(x), true
	case float64:
		return int64(x), true
	case float32:
		return int64(x), true
	}
	return 0, false
}
