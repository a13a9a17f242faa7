// Package codec is lymph's msgpack: the only package of the module that
// knows msgpack's options. It wraps github.com/vmihailenco/msgpack/v5 with
// the flavour Python lymph speaks:
//
//   - text is msgpack str and bytes are msgpack bin (Python's
//     use_bin_type=True); str decodes to string, bin to []byte;
//   - integers are written in their smallest form, as Python writes them;
//     decoded into `any` they keep their wire width (int8 ... int64, uint8
//     ... uint64), as vmihailenco/msgpack decodes them: decode into typed
//     values where the width matters;
//   - maps decode into `any` as map[string]any when every key is text, else
//     map[any]any;
//   - lymph's extension values travel as {"__type__": NAME, "_": VALUE}:
//     time.Time (datetime), Date, TimeOfDay, Decimal, uuid.UUID and Set; and
//     msgpack extension 101 carries a nested msgpack document.
//
// To make time.Time and uuid.UUID travel in lymph's form wherever they
// appear (struct fields included), the package registers encoders for them
// with msgpack.Register at init. That registration is process-wide: other
// code in the same binary that encodes those two types with
// vmihailenco/msgpack gets lymph's form too.
package codec

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// encoderPool keeps encoders with their buffers: encoding is on every
// message's path.
var encoderPool = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	// Deterministic bytes: equal values encode equally, so goldens and
	// caches can compare them.
	e.enc.SetSortMapKeys(true)
	return e
}}

type pooledEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// maxPooledBuffer keeps one huge message from pinning its buffer in the
// pool forever.
const maxPooledBuffer = 64 << 10

// Marshal encodes v as lymph's msgpack.
func Marshal(v any) ([]byte, error) {
	return AppendMarshal(nil, v)
}

// AppendMarshal appends v, encoded as lymph's msgpack, to dst. On error dst
// is returned unchanged. With room in dst it allocates nothing of its own.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*pooledEncoder)
	e.buf.Reset()
	err := encode(e.enc, v)
	if err == nil {
		dst = append(dst, e.buf.Bytes()...)
	}
	if e.buf.Cap() <= maxPooledBuffer {
		encoderPool.Put(e)
	}
	if err != nil {
		return dst, fmt.Errorf("codec: %w", err)
	}
	return dst, nil
}

// encode writes v. msgpack's Encode takes a shortcut for time.Time held in
// an interface (a top-level value, a value in a map[string]any or []any)
// that skips registered encoders, so those are rewritten to lymph's form
// first.
func encode(enc *msgpack.Encoder, v any) error {
	v, _ = lymphValues(v)
	return enc.Encode(v)
}

// lymphValues replaces time.Time values held in interfaces of generic
// containers with their lymph form. It copies a container only when it
// holds one, so the common case costs a walk and no allocation.
func lymphValues(v any) (any, bool) {
	switch x := v.(type) {
	case time.Time:
		return datetime(x), true
	case *time.Time:
		if x != nil {
			return datetime(*x), true
		}
	case map[string]any:
		var out map[string]any
		for k, val := range x {
			if nv, changed := lymphValues(val); changed {
				if out == nil {
					out = maps.Clone(x)
				}
				out[k] = nv
			}
		}
		if out != nil {
			return out, true
		}
	case []any:
		var out []any
		for i, val := range x {
			if nv, changed := lymphValues(val); changed {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = nv
			}
		}
		if out != nil {
			return out, true
		}
	case Set:
		if out, changed := lymphValues([]any(x)); changed {
			return Set(out.([]any)), true
		}
	}
	return v, false
}

// decoderPool keeps decoders with the reader they read from: decoding is
// on every message's path too.
var decoderPool = sync.Pool{New: func() any {
	return &pooledDecoder{dec: msgpack.NewDecoder(nil)}
}}

type pooledDecoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

// getDecoder returns a configured decoder reading data; putDecoder gives it
// back without keeping data alive.
func getDecoder(data []byte) *pooledDecoder {
	p := decoderPool.Get().(*pooledDecoder)
	p.r.Reset(data)
	p.dec.Reset(&p.r)
	configureDecoder(p.dec) // Reset clears the decoder's options
	return p
}

func putDecoder(p *pooledDecoder) {
	p.r.Reset(nil)
	p.dec.Reset(nil)
	decoderPool.Put(p)
}

func configureDecoder(d *msgpack.Decoder) {
	d.SetMapDecoder(decodeMap)
}

// Unmarshal decodes msgpack data into v, a non-nil pointer. The whole of
// data must be one msgpack document.
func Unmarshal(data []byte, v any) (err error) {
	defer recoverDecode(&err)
	n, err := checkWellFormed(data)
	if err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	if n != len(data) {
		return fmt.Errorf("codec: %d bytes after the msgpack document", len(data)-n)
	}
	pd := getDecoder(data)
	defer putDecoder(pd)
	d := pd.dec
	if tp, ok := v.(*time.Time); ok {
		// Decode's shortcut for *time.Time skips registered decoders.
		err = decodeTime(d, reflect.ValueOf(tp).Elem())
	} else {
		err = d.Decode(v)
	}
	if err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	return nil
}

// Raw is a msgpack document kept undecoded: encoding a Raw writes its bytes
// as they are; decoding into a *Raw copies the document.
type Raw = msgpack.RawMessage

// recoverDecode turns a panic inside vmihailenco/msgpack into an error. Its
// decoder panics on some input it should reject — a value of the wrong
// type for a struct field of a non-empty interface type, found by
// FuzzUnmarshal — and data from the network must never crash a process.
func recoverDecode(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("codec: cannot decode: %v", r)
	}
}
