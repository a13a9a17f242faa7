package codec

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// The decoder, like the encoder, walks Go values itself with a cached
// function per type. It reads only documents checkWellFormed has passed,
// so lengths are bounded by the bytes that hold them and nesting by
// maxDepth. A value that does not fit its target is a *DecodeError naming
// where it sits and what was wanted and found.

type decState struct {
	r reader
}

// decPool keeps decoding states: a state handed to the cached decoding
// functions escapes, and decoding is on every message's path.
var decPool = sync.Pool{New: func() any { return new(decState) }}

func getDecState(data []byte) *decState {
	d := decPool.Get().(*decState)
	d.r = reader{data: data}
	return d
}

func putDecState(d *decState) {
	d.r = reader{}
	decPool.Put(d)
}

type decFunc func(d *decState, v reflect.Value) error

var decoders sync.Map // reflect.Type -> decFunc

// decoderFor returns t's decoder, building it on first use, as
// encoderFor does.
func decoderFor(t reflect.Type) decFunc {
	if f, ok := decoders.Load(t); ok {
		return f.(decFunc)
	}
	var (
		wg sync.WaitGroup
		f  decFunc
	)
	wg.Add(1)
	fi, loaded := decoders.LoadOrStore(t, decFunc(func(d *decState, v reflect.Value) error {
		wg.Wait()
		return f(d, v)
	}))
	if loaded {
		return fi.(decFunc)
	}
	f = newDecoder(t)
	wg.Done()
	decoders.Store(t, f)
	return f
}

// nilNext reports whether the next value is nil, and if so moves past it.
func (d *decState) nilNext() bool {
	if c, err := d.r.peek(); err == nil && c == codeNil {
		d.r.off++
		return true
	}
	return false
}

func newDecoder(t reflect.Type) decFunc {
	if k := lymphKindOf(t); k != lkNone {
		return lymphDecoder(k, t)
	}
	if t.Kind() == reflect.Pointer {
		return ptrDecoder(t)
	}
	if f := unmarshalerDecoder(t); f != nil {
		return f
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(d *decState, v reflect.Value) error {
			c, err := d.r.byte()
			if err != nil {
				return err
			}
			switch c {
			case codeNil, codeFalse:
				v.SetBool(false)
			case codeTrue:
				v.SetBool(true)
			default:
				return mismatch("a boolean", c)
			}
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(d *decState, v reflect.Value) error {
			n, err := d.int(bits)
			if err == nil {
				v.SetInt(n)
			}
			return err
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := t.Bits()
		return func(d *decState, v reflect.Value) error {
			n, err := d.uint(bits)
			if err == nil {
				v.SetUint(n)
			}
			return err
		}
	case reflect.Float32, reflect.Float64:
		return func(d *decState, v reflect.Value) error {
			f, err := d.float()
			if err == nil {
				v.SetFloat(f)
			}
			return err
		}
	case reflect.String:
		return func(d *decState, v reflect.Value) error {
			b, err := d.text("a string")
			if err == nil {
				v.SetString(string(b))
			}
			return err
		}
	case reflect.Interface:
		return interfaceDecoder(t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(d *decState, v reflect.Value) error {
				if d.nilNext() {
					v.SetZero()
					return nil
				}
				b, err := d.text("bytes")
				if err == nil {
					v.SetBytes(copyBytes(b))
				}
				return err
			}
		}
		return sliceDecoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(d *decState, v reflect.Value) error {
				if d.nilNext() {
					return nil
				}
				b, err := d.text("bytes")
				if err != nil {
					return err
				}
				if len(b) > v.Len() {
					return invalid(fmt.Errorf("%d bytes do not fit a %s", len(b), v.Type()))
				}
				reflect.Copy(v, reflect.ValueOf(b))
				return nil
			}
		}
		return arrayDecoder(t)
	case reflect.Map:
		return mapDecoder(t)
	case reflect.Struct:
		return structDecoder(t)
	}
	return func(d *decState, v reflect.Value) error {
		return invalid(fmt.Errorf("cannot decode into a %s", t))
	}
}

// int reads an integer that must fit bits bits. nil reads as 0, as
// vmihailenco/msgpack reads it.
func (d *decState) int(bits int) (int64, error) {
	c, err := d.r.byte()
	if err != nil {
		return 0, err
	}
	if c == codeNil {
		return 0, nil
	}
	i, u, unsigned, err := d.r.integer(c)
	if err == errNotInteger {
		return 0, mismatch("an integer", c)
	}
	if err != nil {
		return 0, err
	}
	if unsigned {
		if u > math.MaxInt64 {
			return 0, invalid(fmt.Errorf("%d does not fit a %d-bit integer", u, bits))
		}
		i = int64(u)
	}
	if bits < 64 && (i < -1<<(bits-1) || i >= 1<<(bits-1)) {
		return 0, invalid(fmt.Errorf("%d does not fit a %d-bit integer", i, bits))
	}
	return i, nil
}

func (d *decState) uint(bits int) (uint64, error) {
	c, err := d.r.byte()
	if err != nil {
		return 0, err
	}
	if c == codeNil {
		return 0, nil
	}
	i, u, unsigned, err := d.r.integer(c)
	if err == errNotInteger {
		return 0, mismatch("an integer", c)
	}
	if err != nil {
		return 0, err
	}
	if !unsigned {
		if i < 0 {
			return 0, invalid(fmt.Errorf("%d does not fit an unsigned integer", i))
		}
		u = uint64(i)
	}
	if bits < 64 && u >= 1<<bits {
		return 0, invalid(fmt.Errorf("%d does not fit a %d-bit unsigned integer", u, bits))
	}
	return u, nil
}

// float reads a float or an integer; nil reads as 0.
func (d *decState) float() (float64, error) {
	c, err := d.r.byte()
	if err != nil {
		return 0, err
	}
	if c == codeNil {
		return 0, nil
	}
	if c == codeFloat || c == codeDouble {
		return d.r.float(c)
	}
	i, u, unsigned, err := d.r.integer(c)
	if err == errNotInteger {
		return 0, mismatch("a number", c)
	}
	if unsigned {
		return float64(u), err
	}
	return float64(i), err
}

// text reads a str or a bin (Python 2 peers sent text as bin); nil reads
// as empty. The bytes alias the document.
func (d *decState) text(want string) ([]byte, error) {
	c, err := d.r.byte()
	if err != nil {
		return nil, err
	}
	if c == codeNil {
		return nil, nil
	}
	n, ok, err := d.r.bytesLen(c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, mismatch(want, c)
	}
	return d.r.next(n)
}

// containerLen reads an array's length (or a map's, as map says); -1 for
// nil.
func (d *decState) containerLen(want string, isMap bool) (int, error) {
	c, err := d.r.byte()
	if err != nil {
		return 0, err
	}
	if c == codeNil {
		return -1, nil
	}
	if k := kindOf(c); (isMap && k != kindMap) || (!isMap && k != kindArray) {
		return 0, mismatch(want, c)
	}
	return d.r.containerLen(c)
}

func ptrDecoder(t reflect.Type) decFunc {
	elem := decoderFor(t.Elem())
	return func(d *decState, v reflect.Value) error {
		if d.nilNext() {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return elem(d, v.Elem())
	}
}

func interfaceDecoder(t reflect.Type) decFunc {
	return func(d *decState, v reflect.Value) error {
		if !v.IsNil() && v.Elem().Kind() == reflect.Pointer && !v.Elem().IsNil() {
			// A pointer given in the interface is decoded into, as
			// vmihailenco/msgpack does.
			if !d.nilNext() {
				e := v.Elem()
				return decoderFor(e.Type())(d, e)
			}
			v.SetZero()
			return nil
		}
		x, err := d.any()
		if err != nil {
			return err
		}
		if x == nil {
			v.SetZero()
			return nil
		}
		if t == errorType {
			if s, ok := x.(string); ok {
				v.Set(reflect.ValueOf(errors.New(s)))
				return nil
			}
		}
		xv := reflect.ValueOf(x)
		if !xv.Type().AssignableTo(t) {
			return &DecodeError{Want: "a value implementing " + t.String(), Got: fmt.Sprintf("%T", x)}
		}
		v.Set(xv)
		return nil
	}
}

// sliceDecoder decodes an array, or a lymph set, into a slice. The
// declared length is the sender's claim: the slice grows as values arrive
// beyond what a modest allocation holds.
func sliceDecoder(t reflect.Type) decFunc {
	elem := decoderFor(t.Elem())
	return func(d *decState, v reflect.Value) error {
		n, end, err := d.arrayOrSet()
		if err != nil || n < 0 {
			if err == nil {
				v.SetZero()
			}
			return err
		}
		if end >= 0 {
			defer func() { d.r.off = end }()
		}
		if v.Cap() < n {
			v.Set(reflect.MakeSlice(t, min(n, 1<<12), min(n, 1<<12)))
		}
		v.SetLen(min(n, v.Cap()))
		for i := range n {
			if i == v.Len() {
				grown := reflect.MakeSlice(t, min(n, 2*v.Len()), min(n, 2*v.Len()))
				reflect.Copy(grown, v)
				v.Set(grown)
			}
			if err := elem(d, v.Index(i)); err != nil {
				return within(err, indexSeg(i))
			}
		}
		return nil
	}
}

// arrayOrSet reads an array's length, or a lymph set's up to its array's
// length; -1 for nil. For a set, end is the offset after the whole set,
// where the caller continues once it has read the array; else -1.
func (d *decState) arrayOrSet() (n, end int, err error) {
	c, err := d.r.peek()
	if err != nil {
		return 0, -1, err
	}
	end = -1
	if kindOf(c) == kindMap {
		name, valueOff, err := d.envelope("an array")
		if err != nil {
			return 0, -1, err
		}
		if name != nameSet {
			return 0, -1, &DecodeError{Want: "an array or a lymph set", Got: "a lymph " + name}
		}
		end, d.r.off = d.r.off, valueOff
	}
	n, err = d.containerLen("an array", false)
	return n, end, err
}

// envelope reads lymph's {"__type__": NAME, "_": VALUE}, in either key
// order, and returns NAME and the offset of VALUE; the reader is left
// after the map. want says what the target wanted, for the error when the
// map is something else.
func (d *decState) envelope(want string) (name string, valueOff int, err error) {
	c, err := d.r.byte()
	if err != nil {
		return "", 0, err
	}
	if kindOf(c) != kindMap {
		return "", 0, mismatch(want, c)
	}
	n, err := d.r.containerLen(c)
	if err != nil {
		return "", 0, err
	}
	if n != 2 {
		return "", 0, &DecodeError{Want: want, Got: fmt.Sprintf("a map of %d entries", n)}
	}
	valueOff = -1
	haveName := false
	for range 2 {
		key, err := d.text("a string key")
		if err != nil {
			return "", 0, err
		}
		switch string(key) {
		case typeKey:
			b, err := d.text("a lymph type name")
			if err != nil {
				return "", 0, err
			}
			name, haveName = string(b), true
		case valueKey:
			valueOff = d.r.off
			if err := d.r.skip(); err != nil {
				return "", 0, err
			}
		default:
			return "", 0, &DecodeError{Want: want, Got: fmt.Sprintf("a map with the key %q", key)}
		}
	}
	if !haveName || valueOff < 0 {
		return "", 0, &DecodeError{Want: want, Got: "a map"}
	}
	return name, valueOff, nil
}

func arrayDecoder(t reflect.Type) decFunc {
	elem := decoderFor(t.Elem())
	return func(d *decState, v reflect.Value) error {
		n, end, err := d.arrayOrSet()
		if err != nil || n < 0 {
			return err
		}
		if end >= 0 {
			defer func() { d.r.off = end }()
		}
		if n > v.Len() {
			return invalid(fmt.Errorf("%d values do not fit a %s", n, t))
		}
		for i := range n {
			if err := elem(d, v.Index(i)); err != nil {
				return within(err, indexSeg(i))
			}
		}
		return nil
	}
}

func mapDecoder(t reflect.Type) decFunc {
	// The two maps lymph's headers and most keyword arguments are, without
	// reflection per entry.
	switch t {
	case reflect.TypeFor[map[string]any]():
		return stringMapDecoder((*decState).any)
	case reflect.TypeFor[map[string]string]():
		return stringMapDecoder(func(d *decState) (string, error) {
			x, err := d.text("a string")
			return string(x), err
		})
	}
	keyDec, valDec := decoderFor(t.Key()), decoderFor(t.Elem())
	return func(d *decState, v reflect.Value) error {
		n, ok, err := d.mapLen(v)
		if !ok {
			return err
		}
		if v.IsNil() {
			// The declared length is a hint, not an allocation to make on
			// the sender's word.
			v.Set(reflect.MakeMapWithSize(t, min(n, 16)))
		}
		key := reflect.New(t.Key()).Elem()
		val := reflect.New(t.Elem()).Elem()
		for range n {
			key.SetZero()
			if err := keyDec(d, key); err != nil {
				return err
			}
			if k := key; k.Kind() == reflect.Interface && !k.IsNil() && !k.Elem().Comparable() {
				return invalid(fmt.Errorf("map key of type %s cannot be a Go map key", k.Elem().Type()))
			}
			val.SetZero()
			if err := valDec(d, val); err != nil {
				return within(err, keySeg(key))
			}
			v.SetMapIndex(key, val)
		}
		return nil
	}
}

// mapLen reads the length of a map into v. ok is false when there is no
// map to read: an error, or nil, in which case v is zeroed (Python's None
// is Go's nil map).
func (d *decState) mapLen(v reflect.Value) (n int, ok bool, err error) {
	n, err = d.containerLen("a map", true)
	if err != nil {
		return 0, false, err
	}
	if n < 0 {
		v.SetZero()
		return 0, false, nil
	}
	return n, true, nil
}

// stringMapDecoder decodes a map[string]V whose values value reads.
func stringMapDecoder[V any](value func(*decState) (V, error)) decFunc {
	return func(d *decState, v reflect.Value) error {
		n, ok, err := d.mapLen(v)
		if !ok {
			return err
		}
		m := v.Interface().(map[string]V)
		if m == nil {
			m = make(map[string]V, min(n, 16))
			v.Set(reflect.ValueOf(m))
		}
		for range n {
			k, err := d.text("a string key")
			if err != nil {
				return err
			}
			x, err := value(d)
			if err != nil {
				return within(err, string(k))
			}
			m[string(k)] = x
		}
		return nil
	}
}

func structDecoder(t reflect.Type) decFunc {
	s := structInfoOf(t)
	decs := make([]decFunc, len(s.fields))
	for i, f := range s.fields {
		decs[i] = decoderFor(f.typ)
	}
	return func(d *decState, v reflect.Value) error {
		c, err := d.r.peek()
		if err != nil {
			return err
		}
		if kindOf(c) == kindArray {
			// Fields in order, as vmihailenco/msgpack reads an array.
			d.r.off++
			n, err := d.r.containerLen(c)
			if err != nil {
				return err
			}
			if n != len(s.fields) {
				return invalid(fmt.Errorf("an array of %d values for %d fields", n, len(s.fields)))
			}
			for i := range s.fields {
				fv, err := fieldAlloc(v, s.fields[i].index)
				if err == nil {
					err = decs[i](d, fv)
				}
				if err != nil {
					return within(err, s.fields[i].name)
				}
			}
			return nil
		}
		n, ok, err := d.mapLen(v)
		if !ok {
			return err
		}
		for range n {
			key, err := d.text("a string key")
			if err != nil {
				return err
			}
			i, ok := s.byName[string(key)]
			if !ok { // unknown keys are skipped
				if err := d.r.skip(); err != nil {
					return err
				}
				continue
			}
			fv, err := fieldAlloc(v, s.fields[i].index)
			if err == nil {
				err = decs[i](d, fv)
			}
			if err != nil {
				return within(err, s.fields[i].name)
			}
		}
		return nil
	}
}

// fieldAlloc returns the field at index, allocating nil embedded pointers
// on the way.
func fieldAlloc(v reflect.Value, index []int) (reflect.Value, error) {
	if len(index) == 1 {
		return v.Field(index[0]), nil
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return v, invalid(fmt.Errorf("cannot set the embedded pointer to unexported %s", v.Type().Elem()))
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}

// unmarshalerDecoder returns the decoder of a type that decodes itself,
// in vmihailenco/msgpack's order of preference, or nil. nil decodes to the
// zero value without calling the method. A msgpack.CustomDecoder reads
// its value through a *msgpack.Decoder of its own: what it decodes there
// is msgpack's form, not lymph's.
func unmarshalerDecoder(t reflect.Type) decFunc {
	implements := func(it reflect.Type) bool {
		return t.Implements(it) || reflect.PointerTo(t).Implements(it)
	}
	var f func(d *decState, target any) error
	switch {
	case implements(customDecoderType):
		f = func(d *decState, target any) error {
			raw, err := d.rawValue()
			if err != nil {
				return err
			}
			dec := msgpack.NewDecoder(bytes.NewReader(raw))
			return target.(msgpack.CustomDecoder).DecodeMsgpack(dec)
		}
	case implements(unmarshalerType):
		f = func(d *decState, target any) error {
			raw, err := d.rawValue()
			if err != nil {
				return err
			}
			return target.(msgpack.Unmarshaler).UnmarshalMsgpack(raw)
		}
	case implements(binaryUnmarshalType):
		f = func(d *decState, target any) error {
			b, err := d.text("bytes")
			if err != nil {
				return err
			}
			return target.(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
		}
	case implements(textUnmarshalerType):
		f = func(d *decState, target any) error {
			b, err := d.text("a string")
			if err != nil {
				return err
			}
			return target.(encoding.TextUnmarshaler).UnmarshalText(b)
		}
	default:
		return nil
	}
	return func(d *decState, v reflect.Value) error {
		if d.nilNext() {
			v.SetZero()
			return nil
		}
		var target any
		switch {
		case t.Kind() == reflect.Pointer:
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			target = v.Interface()
		case v.CanAddr():
			target = v.Addr().Interface()
		default:
			return invalid(fmt.Errorf("cannot decode into an unaddressable %s", t))
		}
		if err := f(d, target); err != nil {
			return invalid(err)
		}
		return nil
	}
}

// rawValue returns the next value's bytes, copied, and moves past it.
func (d *decState) rawValue() ([]byte, error) {
	start := d.r.off
	if err := d.r.skip(); err != nil {
		return nil, err
	}
	return append([]byte(nil), d.r.data[start:d.r.off]...), nil
}
