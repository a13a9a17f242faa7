package codec

import (
	"bytes"
	"cmp"
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The encoder walks Go values itself, with one function per type built
// once and cached, as encoding/json does: vmihailenco/msgpack has no
// per-encoder type hooks, and registering lymph's forms with it would
// change how every other user of it in the binary encodes time.Time,
// uuid.UUID and maps.

// encState is one encoding: the output it appends to.
type encState struct {
	buf   []byte
	depth int
	// big: buf may move into a pooled big buffer (bigbuf.go); own is then
	// the state's buffer, kept aside.
	big bool
	own []byte
}

// maxEncodeDepth bounds how deeply values may nest when encoding: a
// pointer cycle must be an error, not a stack overflow.
const maxEncodeDepth = 1000

var errTooDeep = fmt.Errorf("cannot encode: nested deeper than %d levels (a cycle?)", maxEncodeDepth)

type encFunc func(e *encState, v reflect.Value) error

var encoders sync.Map // reflect.Type -> encFunc

// encoderFor returns t's encoder, building it on first use. A recursive
// type finds a stand-in for itself in the cache while it is being built.
func encoderFor(t reflect.Type) encFunc {
	if f, ok := encoders.Load(t); ok {
		return f.(encFunc)
	}
	var (
		wg sync.WaitGroup
		f  encFunc
	)
	wg.Add(1)
	fi, loaded := encoders.LoadOrStore(t, encFunc(func(e *encState, v reflect.Value) error {
		wg.Wait()
		return f(e, v)
	}))
	if loaded {
		return fi.(encFunc)
	}
	f = newEncoder(t)
	wg.Done()
	encoders.Store(t, f)
	return f
}

// appendValue appends v, encoded, to e.buf. Common types in interfaces
// skip reflection.
func (e *encState) appendValue(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = appendNil(e.buf)
	case string:
		e.room(len(x) + 5)
		e.buf = appendStr(e.buf, x)
	case bool:
		e.buf = appendBool(e.buf, x)
	case int:
		e.buf = appendInt(e.buf, int64(x))
	case int64:
		e.buf = appendInt(e.buf, x)
	case int32:
		e.buf = appendInt(e.buf, int64(x))
	case int8:
		e.buf = appendInt(e.buf, int64(x))
	case uint64:
		e.buf = appendUint(e.buf, x)
	case float64:
		e.buf = appendFloat64(e.buf, x)
	case []byte:
		e.room(len(x) + 5)
		e.buf = appendBin(e.buf, x)
	case map[string]any:
		return e.appendStringMap(x)
	case []any:
		return e.appendList(x)
	case time.Time:
		return e.appendTime(x)
	default:
		rv := reflect.ValueOf(v)
		return encoderFor(rv.Type())(e, rv)
	}
	return nil
}

func (e *encState) appendList(s []any) error {
	if s == nil {
		e.buf = appendNil(e.buf)
		return nil
	}
	if e.depth++; e.depth > maxEncodeDepth {
		return errTooDeep
	}
	e.buf = appendArrayLen(e.buf, len(s))
	for _, x := range s {
		if err := e.appendValue(x); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

// appendStringMap writes a map[string]any, keys sorted: equal values
// encode equally, so goldens and caches can compare them.
func (e *encState) appendStringMap(m map[string]any) error {
	if m == nil {
		e.buf = appendNil(e.buf)
		return nil
	}
	if e.depth++; e.depth > maxEncodeDepth {
		return errTooDeep
	}
	e.buf = appendMapLen(e.buf, len(m))
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.buf = appendStr(e.buf, k)
		if err := e.appendValue(m[k]); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

var (
	errorType           = reflect.TypeFor[error]()
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	customDecoderType   = reflect.TypeFor[msgpack.CustomDecoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	unmarshalerType     = reflect.TypeFor[msgpack.Unmarshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshalType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// hasMarshaler reports whether t (or *t) brings its own encoding.
func hasMarshaler(t reflect.Type) bool {
	for _, it := range [...]reflect.Type{customEncoderType, marshalerType, binaryMarshalerType, textMarshalerType} {
		if t.Implements(it) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)) {
			return true
		}
	}
	return false
}

func newEncoder(t reflect.Type) encFunc {
	if k := lymphKindOf(t); k != lkNone {
		return lymphEncoder(k)
	}
	if t.Kind() == reflect.Pointer {
		return ptrEncoder(t)
	}
	if f := marshalerEncoder(t); f != nil {
		return f
	}
	if t == errorType {
		// As vmihailenco/msgpack does: an error travels as its text.
		return func(e *encState, v reflect.Value) error {
			if v.IsNil() {
				e.buf = appendNil(e.buf)
				return nil
			}
			e.buf = appendStr(e.buf, v.Interface().(error).Error())
			return nil
		}
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(e *encState, v reflect.Value) error {
			e.buf = appendBool(e.buf, v.Bool())
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encState, v reflect.Value) error {
			e.buf = appendInt(e.buf, v.Int())
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encState, v reflect.Value) error {
			e.buf = appendUint(e.buf, v.Uint())
			return nil
		}
	case reflect.Float32:
		return func(e *encState, v reflect.Value) error {
			e.buf = appendFloat32(e.buf, float32(v.Float()))
			return nil
		}
	case reflect.Float64:
		return func(e *encState, v reflect.Value) error {
			e.buf = appendFloat64(e.buf, v.Float())
			return nil
		}
	case reflect.String:
		return func(e *encState, v reflect.Value) error {
			s := v.String()
			e.room(len(s) + 5)
			e.buf = appendStr(e.buf, s)
			return nil
		}
	case reflect.Interface:
		return func(e *encState, v reflect.Value) error {
			if v.IsNil() {
				e.buf = appendNil(e.buf)
				return nil
			}
			if e.depth++; e.depth > maxEncodeDepth {
				return errTooDeep
			}
			var err error
			if elem := v.Elem(); elem.CanInterface() {
				err = e.appendValue(elem.Interface())
			} else { // reached through an unexported embedded struct
				err = encoderFor(elem.Type())(e, elem)
			}
			e.depth--
			return err
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(e *encState, v reflect.Value) error {
				b := v.Bytes()
				e.room(len(b) + 5)
				e.buf = appendBin(e.buf, b)
				return nil
			}
		}
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value) error {
			if v.IsNil() {
				e.buf = appendNil(e.buf)
				return nil
			}
			return e.appendArray(v, elem)
		}
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return byteArrayEncoder
		}
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value) error { return e.appendArray(v, elem) }
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Struct:
		return structEncoder(t)
	}
	return func(e *encState, v reflect.Value) error {
		return &ValueError{Type: t, Msg: "msgpack has no form for a " + t.Kind().String()}
	}
}

func ptrEncoder(t reflect.Type) encFunc {
	elem := encoderFor(t.Elem())
	return func(e *encState, v reflect.Value) error {
		if v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		if e.depth++; e.depth > maxEncodeDepth {
			return errTooDeep
		}
		err := elem(e, v.Elem())
		e.depth--
		return err
	}
}

func (e *encState) appendArray(v reflect.Value, elem encFunc) error {
	if e.depth++; e.depth > maxEncodeDepth {
		return errTooDeep
	}
	n := v.Len()
	e.buf = appendArrayLen(e.buf, n)
	for i := range n {
		if err := elem(e, v.Index(i)); err != nil {
			return within(err, indexSeg(i))
		}
	}
	e.depth--
	return nil
}

// byteArrayEncoder writes a [N]byte as bin, as msgpack does.
func byteArrayEncoder(e *encState, v reflect.Value) error {
	n := v.Len()
	e.buf = appendBinHeader(e.buf, n)
	if v.CanAddr() {
		e.buf = append(e.buf, v.Bytes()...)
		return nil
	}
	for i := range n {
		e.buf = append(e.buf, byte(v.Index(i).Uint()))
	}
	return nil
}

// marshalerEncoder returns the encoder of a type that brings its own
// encoding, in vmihailenco/msgpack's order of preference, or nil.
// msgpack.CustomEncoder and msgpack.Marshaler are honoured so that types
// written for vmihailenco/msgpack keep their form; note that what a
// CustomEncoder writes through its *msgpack.Encoder is msgpack's own form,
// not lymph's (a time.Time in it becomes msgpack's timestamp, which lymph
// does not read). encoding.BinaryMarshaler and encoding.TextMarshaler
// travel as bin, as vmihailenco/msgpack sends them.
func marshalerEncoder(t reflect.Type) encFunc {
	var f encFunc
	switch {
	case t.Implements(customEncoderType) || reflect.PointerTo(t).Implements(customEncoderType):
		f = func(e *encState, v reflect.Value) error {
			w := bufferWriter{b: &e.buf}
			enc := msgpack.NewEncoder(&w)
			enc.UseCompactInts(true)
			enc.SetSortMapKeys(true)
			return callMethod(v, customEncoderType).(msgpack.CustomEncoder).EncodeMsgpack(enc)
		}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		f = func(e *encState, v reflect.Value) error {
			b, err := callMethod(v, marshalerType).(msgpack.Marshaler).MarshalMsgpack()
			if err != nil {
				return err
			}
			if n, err := checkWellFormed(b); err != nil || n != len(b) {
				return &ValueError{Type: t, Msg: "MarshalMsgpack returned no single msgpack document"}
			}
			e.buf = append(e.buf, b...)
			return nil
		}
	case t.Implements(binaryMarshalerType) || reflect.PointerTo(t).Implements(binaryMarshalerType):
		f = func(e *encState, v reflect.Value) error {
			b, err := callMethod(v, binaryMarshalerType).(encoding.BinaryMarshaler).MarshalBinary()
			if err != nil {
				return err
			}
			e.buf = appendBin(e.buf, b)
			return nil
		}
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		f = func(e *encState, v reflect.Value) error {
			b, err := callMethod(v, textMarshalerType).(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return err
			}
			e.buf = appendBin(e.buf, b)
			return nil
		}
	default:
		return nil
	}
	if nilable(t.Kind()) {
		inner := f
		f = func(e *encState, v reflect.Value) error {
			if v.IsNil() {
				e.buf = appendNil(e.buf)
				return nil
			}
			return inner(e, v)
		}
	}
	return f
}

// callMethod returns v as the interface it implements, through a pointer
// when the methods have pointer receivers; a value that is not addressable
// is copied to one that is.
func callMethod(v reflect.Value, iface reflect.Type) any {
	if v.Type().Implements(iface) {
		return v.Interface()
	}
	if !v.CanAddr() {
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return p.Interface()
	}
	return v.Addr().Interface()
}

func nilable(k reflect.Kind) bool {
	switch k {
	case reflect.Chan, reflect.Func, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice:
		return true
	}
	return false
}

// bufferWriter is an io.Writer appending to an encoding's output, for
// CustomEncoder types.
type bufferWriter struct{ b *[]byte }

func (w *bufferWriter) Write(p []byte) (int, error) {
	*w.b = append(*w.b, p...)
	return len(p), nil
}

func (w *bufferWriter) WriteByte(c byte) error {
	*w.b = append(*w.b, c)
	return nil
}

func (w *bufferWriter) WriteString(s string) (int, error) {
	*w.b = append(*w.b, s...)
	return len(s), nil
}

func structEncoder(t reflect.Type) encFunc {
	s := structInfoOf(t)
	encs := make([]encFunc, len(s.fields))
	empties := make([]func(reflect.Value) bool, len(s.fields))
	for i, f := range s.fields {
		encs[i] = encoderFor(f.typ)
		if f.omitEmpty {
			empties[i] = emptyFunc(f.typ)
		}
	}
	return func(e *encState, v reflect.Value) error {
		if e.depth++; e.depth > maxEncodeDepth {
			return errTooDeep
		}
		n := len(s.fields)
		if s.hasOmitEmpty {
			n = 0
			for i := range s.fields {
				if fv, ok := fieldOf(v, s.fields[i].index); !s.fields[i].omitEmpty || (ok && !empties[i](fv)) {
					n++
				}
			}
		}
		e.buf = appendMapLen(e.buf, n)
		for i := range s.fields {
			f := &s.fields[i]
			fv, ok := fieldOf(v, f.index)
			if f.omitEmpty && (!ok || empties[i](fv)) {
				continue
			}
			e.buf = append(e.buf, f.key...)
			if !ok { // behind a nil embedded pointer
				e.buf = appendNil(e.buf)
				continue
			}
			if err := encs[i](e, fv); err != nil {
				return within(err, f.name)
			}
		}
		e.depth--
		return nil
	}
}

// fieldOf returns the field at index, or false when a nil embedded
// pointer is in the way.
func fieldOf(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 {
		return v.Field(index[0]), true
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// emptyFunc says what omitempty leaves out, as vmihailenco/msgpack does: a
// value whose IsZero method says so (a zero time.Time or Date), else an
// empty string, slice, map or array, false, zero, a nil pointer or
// interface, and a struct all of whose fields omitempty leaves out.
func emptyFunc(t reflect.Type) func(reflect.Value) bool {
	if t.Implements(isZeroerType) {
		return func(v reflect.Value) bool {
			if nilable(v.Kind()) && v.IsNil() {
				return true
			}
			return v.Interface().(isZeroer).IsZero()
		}
	}
	switch t.Kind() {
	case reflect.Interface:
		return func(v reflect.Value) bool {
			if v.IsNil() {
				return true
			}
			elem := v.Elem()
			return emptyFunc(elem.Type())(elem)
		}
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return func(v reflect.Value) bool { return v.Len() == 0 }
	case reflect.Bool:
		return func(v reflect.Value) bool { return !v.Bool() }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) bool { return v.Int() == 0 }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(v reflect.Value) bool { return v.Uint() == 0 }
	case reflect.Float32, reflect.Float64:
		return func(v reflect.Value) bool { return v.Float() == 0 }
	case reflect.Pointer:
		return func(v reflect.Value) bool { return v.IsNil() }
	case reflect.Struct:
		if !plainStruct(t) {
			return func(reflect.Value) bool { return false }
		}
		return func(v reflect.Value) bool {
			s := structInfoOf(t)
			for i := range s.fields {
				f := &s.fields[i]
				fv, ok := fieldOf(v, f.index)
				if !f.omitEmpty || (ok && !emptyFunc(f.typ)(fv)) {
					return false
				}
			}
			return true
		}
	}
	return func(reflect.Value) bool { return false }
}

// mapEncoder writes a map with its keys in order, whatever their type:
// text, numbers and booleans by value, other keys by their encoded bytes.
func mapEncoder(t reflect.Type) encFunc {
	keyEnc, valEnc := encoderFor(t.Key()), encoderFor(t.Elem())
	var less func(a, b reflect.Value) int
	switch t.Key().Kind() {
	case reflect.String:
		less = func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		less = func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		less = func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) }
	case reflect.Float32, reflect.Float64:
		less = func(a, b reflect.Value) int { return cmp.Compare(a.Float(), b.Float()) }
	case reflect.Bool:
		less = func(a, b reflect.Value) int {
			return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
		}
	}
	stringAny := t == reflect.TypeFor[map[string]any]()
	stringString := t == reflect.TypeFor[map[string]string]()
	return func(e *encState, v reflect.Value) error {
		if stringAny && v.CanInterface() {
			return e.appendStringMap(v.Interface().(map[string]any))
		}
		if stringString && v.CanInterface() {
			e.appendStringStringMap(v.Interface().(map[string]string))
			return nil
		}
		if v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		if e.depth++; e.depth > maxEncodeDepth {
			return errTooDeep
		}
		e.buf = appendMapLen(e.buf, v.Len())
		keys := v.MapKeys()
		if less != nil {
			slices.SortFunc(keys, less)
			for _, k := range keys {
				if err := keyEnc(e, k); err != nil {
					return err
				}
				if err := valEnc(e, v.MapIndex(k)); err != nil {
					return within(err, keySeg(k))
				}
			}
		} else if err := e.appendKeysByBytes(v, keys, keyEnc, valEnc); err != nil {
			return err
		}
		e.depth--
		return nil
	}
}

// appendStringStringMap writes a map[string]string, keys sorted.
func (e *encState) appendStringStringMap(m map[string]string) {
	if m == nil {
		e.buf = appendNil(e.buf)
		return
	}
	e.buf = appendMapLen(e.buf, len(m))
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e.buf = appendStr(appendStr(e.buf, k), m[k])
	}
}

// appendKeysByBytes writes a map's entries ordered by their encoded keys.
func (e *encState) appendKeysByBytes(v reflect.Value, keys []reflect.Value, keyEnc, valEnc encFunc) error {
	type entry struct {
		key []byte
		k   reflect.Value
	}
	entries := make([]entry, len(keys))
	for i, k := range keys {
		sub := encState{depth: e.depth}
		if err := keyEnc(&sub, k); err != nil {
			return err
		}
		entries[i] = entry{sub.buf, k}
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	for _, en := range entries {
		e.buf = append(e.buf, en.key...)
		if err := valEnc(e, v.MapIndex(en.k)); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// keySeg names a map entry in an error's path.
func keySeg(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	return fmt.Sprintf("[%v]", k.Interface())
}

func indexSeg(i int) string { return fmt.Sprintf("[%d]", i) }
