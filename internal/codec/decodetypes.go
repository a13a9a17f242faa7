package codec

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// This file decodes into typed Go values by reflection. Each Go type gets a
// decoderFunc, built once and cached. A decoderFunc consumes exactly one
// value; targets are always addressable (the element of a pointer, a field
// of such a struct, a slice element, or a fresh temporary for map entries).
//
// Every decoder accepts nil (setting the zero value, or nil for pointers,
// slices and maps) and an extension 101 document (decoded transparently
// in its place, through mismatch).

type decoderFunc func(d *decodeState, v reflect.Value) error

var decoderCache sync.Map // reflect.Type -> decoderFunc

// typeDecoder returns the cached decoder for t; see typeEncoder for how
// recursive types are handled.
func typeDecoder(t reflect.Type) decoderFunc {
	if f, ok := decoderCache.Load(t); ok {
		return f.(decoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  decoderFunc
	)
	wg.Add(1)
	fi, loaded := decoderCache.LoadOrStore(t, decoderFunc(func(d *decodeState, v reflect.Value) error {
		wg.Wait()
		return f(d, v)
	}))
	if loaded {
		return fi.(decoderFunc)
	}
	f = newTypeDecoder(t)
	wg.Done()
	decoderCache.Store(t, f)
	return f
}

func newTypeDecoder(t reflect.Type) decoderFunc {
	switch t {
	case timeType:
		return decodeTime
	case dateType:
		return decodeDate
	case timeOfDayType:
		return decodeTimeOfDay
	case decimalType:
		return decodeDecimal
	case uuidType:
		return decodeUUID
	case rawType:
		return decodeRaw
	case embeddedType:
		return decodeEmbedded
	case extType:
		return decodeExt
	}
	if dec := methodDecoder(t, func() decoderFunc { return kindDecoder(t) }); dec != nil {
		return dec
	}
	return kindDecoder(t)
}

func kindDecoder(t reflect.Type) decoderFunc {
	switch t.Kind() {
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decodeUint
	case reflect.Float32, reflect.Float64:
		return decodeFloat
	case reflect.String:
		return decodeString
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return decodeInterface
		}
		return nonEmptyInterfaceDecoder(t)
	case reflect.Pointer:
		return pointerDecoder(t)
	case reflect.Struct:
		return structDecoder(t)
	case reflect.Map:
		return mapDecoder(t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return byteSliceDecoder(t)
		}
		return sliceDecoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return byteArrayDecoder(t)
		}
		return arrayDecoder(t)
	}
	return func(d *decodeState, v reflect.Value) error {
		return &TypeError{Value: d.describe(), Type: t}
	}
}

// mismatch handles a value that the decoder dec for v does not take. An
// extension 101 holds a whole document, which is decoded with dec in its
// place; anything else is a TypeError.
func (d *decodeState) mismatch(v reflect.Value, dec decoderFunc) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch kindOf(c) {
	case kindInvalid:
		return d.errorf("invalid code %#x", c)
	case kindExt:
		save := d.off
		d.off++
		typ, n, err := d.extHeader(c)
		if err != nil {
			return err
		}
		if typ == extEmbedded {
			p, _ := d.next(n)
			return d.embedded(p, func(sub *decodeState) error { return dec(sub, v) })
		}
		d.off = save
	}
	return &TypeError{Value: d.describe(), Type: v.Type()}
}

// describe names the next value for an error message: its kind, the lymph
// type of a typed map, or the type of an extension.
func (d *decodeState) describe() string {
	c, err := d.peek()
	if err != nil {
		return "nothing"
	}
	switch k := kindOf(c); k {
	case kindMap:
		if env, ok := d.peekEnvelope(); ok && knownName(env.name) {
			return env.name
		}
	case kindExt:
		r := d.reader
		r.off++
		if typ, _, err := r.extHeader(c); err == nil {
			return "ext " + strconv.Itoa(int(typ))
		}
	}
	return kindOf(c).String()
}

func decodeBool(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch c {
	case codeTrue:
		v.SetBool(true)
	case codeFalse, codeNil:
		v.SetBool(false)
	default:
		return d.mismatch(v, decodeBool)
	}
	d.off++
	return nil
}

// decodeInt takes integers that fit, and floats with an integral value
// (a Python caller may well send 3.0 for 3).
func decodeInt(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch kindOf(c) {
	case kindNil:
		d.off++
		v.SetInt(0)
	case kindInt:
		d.off++
		i, u, big, err := d.readInt(c)
		if err != nil {
			return err
		}
		if big {
			return &TypeError{Value: "int " + strconv.FormatUint(u, 10), Type: v.Type(), Err: errOverflow}
		}
		if v.OverflowInt(i) {
			return &TypeError{Value: "int " + strconv.FormatInt(i, 10), Type: v.Type(), Err: errOverflow}
		}
		v.SetInt(i)
	case kindFloat:
		d.off++
		f, err := d.readFloat(c)
		if err != nil {
			return err
		}
		if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 || v.OverflowInt(int64(f)) {
			return &TypeError{Value: "float " + strconv.FormatFloat(f, 'g', -1, 64), Type: v.Type()}
		}
		v.SetInt(int64(f))
	default:
		return d.mismatch(v, decodeInt)
	}
	return nil
}

var errOverflow = errorString("out of range")

type errorString string

func (e errorString) Error() string { return string(e) }

func decodeUint(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch kindOf(c) {
	case kindNil:
		d.off++
		v.SetUint(0)
	case kindInt:
		d.off++
		i, u, big, err := d.readInt(c)
		if err != nil {
			return err
		}
		if !big {
			if i < 0 {
				return &TypeError{Value: "int " + strconv.FormatInt(i, 10), Type: v.Type(), Err: errOverflow}
			}
			u = uint64(i)
		}
		if v.OverflowUint(u) {
			return &TypeError{Value: "int " + strconv.FormatUint(u, 10), Type: v.Type(), Err: errOverflow}
		}
		v.SetUint(u)
	case kindFloat:
		d.off++
		f, err := d.readFloat(c)
		if err != nil {
			return err
		}
		if f != math.Trunc(f) || f < 0 || f >= 1<<64 || v.OverflowUint(uint64(f)) {
			return &TypeError{Value: "float " + strconv.FormatFloat(f, 'g', -1, 64), Type: v.Type()}
		}
		v.SetUint(uint64(f))
	default:
		return d.mismatch(v, decodeUint)
	}
	return nil
}

func decodeFloat(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	var f float64
	switch kindOf(c) {
	case kindNil:
		d.off++
	case kindFloat:
		d.off++
		if f, err = d.readFloat(c); err != nil {
			return err
		}
	case kindInt:
		d.off++
		i, u, big, err := d.readInt(c)
		if err != nil {
			return err
		}
		f = float64(i)
		if big {
			f = float64(u)
		}
	default:
		return d.mismatch(v, decodeFloat)
	}
	if v.OverflowFloat(f) {
		return &TypeError{Value: "float " + strconv.FormatFloat(f, 'g', -1, 64), Type: v.Type(), Err: errOverflow}
	}
	v.SetFloat(f)
	return nil
}

// decodeString takes str and bin (Python 2 sent text as bin), and the text
// of a lymph typed map, so that a Go caller can take a Python UUID, Decimal
// or datetime as a plain string.
func decodeString(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch kindOf(c) {
	case kindNil:
		d.off++
		v.SetString("")
	case kindStr, kindBin:
		d.off++
		p, err := d.readBytes(c)
		if err != nil {
			return err
		}
		v.SetString(string(p))
	case kindMap:
		env, ok := d.peekEnvelope()
		if !ok || !knownName(env.name) || env.name == nameSet {
			return d.mismatch(v, decodeString)
		}
		s, err := d.envelopeText(env, v.Type())
		if err != nil {
			return err
		}
		v.SetString(s)
	default:
		return d.mismatch(v, decodeString)
	}
	return nil
}

func decodeInterface(d *decodeState, v reflect.Value) error {
	x, err := d.decodeAny()
	if err != nil {
		return err
	}
	if x == nil {
		v.SetZero()
	} else {
		v.Set(reflect.ValueOf(x))
	}
	return nil
}

// nonEmptyInterfaceDecoder decodes into the pointer an interface already
// holds, as encoding/json does, or else stores the decoded any value when
// it implements the interface.
func nonEmptyInterfaceDecoder(t reflect.Type) decoderFunc {
	return func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == codeNil {
			d.off++
			v.SetZero()
			return nil
		}
		if !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
				return typeDecoder(e.Type().Elem())(d, e.Elem())
			}
		}
		x, err := d.decodeAny()
		if err != nil {
			return err
		}
		if x == nil { // an embedded document holding nil
			v.SetZero()
			return nil
		}
		xv := reflect.ValueOf(x)
		if !xv.Type().Implements(t) {
			return &TypeError{Value: xv.Type().String(), Type: t}
		}
		v.Set(xv)
		return nil
	}
}

func pointerDecoder(t reflect.Type) decoderFunc {
	elem := typeDecoder(t.Elem())
	return func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		if c == codeNil {
			d.off++
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return elem(d, v.Elem())
	}
}

func byteSliceDecoder(t reflect.Type) decoderFunc {
	var self decoderFunc
	arrays := sliceDecoder(t) // a Python list of small ints is bytes too
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
		case kindBin, kindStr:
			d.off++
			p, err := d.readBytes(c)
			if err != nil {
				return err
			}
			v.SetBytes(bytes.Clone(p))
		case kindArray:
			return arrays(d, v)
		default:
			return d.mismatch(v, self)
		}
		return nil
	}
	return self
}

func byteArrayDecoder(t reflect.Type) decoderFunc {
	var self decoderFunc
	arrays := arrayDecoder(t)
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
		case kindBin, kindStr:
			d.off++
			p, err := d.readBytes(c)
			if err != nil {
				return err
			}
			if len(p) != v.Len() {
				return &TypeError{Value: kindOf(c).String() + " of " + strconv.Itoa(len(p)) + " bytes", Type: t}
			}
			for i, b := range p {
				v.Index(i).SetUint(uint64(b))
			}
		case kindArray:
			return arrays(d, v)
		default:
			return d.mismatch(v, self)
		}
		return nil
	}
	return self
}

// sliceDecoder takes arrays, and lymph sets, whose members become the
// elements.
func sliceDecoder(t reflect.Type) decoderFunc {
	elem := typeDecoder(t.Elem())
	var self decoderFunc
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		end := -1
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
			return nil
		case kindArray:
		case kindMap:
			env, ok := d.peekEnvelope()
			if !ok || env.name != nameSet {
				return d.mismatch(v, self)
			}
			d.off = env.valStart
			if c, err = d.peek(); err != nil {
				return err
			}
			if kindOf(c) != kindArray {
				return &TypeError{Value: "set holding " + kindOf(c).String(), Type: t}
			}
			end = env.end
		default:
			return d.mismatch(v, self)
		}
		d.off++
		n, err := d.arrayLen(c)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		if v.IsNil() || v.Cap() < n {
			v.Set(reflect.MakeSlice(t, n, n))
		} else {
			v.SetLen(n)
		}
		for i := range n {
			ev := v.Index(i)
			ev.SetZero() // a reused backing array must not leak old values
			if err := elem(d, ev); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		d.depth--
		if end >= 0 {
			d.off = end
		}
		return nil
	}
	return self
}

// arrayDecoder fills a Go array from a msgpack array: surplus elements are
// skipped and missing ones zeroed, as encoding/json does.
func arrayDecoder(t reflect.Type) decoderFunc {
	elem := typeDecoder(t.Elem())
	var self decoderFunc
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
			return nil
		case kindArray:
		default:
			return d.mismatch(v, self)
		}
		d.off++
		n, err := d.arrayLen(c)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		for i := range n {
			if i >= v.Len() {
				if err := d.skip(); err != nil {
					return err
				}
				continue
			}
			if err := elem(d, v.Index(i)); err != nil {
				return withPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		for i := n; i < v.Len(); i++ {
			v.Index(i).SetZero()
		}
		d.depth--
		return nil
	}
	return self
}

func mapDecoder(t reflect.Type) decoderFunc {
	kt, et := t.Key(), t.Elem()
	keyDec := typeDecoder(kt)
	elemDec := typeDecoder(et)
	// Plain string keys are read directly, the common case.
	plainStringKey := kt.Kind() == reflect.String && !isSpecial(kt) && methodDecoder(kt, func() decoderFunc { return nil }) == nil
	interfaceKey := kt.Kind() == reflect.Interface
	var self decoderFunc
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
			return nil
		case kindMap:
			if env, ok := d.peekEnvelope(); ok && knownName(env.name) {
				return d.mismatch(v, self) // a date is no map, whatever its shape
			}
		default:
			return d.mismatch(v, self)
		}
		d.off++
		n, err := d.mapLen(c)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, n))
		}
		kv := reflect.New(kt).Elem()
		ev := reflect.New(et).Elem()
		for range n {
			kv.SetZero()
			kc, err := d.peek()
			if err != nil {
				return err
			}
			if plainStringKey && (kindOf(kc) == kindStr || kindOf(kc) == kindBin) {
				d.off++
				p, err := d.readBytes(kc)
				if err != nil {
					return err
				}
				kv.SetString(string(p))
			} else if err := keyDec(d, kv); err != nil {
				return withPath(err, "[key]")
			}
			if interfaceKey && !kv.IsNil() && !kv.Elem().Type().Comparable() {
				return &TypeError{Value: kv.Elem().Type().String() + " as a map key", Type: t}
			}
			ev.SetZero()
			if err := elemDec(d, ev); err != nil {
				return withPath(err, "["+keyString(kv)+"]")
			}
			v.SetMapIndex(kv, ev)
		}
		d.depth--
		return nil
	}
	return self
}

// keyString renders a map key for an error path.
func keyString(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return strconv.Quote(k.String())
	}
	if k.CanInterface() {
		if s, ok := k.Interface().(interface{ String() string }); ok {
			return s.String()
		}
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10)
	}
	return k.Type().String()
}

// structDecoder fills the fields named by the map's keys; keys that name no
// field are skipped (DecodeArgs is the strict one).
func structDecoder(t reflect.Type) decoderFunc {
	si := cachedStructInfo(t)
	var self decoderFunc
	self = func(d *decodeState, v reflect.Value) error {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
			v.SetZero()
			return nil
		case kindMap:
			if env, ok := d.peekEnvelope(); ok && knownName(env.name) {
				return d.mismatch(v, self)
			}
		default:
			return d.mismatch(v, self)
		}
		d.off++
		n, err := d.mapLen(c)
		if err != nil {
			return err
		}
		if err := d.enter(); err != nil {
			return err
		}
		for range n {
			kc, err := d.readByte()
			if err != nil {
				return err
			}
			if k := kindOf(kc); k == kindStr || k == kindBin {
				key, err := d.readBytes(kc)
				if err != nil {
					return err
				}
				if i, ok := si.byName[string(key)]; ok {
					f := &si.fields[i]
					if err := f.dec(d, fieldByIndexAlloc(v, f.index)); err != nil {
						return withPath(err, "."+f.name)
					}
					continue
				}
			} else {
				d.off--
				if err := d.skip(); err != nil {
					return err
				}
			}
			if err := d.skip(); err != nil {
				return err
			}
		}
		d.depth--
		return nil
	}
	return self
}
