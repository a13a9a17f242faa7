// Package codec is lymph's msgpack: the only package of the module that
// knows msgpack. It speaks the flavour Python lymph speaks:
//
//   - text is msgpack str and bytes are msgpack bin (Python's
//     use_bin_type=True); str decodes to string, bin to []byte;
//   - integers are written in their smallest form, as Python writes them;
//     decoded into `any` they keep their wire width (int8 ... int64, uint8
//     ... uint64): decode into typed values where the width matters;
//   - maps are written with their keys sorted, so equal values encode
//     equally; they decode into `any` as map[string]any when every key is
//     text, else map[any]any;
//   - structs travel as maps of their fields, named by their msgpack tags
//     or, untagged, by the snake_case of their Go names (see fields.go);
//   - lymph's extension values travel as {"__type__": NAME, "_": VALUE}:
//     time.Time (datetime), Date, TimeOfDay, Decimal, uuid.UUID and Set; and
//     msgpack extension 101 carries a nested msgpack document.
//
// The package walks Go values itself (encode.go, decode.go) and uses
// github.com/vmihailenco/msgpack/v5 only to honour types written for it
// (msgpack.CustomEncoder, Marshaler and their decoding halves). It
// registers nothing with vmihailenco/msgpack: other code in the same
// binary that uses it keeps msgpack's own encoding of time.Time,
// uuid.UUID and maps. The lymph package's public value types reach the
// codec through RegisterPublicTypes, lymph's own registry.
package codec

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// statePool keeps encoding states with their buffers: encoding is on
// every message's path.
var statePool = sync.Pool{New: func() any { return &encState{} }}

// maxPooledBuffer keeps one huge message from pinning its buffer in the
// pool forever.
const maxPooledBuffer = 64 << 10

// Marshal encodes v as lymph's msgpack.
func Marshal(v any) ([]byte, error) {
	e := statePool.Get().(*encState)
	e.buf, e.depth = e.buf[:0], 0
	if err := e.encode(v); err != nil {
		putState(e)
		return nil, fmt.Errorf("codec: %w", err)
	}
	if cap(e.buf) > maxPooledBuffer {
		// A big message keeps the buffer it was encoded into: copying it
		// out would copy every byte once more.
		out := e.buf
		e.buf = nil
		statePool.Put(e)
		return out, nil
	}
	out := append([]byte(nil), e.buf...)
	putState(e)
	return out, nil
}

// AppendMarshal appends v, encoded as lymph's msgpack, to dst. On error dst
// is returned unchanged. It encodes straight into dst: a large string or
// []byte is copied once, into the output. With room in dst it allocates
// nothing of its own for plain values.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := statePool.Get().(*encState)
	e.buf, e.depth = dst, 0
	err := e.encode(v)
	out := e.buf
	e.buf = nil
	statePool.Put(e)
	if err != nil {
		return dst, fmt.Errorf("codec: %w", err)
	}
	return out, nil
}

// putState returns e to the pool, unless its buffer has grown too big to
// keep.
func putState(e *encState) {
	if cap(e.buf) > maxPooledBuffer {
		e.buf = nil
	}
	statePool.Put(e)
}

// encode appends v to e.buf; a panic in a user's marshaler, or from
// reflection on a value it cannot read, becomes an error.
func (e *encState) encode(v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot encode %T: %v", v, r)
		}
	}()
	return e.appendValue(v)
}

// Unmarshal decodes msgpack data into v, a non-nil pointer. The whole of
// data must be one msgpack document. A value that does not fit its target
// is a *DecodeError that names the field.
func Unmarshal(data []byte, v any) (err error) {
	defer recoverDecode(&err)
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("codec: Unmarshal needs a non-nil pointer, got %T", v)
	}
	n, err := checkWellFormed(data)
	if err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	if n != len(data) {
		return fmt.Errorf("codec: %d bytes after the msgpack document", len(data)-n)
	}
	d := getDecState(data)
	defer putDecState(d)
	if p, ok := v.(*any); ok {
		x, err := d.any()
		if err != nil {
			return decodeErr(err)
		}
		*p = x
		return nil
	}
	return decodeErr(decoderFor(rv.Type().Elem())(d, rv.Elem()))
}

// decodeErr finishes a decoding error: a *DecodeError gets its path and
// stands alone (its text is what a caller is shown), others get the
// package's prefix.
func decodeErr(err error) error {
	if err == nil {
		return nil
	}
	if de, ok := err.(*DecodeError); ok {
		return finish(de)
	}
	return fmt.Errorf("codec: %w", err)
}

// recoverDecode turns a panic while decoding — in a user's unmarshaler,
// say — into an error: data from the network must never crash a process.
func recoverDecode(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("codec: cannot decode: %v", r)
	}
}

// The helpers below serve headers.go and request.go, which write and read
// headers with vmihailenco/msgpack's primitives (EncodeString,
// DecodeMapLen...): a pooled msgpack.Encoder writing to a buffer, and a
// pooled msgpack.Decoder. Values they encode go through this package's
// walker (encode).

// encoderPool keeps msgpack encoders with their buffers.
var encoderPool = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	e.enc.UseCompactInts(true)
	e.enc.SetSortMapKeys(true)
	return e
}}

type pooledEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// encode writes v, in lymph's form, to enc's writer.
func encode(enc *msgpack.Encoder, v any) error {
	e := statePool.Get().(*encState)
	e.buf, e.depth = e.buf[:0], 0
	err := e.encode(v)
	if err == nil {
		_, err = enc.Writer().Write(e.buf)
	}
	putState(e)
	return err
}

// decoderPool keeps decoders with the reader they read from.
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
	p.dec.SetMapDecoder(decodeMapShim) // Reset clears the decoder's options
	return p
}

func putDecoder(p *pooledDecoder) {
	p.r.Reset(nil)
	p.dec.Reset(nil)
	decoderPool.Put(p)
}

// decodeMapShim decodes a map met by msgpack's DecodeInterface as this
// package decodes it into `any`.
func decodeMapShim(md *msgpack.Decoder) (any, error) {
	raw, err := md.DecodeRaw()
	if err != nil {
		return nil, err
	}
	var v any
	if err := Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
