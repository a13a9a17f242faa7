package codec

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Unmarshal decodes the msgpack document data into the value v points to.
// data must hold exactly one document. See the package documentation for
// how msgpack maps to Go values.
func Unmarshal(data []byte, v any) error {
	d := getDecodeState(data)
	defer putDecodeState(d)
	if p, ok := v.(*any); ok && p != nil {
		x, err := d.decodeAny()
		if err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		*p = x
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	if err := typeDecoder(rv.Type().Elem())(d, rv.Elem()); err != nil {
		return err
	}
	return d.end()
}

// decodeState is the position and depth of one decoding, pooled.
type decodeState struct {
	reader
	depth int
}

var decodePool = sync.Pool{New: func() any { return new(decodeState) }}

func getDecodeState(data []byte) *decodeState {
	d := decodePool.Get().(*decodeState)
	*d = decodeState{reader: reader{data: data}}
	return d
}

func putDecodeState(d *decodeState) {
	d.data = nil // don't keep the caller's buffer alive
	decodePool.Put(d)
}

// end reports bytes left over after the document.
func (d *decodeState) end() error {
	if d.off != len(d.data) {
		return d.errorf("%d bytes after the end of the document", len(d.data)-d.off)
	}
	return nil
}

func (d *decodeState) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("nesting deeper than %d levels", maxDepth)
	}
	return nil
}

// embedded decodes the nested document p of an extension 101 with fn, which
// must consume all of it.
func (d *decodeState) embedded(p []byte, fn func(sub *decodeState) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	sub := &decodeState{reader: reader{data: p}, depth: d.depth}
	if err := fn(sub); err != nil {
		return err
	}
	if sub.off != len(p) {
		return d.errorf("%d bytes after the end of an embedded document", len(p)-sub.off)
	}
	d.depth--
	return nil
}

// --- decoding into any ---

// decodeAny decodes the next value into the Go value the package
// documentation lists for an any target.
func (d *decodeState) decodeAny() (any, error) {
	c, err := d.readByte()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= negFixIntLow:
		return int64(int8(c)), nil
	case c < fixArrayLow:
		d.off--
		return d.anyMap()
	case c < fixStrLow:
		return d.anyArray(c)
	case c < codeNil:
		p, err := d.next(int(c & 0x1f))
		return string(p), err
	}
	switch kindOf(c) {
	case kindNil:
		return nil, nil
	case kindBool:
		return c == codeTrue, nil
	case kindInt:
		i, u, big, err := d.readInt(c)
		if big {
			return u, err
		}
		return i, err
	case kindFloat:
		return d.readFloat(c)
	case kindStr:
		p, err := d.readBytes(c)
		return string(p), err
	case kindBin:
		p, err := d.readBytes(c)
		if err != nil {
			return nil, err
		}
		return bytes.Clone(p), nil
	case kindArray:
		return d.anyArray(c)
	case kindMap:
		d.off--
		return d.anyMap()
	case kindExt:
		return d.anyExt(c)
	}
	d.off--
	return nil, d.errorf("invalid code %#x", c)
}

func (d *decodeState) anyArray(c byte) (any, error) {
	n, err := d.arrayLen(c)
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	s := make([]any, n)
	for i := range s {
		if s[i], err = d.decodeAny(); err != nil {
			return nil, err
		}
	}
	d.depth--
	return s, nil
}

// anyMap decodes a map positioned at its code: a lymph typed map becomes
// its Go value, other maps map[string]any, or map[any]any when a key is not
// text.
func (d *decodeState) anyMap() (any, error) {
	if env, ok := d.peekEnvelope(); ok && knownName(env.name) {
		if err := d.enter(); err != nil {
			return nil, err
		}
		v, err := d.decodeEnvelopeAny(env)
		d.depth--
		return v, err
	}
	c := d.data[d.off]
	d.off++
	n, err := d.mapLen(c)
	if err != nil {
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	m := make(map[string]any, n)
	var gm map[any]any // replaces m once a key is not text
	for range n {
		c, err := d.readByte()
		if err != nil {
			return nil, err
		}
		var key any
		var text string
		isText := kindOf(c) == kindStr || kindOf(c) == kindBin
		if isText {
			// bin keys count as text: Python 2 peers send str keys as bin,
			// and []byte could not be a map key anyway.
			p, err := d.readBytes(c)
			if err != nil {
				return nil, err
			}
			text = internKey(p)
		} else {
			d.off--
			if key, err = d.decodeAny(); err != nil {
				return nil, err
			}
			if !hashable(key) {
				return nil, &TypeError{Value: fmt.Sprintf("%T as a map key", key), Type: mapAnyAnyType}
			}
		}
		val, err := d.decodeAny()
		if err != nil {
			return nil, err
		}
		switch {
		case gm == nil && isText:
			m[text] = val
			continue
		case gm == nil:
			gm = make(map[any]any, n)
			for k, v := range m {
				gm[k] = v
			}
		}
		if isText {
			gm[text] = val
		} else {
			gm[key] = val
		}
	}
	d.depth--
	if gm != nil {
		return gm, nil
	}
	return m, nil
}

var mapAnyAnyType = reflect.TypeFor[map[any]any]()

// hashable reports whether a decoded value can be a Go map key.
func hashable(k any) bool {
	switch k.(type) {
	case nil, bool, int64, uint64, float64, string, time.Time, Date, TimeOfDay, Decimal, uuid.UUID:
		return true
	}
	return false
}

// internKey returns keys that lymph messages use all the time without
// allocating a new string for each.
func internKey(p []byte) string {
	switch string(p) {
	case "trace_id":
		return "trace_id"
	case "version":
		return "version"
	case "type":
		return "type"
	case "message":
		return "message"
	case "payload":
		return "payload"
	case "headers":
		return "headers"
	case "body":
		return "body"
	case "source":
		return "source"
	case typeKey:
		return typeKey
	case valueKey:
		return valueKey
	}
	return string(p)
}

func (d *decodeState) anyExt(c byte) (any, error) {
	typ, n, err := d.extHeader(c)
	if err != nil {
		return nil, err
	}
	p, err := d.next(n)
	if err != nil {
		return nil, err
	}
	switch typ {
	case extEmbedded:
		var v any
		err := d.embedded(p, func(sub *decodeState) error {
			var err error
			v, err = sub.decodeAny()
			return err
		})
		return v, err
	case extTimestamp:
		t, err := decodeTimestamp(p)
		if err != nil {
			return nil, &TypeError{Value: "msgpack timestamp", Type: timeType, Err: err}
		}
		return t, nil
	}
	return Ext{Type: typ, Data: bytes.Clone(p)}, nil
}
