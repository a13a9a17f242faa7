package codec

import "fmt"

// Every lymph message carries a header map (PROTOCOL.md, "Headers"); these
// helpers write and read it on the hot path with few allocations.

// Header keys that lymph defines.
const (
	HeaderTraceID = "trace_id"
	HeaderVersion = "version"
)

// Headers is a lymph header map: text keys, any values.
type Headers = map[string]any

// AppendHeaders appends a header map to dst: "trace_id" and "version"
// first, always present (an empty string is written as nil, as lymph does
// for a missing trace id or version), then the keys of extra in sorted
// order. Keys of extra that repeat trace_id or version are ignored: the
// arguments win. With a dst of enough capacity and no extra it does not
// allocate.
func AppendHeaders(dst []byte, traceID, version string, extra map[string]any) ([]byte, error) {
	n := 2 + len(extra)
	if _, ok := extra[HeaderTraceID]; ok {
		n--
	}
	if _, ok := extra[HeaderVersion]; ok {
		n--
	}
	b := appendMapHeader(dst, n)
	b = appendStr(b, HeaderTraceID)
	b = appendOptionalStr(b, traceID)
	b = appendStr(b, HeaderVersion)
	b = appendOptionalStr(b, version)
	if n == 2 {
		return b, nil
	}
	e := getEncodeState()
	defer putEncodeState(e)
	own := e.buf
	e.buf = b
	mark := sortedKeys(e, extra)
	for _, k := range e.keys[mark:] {
		if k == HeaderTraceID || k == HeaderVersion {
			continue
		}
		e.buf = appendStr(e.buf, k)
		if err := e.encodeAny(extra[k]); err != nil {
			e.buf = own
			return dst, fmt.Errorf("codec: header %q: %w", k, err)
		}
	}
	b = e.buf
	e.buf = own // b belongs to the caller: the pool must not keep it
	return b, nil
}

// MarshalHeaders returns a header map as AppendHeaders writes it, in a
// slice of its own: one allocation when extra is empty.
func MarshalHeaders(traceID, version string, extra map[string]any) ([]byte, error) {
	// 22 bytes of map header, keys and str headers, plus the values.
	b, err := AppendHeaders(make([]byte, 0, 24+len(traceID)+len(version)), traceID, version, extra)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func appendOptionalStr(b []byte, s string) []byte {
	if s == "" {
		return appendNil(b)
	}
	return appendStr(b, s)
}

// UnmarshalHeaders decodes a header frame. An empty frame, or nil, is an
// empty map; anything but a map with text keys is an error. Values decode
// as for an any target, except that a bin trace_id or version (as a
// Python 2 peer sends them) becomes a string.
func UnmarshalHeaders(data []byte) (map[string]any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	d := getDecodeState(data)
	defer putDecodeState(d)
	c, err := d.peek()
	if err != nil {
		return nil, err
	}
	if c == codeNil {
		d.off++
		return map[string]any{}, d.end()
	}
	if kindOf(c) != kindMap {
		return nil, fmt.Errorf("codec: headers must be a map, not %s", d.describe())
	}
	d.off++
	n, err := d.mapLen(c)
	if err != nil {
		return nil, err
	}
	d.depth++
	h := make(map[string]any, n)
	for range n {
		kc, err := d.readByte()
		if err != nil {
			return nil, err
		}
		if k := kindOf(kc); k != kindStr && k != kindBin {
			return nil, fmt.Errorf("codec: header keys must be text, not %s", k)
		}
		p, err := d.readBytes(kc)
		if err != nil {
			return nil, err
		}
		key := internKey(p)
		val, err := d.decodeAny()
		if err != nil {
			return nil, err
		}
		if b, ok := val.([]byte); ok && (key == HeaderTraceID || key == HeaderVersion) {
			val = string(b)
		}
		h[key] = val
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return h, nil
}
