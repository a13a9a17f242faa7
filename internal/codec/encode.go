package codec

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// maxDepth bounds nesting, when encoding (a pointer cycle would otherwise
// recurse until the stack overflows) and when decoding (hostile input).
const maxDepth = 1000

// Marshal encodes v as lymph's msgpack. See the package documentation for
// how Go values map to msgpack.
func Marshal(v any) ([]byte, error) {
	e := getEncodeState()
	defer putEncodeState(e)
	if err := e.encodeAny(v); err != nil {
		return nil, err
	}
	return slices.Clone(e.buf), nil
}

// AppendMarshal appends the encoding of v to dst and returns the extended
// slice; on error dst is returned unchanged in length. With a dst of enough
// capacity it does not allocate for the common types.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := getEncodeState()
	defer putEncodeState(e)
	n := len(dst)
	own := e.buf
	e.buf = dst
	err := e.encodeAny(v)
	out := e.buf
	e.buf = own // out belongs to the caller: the pool must not keep it
	if err != nil {
		return out[:n], err
	}
	return out, nil
}

// encodeState is the scratch of one Marshal call, pooled.
type encodeState struct {
	buf   []byte
	depth int
	keys  []string // scratch for sorting map keys; used as a stack
	order []int    // scratch for sorting reflected maps; used as a stack
}

var encodePool = sync.Pool{New: func() any { return new(encodeState) }}

func getEncodeState() *encodeState {
	e := encodePool.Get().(*encodeState)
	e.buf = e.buf[:0]
	e.depth = 0
	return e
}

func putEncodeState(e *encodeState) {
	if cap(e.buf) > 64<<10 {
		e.buf = nil // don't let one huge message pin memory in the pool
	}
	clear(e.keys[:cap(e.keys)])
	e.keys = e.keys[:0]
	e.order = e.order[:0]
	encodePool.Put(e)
}

func (e *encodeState) enter() error {
	e.depth++
	if e.depth > maxDepth {
		return &ValueError{Msg: "nesting deeper than 1000 levels (a pointer cycle?)"}
	}
	return nil
}

// encodeAny handles the types that most messages consist of without
// reflection, and hands the rest to the reflective encoders.
func (e *encodeState) encodeAny(v any) error {
	switch v := v.(type) {
	case nil:
		e.buf = appendNil(e.buf)
	case string:
		e.buf = appendStr(e.buf, v)
	case bool:
		e.buf = appendBool(e.buf, v)
	case int:
		e.buf = appendInt(e.buf, int64(v))
	case int64:
		e.buf = appendInt(e.buf, v)
	case int32:
		e.buf = appendInt(e.buf, int64(v))
	case int16:
		e.buf = appendInt(e.buf, int64(v))
	case int8:
		e.buf = appendInt(e.buf, int64(v))
	case uint:
		e.buf = appendUint(e.buf, uint64(v))
	case uint64:
		e.buf = appendUint(e.buf, v)
	case uint32:
		e.buf = appendUint(e.buf, uint64(v))
	case uint16:
		e.buf = appendUint(e.buf, uint64(v))
	case uint8:
		e.buf = appendUint(e.buf, uint64(v))
	case float64:
		e.buf = appendFloat64(e.buf, v)
	case float32:
		e.buf = appendFloat32(e.buf, v)
	case []byte:
		if v == nil {
			e.buf = appendNil(e.buf)
		} else {
			e.buf = appendBin(e.buf, v)
		}
	case []any:
		return e.encodeSliceAny(v)
	case map[string]any:
		return e.encodeMapStringAny(v)
	case []string:
		if v == nil {
			e.buf = appendNil(e.buf)
			return nil
		}
		e.buf = appendArrayHeader(e.buf, len(v))
		for _, s := range v {
			e.buf = appendStr(e.buf, s)
		}
	case map[string]string:
		e.encodeMapStringString(v)
	case time.Time:
		return e.encodeTime(v)
	case Date:
		return e.encodeDate(v)
	case TimeOfDay:
		return e.encodeTimeOfDay(v)
	case Decimal:
		return e.encodeDecimal(v)
	case uuid.UUID:
		e.encodeUUID(v)
	case Set:
		return e.encodeSet(v)
	case Raw:
		e.encodeRaw(v)
	case Embedded:
		e.encodeEmbedded(v)
	case Ext:
		e.buf = appendExtHeader(e.buf, v.Type, len(v.Data))
		e.buf = append(e.buf, v.Data...)
	default:
		rv := reflect.ValueOf(v)
		return typeEncoder(rv.Type())(e, rv)
	}
	return nil
}

func (e *encodeState) encodeSliceAny(s []any) error {
	if s == nil {
		e.buf = appendNil(e.buf)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = appendArrayHeader(e.buf, len(s))
	for _, x := range s {
		if err := e.encodeAny(x); err != nil {
			return err
		}
	}
	e.depth--
	return nil
}

// sortedKeys pushes the keys of m, sorted, on the key stack and returns
// the stack's previous height; the caller reads e.keys[mark:] and pops with
// e.keys = e.keys[:mark]. Sorting makes the output deterministic, which
// tests, caches and signatures rely on.
func sortedKeys[V any](e *encodeState, m map[string]V) int {
	mark := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys[mark:])
	return mark
}

func (e *encodeState) encodeMapStringAny(m map[string]any) error {
	if m == nil {
		e.buf = appendNil(e.buf)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = appendMapHeader(e.buf, len(m))
	mark := sortedKeys(e, m)
	for i := mark; i < len(e.keys); i++ {
		k := e.keys[i]
		e.buf = appendStr(e.buf, k)
		if err := e.encodeAny(m[k]); err != nil {
			return err
		}
	}
	e.keys = e.keys[:mark]
	e.depth--
	return nil
}

func (e *encodeState) encodeMapStringString(m map[string]string) {
	if m == nil {
		e.buf = appendNil(e.buf)
		return
	}
	e.buf = appendMapHeader(e.buf, len(m))
	mark := sortedKeys(e, m)
	for _, k := range e.keys[mark:] {
		e.buf = appendStr(e.buf, k)
		e.buf = appendStr(e.buf, m[k])
	}
	e.keys = e.keys[:mark]
}

// --- reflective encoders ---

type encoderFunc func(e *encodeState, v reflect.Value) error

var encoderCache sync.Map // reflect.Type -> encoderFunc

// typeEncoder returns the cached encoder for t, building it once. While it
// is built, a stand-in that waits for it is stored, so that recursive types
// find an encoder for themselves (the technique of encoding/json).
func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoderCache.Load(t); ok {
		return f.(encoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoderCache.LoadOrStore(t, encoderFunc(func(e *encodeState, v reflect.Value) error {
		wg.Wait()
		return f(e, v)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t)
	wg.Done()
	encoderCache.Store(t, f)
	return f
}

func newTypeEncoder(t reflect.Type) encoderFunc {
	switch t {
	case timeType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeTime(v.Interface().(time.Time)) }
	case dateType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeDate(v.Interface().(Date)) }
	case timeOfDayType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeTimeOfDay(v.Interface().(TimeOfDay)) }
	case decimalType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeDecimal(Decimal(v.String())) }
	case uuidType:
		return func(e *encodeState, v reflect.Value) error { e.encodeUUID(v.Interface().(uuid.UUID)); return nil }
	case setType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeSet(v.Interface().(Set)) }
	case rawType:
		return func(e *encodeState, v reflect.Value) error { e.encodeRaw(Raw(v.Bytes())); return nil }
	case embeddedType:
		return func(e *encodeState, v reflect.Value) error { e.encodeEmbedded(Embedded(v.Bytes())); return nil }
	case extType:
		return func(e *encodeState, v reflect.Value) error { return e.encodeAny(v.Interface().(Ext)) }
	}
	if enc := methodEncoder(t, func() encoderFunc { return kindEncoder(t) }); enc != nil {
		return enc
	}
	return kindEncoder(t)
}

func kindEncoder(t reflect.Type) encoderFunc {
	switch t.Kind() {
	case reflect.Bool:
		return func(e *encodeState, v reflect.Value) error { e.buf = appendBool(e.buf, v.Bool()); return nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encodeState, v reflect.Value) error { e.buf = appendInt(e.buf, v.Int()); return nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encodeState, v reflect.Value) error { e.buf = appendUint(e.buf, v.Uint()); return nil }
	case reflect.Float32:
		return func(e *encodeState, v reflect.Value) error {
			e.buf = appendFloat32(e.buf, float32(v.Float()))
			return nil
		}
	case reflect.Float64:
		return func(e *encodeState, v reflect.Value) error { e.buf = appendFloat64(e.buf, v.Float()); return nil }
	case reflect.String:
		return func(e *encodeState, v reflect.Value) error { e.buf = appendStr(e.buf, v.String()); return nil }
	case reflect.Interface:
		return encodeInterface
	case reflect.Pointer:
		return pointerEncoder(t)
	case reflect.Struct:
		return structEncoder(t)
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return encodeByteSlice
		}
		return sliceEncoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return encodeByteArray
		}
		return sliceEncoder(t)
	}
	return func(e *encodeState, v reflect.Value) error { return &UnsupportedTypeError{Type: t} }
}

func encodeInterface(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = appendNil(e.buf)
		return nil
	}
	if err := e.enter(); err != nil {
		return err
	}
	v = v.Elem()
	var err error
	if v.CanInterface() {
		err = e.encodeAny(v.Interface())
	} else {
		err = typeEncoder(v.Type())(e, v)
	}
	e.depth--
	return err
}

func pointerEncoder(t reflect.Type) encoderFunc {
	elem := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value) error {
		if v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		err := elem(e, v.Elem())
		e.depth--
		return err
	}
}

func encodeByteSlice(e *encodeState, v reflect.Value) error {
	if v.IsNil() {
		e.buf = appendNil(e.buf)
		return nil
	}
	e.buf = appendBin(e.buf, v.Bytes())
	return nil
}

func encodeByteArray(e *encodeState, v reflect.Value) error {
	e.buf = appendBinHeader(e.buf, v.Len())
	if v.CanAddr() {
		e.buf = append(e.buf, v.Bytes()...)
		return nil
	}
	for i := range v.Len() {
		e.buf = append(e.buf, byte(v.Index(i).Uint()))
	}
	return nil
}

func sliceEncoder(t reflect.Type) encoderFunc {
	elem := typeEncoder(t.Elem())
	isSlice := t.Kind() == reflect.Slice
	return func(e *encodeState, v reflect.Value) error {
		if isSlice && v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		n := v.Len()
		e.buf = appendArrayHeader(e.buf, n)
		for i := range n {
			if err := elem(e, v.Index(i)); err != nil {
				return err
			}
		}
		e.depth--
		return nil
	}
}

// mapEncoder writes maps with string, integer or float keys in sorted key
// order, so that the output is deterministic; other keys in Go's order.
// Keys and values are copied out in one slice each rather than with
// MapKeys and MapIndex, which allocate for every entry.
func mapEncoder(t reflect.Type) encoderFunc {
	switch t {
	case reflect.TypeFor[map[string]any]():
		return func(e *encodeState, v reflect.Value) error {
			return e.encodeMapStringAny(v.Interface().(map[string]any))
		}
	case reflect.TypeFor[map[string]string]():
		return func(e *encodeState, v reflect.Value) error {
			e.encodeMapStringString(v.Interface().(map[string]string))
			return nil
		}
	}
	kt, et := t.Key(), t.Elem()
	keyEnc := typeEncoder(kt)
	elemEnc := typeEncoder(et)
	keysType, elemsType := reflect.SliceOf(kt), reflect.SliceOf(et)
	var compare func(keys reflect.Value, a, b int) int
	switch kt.Kind() {
	case reflect.String:
		compare = func(keys reflect.Value, a, b int) int {
			return strings.Compare(keys.Index(a).String(), keys.Index(b).String())
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		compare = func(keys reflect.Value, a, b int) int { return cmp.Compare(keys.Index(a).Int(), keys.Index(b).Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		compare = func(keys reflect.Value, a, b int) int { return cmp.Compare(keys.Index(a).Uint(), keys.Index(b).Uint()) }
	case reflect.Float32, reflect.Float64:
		compare = func(keys reflect.Value, a, b int) int {
			return cmp.Compare(keys.Index(a).Float(), keys.Index(b).Float())
		}
	}
	return func(e *encodeState, v reflect.Value) error {
		if v.IsNil() {
			e.buf = appendNil(e.buf)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		n := v.Len()
		e.buf = appendMapHeader(e.buf, n)
		keys := reflect.MakeSlice(keysType, n, n)
		elems := reflect.MakeSlice(elemsType, n, n)
		it := v.MapRange()
		for i := 0; it.Next() && i < n; i++ {
			keys.Index(i).SetIterKey(it)
			elems.Index(i).SetIterValue(it)
		}
		mark := len(e.order)
		for i := range n {
			e.order = append(e.order, i)
		}
		order := e.order[mark:]
		if compare != nil {
			slices.SortFunc(order, func(a, b int) int { return compare(keys, a, b) })
		}
		for _, i := range order {
			if err := keyEnc(e, keys.Index(i)); err != nil {
				return err
			}
			if err := elemEnc(e, elems.Index(i)); err != nil {
				return err
			}
		}
		e.order = e.order[:mark]
		e.depth--
		return nil
	}
}

func structEncoder(t reflect.Type) encoderFunc {
	si := cachedStructInfo(t)
	return func(e *encodeState, v reflect.Value) error {
		if err := e.enter(); err != nil {
			return err
		}
		if si.simple {
			e.buf = appendMapHeader(e.buf, len(si.fields))
			for i := range si.fields {
				f := &si.fields[i]
				e.buf = appendStr(e.buf, f.name)
				if err := f.enc(e, v.Field(f.index[0])); err != nil {
					return err
				}
			}
			e.depth--
			return nil
		}
		n := 0
		for i := range si.fields {
			if _, ok := si.fields[i].value(v); ok {
				n++
			}
		}
		e.buf = appendMapHeader(e.buf, n)
		for i := range si.fields {
			f := &si.fields[i]
			fv, ok := f.value(v)
			if !ok {
				continue
			}
			e.buf = appendStr(e.buf, f.name)
			if err := f.enc(e, fv); err != nil {
				return err
			}
		}
		e.depth--
		return nil
	}
}

// value returns the field of strct to encode, or ok false when it is left
// out: omitempty and empty, or behind a nil embedded pointer.
func (f *field) value(strct reflect.Value) (reflect.Value, bool) {
	v, ok := fieldByIndex(strct, f.index)
	if !ok {
		return v, false
	}
	if f.omitEmpty && f.isEmpty(v) {
		return v, false
	}
	return v, true
}

// isEmpty decides omitempty like vmihailenco's msgpack: an IsZero method
// if the type has one, else the zero value of the kind, with empty slices,
// maps and strings counted as zero.
func (f *field) isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
	}
	if f.isZero && v.CanInterface() {
		return v.Interface().(interface{ IsZero() bool }).IsZero()
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Struct:
		return v.IsZero()
	}
	return false
}
