package codec

import (
	"encoding/binary"
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
	headers, encoded, _, err = appendBody(e.buf.Bytes(), body, false)
	return headers, encoded, err
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
func PeekRequest(data []byte) (RequestHeaders, error) {
	if h, ok := peekFast(data); ok {
		return h, nil
	}
	return peekRequest(data)
}

// peekFast reads the headers lymph peers send (a map of text or bin keys;
// trace_id and version text, bin or nil; timeout_ms an integer) straight
// from the bytes, skipping other values with the well-formedness checker:
// the general path's msgpack decoder and its key strings were 11 % of a
// server's CPU at 64 calls in flight. ok is false for anything else, and
// for anything malformed, which peekRequest then reads or reports: both
// paths agree wherever peekFast answers (TestPeekFastAgrees).
func peekFast(data []byte) (h RequestHeaders, ok bool) {
	if len(data) == 0 {
		return h, true
	}
	n, off, ok := mapHeader(data)
	if !ok {
		return h, false
	}
	for range n {
		var key []byte
		if key, off, ok = rawText(data, off); !ok {
			return h, false
		}
		switch string(key) { // compared without allocating
		case HeaderTraceID, HeaderVersion:
			var s string
			if off < len(data) && data[off] == 0xc0 { // nil
				off++
			} else {
				var v []byte
				if v, off, ok = rawText(data, off); !ok {
					return h, false
				}
				s = string(v)
			}
			if string(key) == HeaderTraceID {
				h.TraceID = s
			} else {
				h.Version = s
			}
		case HeaderTimeout:
			if h.Timeout, off, ok = rawInt(data, off); !ok {
				return h, false
			}
			h.HasTimeout = true
		default:
			c := checker{data: data, off: off}
			if c.value(1) != nil {
				return h, false
			}
			off = c.off
		}
	}
	return h, off == len(data)
}

// mapHeader reads a map's length: fixmap, map16 or map32.
func mapHeader(data []byte) (n, off int, ok bool) {
	switch code := data[0]; {
	case code >= 0x80 && code <= 0x8f:
		return int(code & 0x0f), 1, true
	case code == 0xde && len(data) >= 3:
		return int(binary.BigEndian.Uint16(data[1:])), 3, true
	case code == 0xdf && len(data) >= 5:
		n := binary.BigEndian.Uint32(data[1:])
		return int(n), 5, uint64(n) <= uint64(len(data)) // each entry takes 2 bytes or more
	}
	return 0, 0, false
}

// rawText reads a str or bin value (Python 2 sent text as bin) and
// returns its bytes, which alias data.
func rawText(data []byte, off int) (b []byte, next int, ok bool) {
	if off >= len(data) {
		return nil, 0, false
	}
	code := data[off]
	var n, head int
	switch {
	case code >= 0xa0 && code <= 0xbf:
		n, head = int(code&0x1f), 1
	case (code == 0xd9 || code == 0xc4) && off+2 <= len(data):
		n, head = int(data[off+1]), 2
	case (code == 0xda || code == 0xc5) && off+3 <= len(data):
		n, head = int(binary.BigEndian.Uint16(data[off+1:])), 3
	case (code == 0xdb || code == 0xc6) && off+5 <= len(data):
		n, head = int(binary.BigEndian.Uint32(data[off+1:])), 5
	default:
		return nil, 0, false
	}
	start := off + head
	if n > len(data)-start {
		return nil, 0, false
	}
	return data[start : start+n], start + n, true
}

// rawInt reads an integer value of any width, as toInt64 converts it.
func rawInt(data []byte, off int) (v int64, next int, ok bool) {
	if off >= len(data) {
		return 0, 0, false
	}
	code := data[off]
	if code <= 0x7f || code >= 0xe0 { // fixints
		return int64(int8(code)), off + 1, true
	}
	var width int
	switch code {
	case 0xcc, 0xd0: // uint8, int8
		width = 1
	case 0xcd, 0xd1:
		width = 2
	case 0xce, 0xd2:
		width = 4
	case 0xcf, 0xd3:
		width = 8
	default:
		return 0, 0, false
	}
	if off+1+width > len(data) {
		return 0, 0, false
	}
	b := data[off+1 : off+1+width]
	var u uint64
	for _, x := range b {
		u = u<<8 | uint64(x)
	}
	if code >= 0xd0 { // signed: extend the sign
		shift := 64 - 8*width
		return int64(u<<shift) >> shift, off + 1 + width, true
	}
	if u > 1<<62 {
		u = 1 << 62
	}
	return int64(u), off + 1 + width, true
}

// peekRequest is PeekRequest's general path, through the msgpack decoder.
func peekRequest(data []byte) (h RequestHeaders, err error) {
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
