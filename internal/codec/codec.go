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
// appear (struct fields included), the package registers encoders for them,
// and for map[string]any (whose values msgpack would otherwise write past
// the time.Time encoder), with msgpack.Register at init. That registration
// is process-wide: other code in the same binary that encodes those types
// with vmihailenco/msgpack gets lymph's form, and sorted map keys, too.
package codec

import (
	"bytes"
	"fmt"
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

// encode writes v. msgpack's Encode writes a time.Time passed to it
// directly as its own timestamp extension, skipping registered encoders,
// so a top-level time is given in lymph's form first. (Times inside
// containers reach the registered encoders: see encodeStringMap.)
func encode(enc *msgpack.Encoder, v any) error {
	switch x := v.(type) {
	case time.Time:
		v = datetime(x)
	case *time.Time:
		if x != nil {
			v = datetime(*x)
		}
	}
	return enc.Encode(v)
}

// encodeStringMap writes a map[string]any, keys sorted, registered in
// place of msgpack's own. msgpack writes such a map's values through
// Encode, whose shortcut for time.Time writes the msgpack timestamp
// extension, which lymph does not speak (and which our decoder refuses);
// a struct field or an interface holding such a map would carry it.
func encodeStringMap(e *msgpack.Encoder, v reflect.Value) error {
	if v.IsNil() {
		return e.EncodeNil()
	}
	m := v.Interface().(map[string]any)
	if err := e.EncodeMapLen(len(m)); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := e.EncodeString(k); err != nil {
			return err
		}
		var err error
		switch x := m[k].(type) {
		case time.Time:
			err = datetime(x).EncodeMsgpack(e)
		default:
			err = e.Encode(x)
		}
		if err != nil {
			return err
		}
	}
	return nil
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
