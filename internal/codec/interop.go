package codec

import (
	"bytes"
	"encoding"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Types that already know how to write themselves keep doing so: the
// msgpack v5 interfaces (CustomEncoder/CustomDecoder, Marshaler/Unmarshaler)
// are honoured, with a msgpack v5 Encoder or Decoder handed to them, and
// encoding.TextMarshaler/TextUnmarshaler map to msgpack str, as in
// encoding/json. Inside a msgpack v5 method the msgpack v5 defaults apply:
// a time.Time written there uses msgpack's own timestamp, not lymph's.

var (
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	customDecoderType   = reflect.TypeFor[msgpack.CustomDecoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	unmarshalerType     = reflect.TypeFor[msgpack.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// methodEncoder returns an encoder for a type that encodes itself, or nil.
// A method with a pointer receiver is used when the value is addressable,
// as encoding/json does; otherwise the value is encoded by its kind.
func methodEncoder(t reflect.Type, byKind func() encoderFunc) encoderFunc {
	for _, m := range []struct {
		iface reflect.Type
		enc   encoderFunc
	}{
		{customEncoderType, encodeCustom},
		{marshalerType, encodeMarshaler},
		{textMarshalerType, encodeTextMarshaler},
	} {
		if t.Implements(m.iface) {
			return nilSafe(t, m.enc)
		}
		if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(m.iface) {
			enc, fallback := m.enc, byKind()
			return func(e *encodeState, v reflect.Value) error {
				if v.CanAddr() {
					return enc(e, v.Addr())
				}
				return fallback(e, v)
			}
		}
	}
	return nil
}

// nilSafe writes nil for a nil pointer or interface instead of calling a
// method on it.
func nilSafe(t reflect.Type, enc encoderFunc) encoderFunc {
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		return enc
	}
	return func(e *encodeState, v reflect.Value) error {
		if v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		return enc(e, v)
	}
}

// appendWriter lets a msgpack v5 Encoder write straight into our buffer.
type appendWriter struct{ e *encodeState }

func (w appendWriter) Write(p []byte) (int, error) {
	w.e.buf = append(w.e.buf, p...)
	return len(p), nil
}

func (w appendWriter) WriteByte(c byte) error {
	w.e.buf = append(w.e.buf, c)
	return nil
}

func encodeCustom(e *encodeState, v reflect.Value) error {
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(appendWriter{e})
	enc.UseCompactInts(true) // the smallest integers, as Python writes them
	return v.Interface().(msgpack.CustomEncoder).EncodeMsgpack(enc)
}

func encodeMarshaler(e *encodeState, v reflect.Value) error {
	b, err := v.Interface().(msgpack.Marshaler).MarshalMsgpack()
	if err != nil {
		return err
	}
	e.buf = append(e.buf, b...)
	return nil
}

func encodeTextMarshaler(e *encodeState, v reflect.Value) error {
	b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
	if err != nil {
		return err
	}
	e.buf = appendStrBytes(e.buf, b)
	return nil
}

// methodDecoder returns a decoder for a type that decodes itself, or nil.
// Targets are always addressable, so pointer receivers are found through
// the pointer type.
func methodDecoder(t reflect.Type, byKind func() decoderFunc) decoderFunc {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return nil // decoded through their element
	}
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(customDecoderType):
		return decodeCustom
	case pt.Implements(unmarshalerType):
		return decodeUnmarshaler
	case pt.Implements(textUnmarshalerType):
		return textDecoder(t, byKind())
	}
	return nil
}

func decodeCustom(d *decodeState, v reflect.Value) error {
	raw, err := d.rawValue()
	if err != nil {
		return err
	}
	dec := msgpack.GetDecoder()
	defer msgpack.PutDecoder(dec)
	dec.Reset(bytes.NewReader(raw))
	return v.Addr().Interface().(msgpack.CustomDecoder).DecodeMsgpack(dec)
}

func decodeUnmarshaler(d *decodeState, v reflect.Value) error {
	raw, err := d.rawValue()
	if err != nil {
		return err
	}
	// A copy, because the method may keep the slice.
	return v.Addr().Interface().(msgpack.Unmarshaler).UnmarshalMsgpack(bytes.Clone(raw))
}

// textDecoder uses UnmarshalText for text on the wire (str, bin, or a lymph
// typed map holding text, such as a UUID), sets the zero value for nil, and
// decodes anything else by the type's kind.
func textDecoder(t reflect.Type, byKind decoderFunc) decoderFunc {
	return func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		var text []byte
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
			return nil
		case kindStr, kindBin:
			d.off++
			if text, err = d.readBytes(c); err != nil {
				return err
			}
		case kindMap:
			env, ok := d.peekEnvelope()
			if !ok || env.name == nameSet {
				return byKind(d, v)
			}
			s, err := d.envelopeText(env, t)
			if err != nil {
				return err
			}
			text = []byte(s)
		default:
			return byKind(d, v)
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(text); err != nil {
			return &TypeError{Value: "str", Type: t, Err: err}
		}
		return nil
	}
}
