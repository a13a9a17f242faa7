package codec

import (
	"reflect"
	"strings"
	"sync"
)

// This file reads a struct type's msgpack tags once and caches the result
// for encoding, decoding and DecodeArgs. The rules follow vmihailenco's
// msgpack, so tags written for it mean the same here:
//
//   - the key is the msgpack tag's name, or else the Go field name;
//   - `msgpack:"-"` skips a field, unexported fields are skipped;
//   - `msgpack:",omitempty"` leaves a zero field out when encoding;
//   - an embedded struct (or pointer to one) without a tag name has its
//     fields inlined; `msgpack:",noinline"` keeps it as one field,
//     `msgpack:"name,inline"` inlines it despite the name;
//   - when inlining makes two fields share a key, the shallower one wins
//     (as in Go's own field promotion), and among equals the first.
//
// DecodeArgs also needs to know which fields are optional: those with
// omitempty, pointers, fields reached through an embedded pointer, and
// those tagged `lymph:"optional"`.

type field struct {
	name      string
	index     []int
	typ       reflect.Type
	depth     int
	omitEmpty bool
	optional  bool
	isZero    bool // typ has an IsZero() bool method, used by omitempty
	enc       encoderFunc
	dec       decoderFunc
}

type structInfo struct {
	fields []field
	byName map[string]int
	// simple is set when every field sits directly in the struct and none
	// has omitempty, so the encoder can skip its counting pass.
	simple bool
}

var structCache sync.Map // reflect.Type -> *structInfo

func cachedStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si, _ := structCache.LoadOrStore(t, newStructInfo(t))
	return si.(*structInfo)
}

var isZeroerType = reflect.TypeFor[interface{ IsZero() bool }]()

func newStructInfo(t reflect.Type) *structInfo {
	var all []field
	collectFields(t, nil, 0, false, map[reflect.Type]bool{}, &all)

	// Resolve clashes: keep the shallowest field of each name, first wins.
	best := make(map[string]int, len(all))
	for i, f := range all {
		if j, ok := best[f.name]; !ok || f.depth < all[j].depth {
			best[f.name] = i
		}
	}
	si := &structInfo{byName: make(map[string]int, len(best)), simple: true}
	for i, f := range all {
		if best[f.name] != i {
			continue
		}
		f.enc = typeEncoder(f.typ)
		f.dec = typeDecoder(f.typ)
		f.isZero = f.typ.Implements(isZeroerType)
		if f.omitEmpty || len(f.index) > 1 {
			si.simple = false
		}
		si.byName[f.name] = len(si.fields)
		si.fields = append(si.fields, f)
	}
	return si
}

func collectFields(t reflect.Type, index []int, depth int, viaPtr bool, visiting map[reflect.Type]bool, out *[]field) {
	if visiting[t] {
		return // an embedding cycle through pointers
	}
	visiting[t] = true
	defer delete(visiting, t)

	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts := parseTag(sf.Tag.Get("msgpack"))
		if name == "-" {
			continue
		}
		idx := append(index[:len(index):len(index)], i)
		if sf.Anonymous {
			ft := sf.Type
			isPtr := ft.Kind() == reflect.Pointer
			if isPtr {
				ft = ft.Elem()
			}
			inline := (name == "" || hasOption(opts, "inline")) && !hasOption(opts, "noinline")
			// An unexported embedded pointer cannot be allocated when
			// decoding, so its fields are not reachable.
			if inline && ft.Kind() == reflect.Struct && inlinable(ft) && !(isPtr && !sf.IsExported()) {
				collectFields(ft, idx, depth+1, viaPtr || isPtr, visiting, out)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		omit := hasOption(opts, "omitempty")
		*out = append(*out, field{
			name:      name,
			index:     idx,
			typ:       sf.Type,
			depth:     depth,
			omitEmpty: omit,
			optional:  omit || viaPtr || sf.Type.Kind() == reflect.Pointer || lymphOptional(sf.Tag),
		})
	}
}

// inlinable reports whether an embedded struct type is an ordinary struct
// whose fields can be promoted, rather than a value with its own encoding.
func inlinable(t reflect.Type) bool {
	if isSpecial(t) {
		return false
	}
	pt := reflect.PointerTo(t)
	for _, it := range []reflect.Type{customEncoderType, customDecoderType, marshalerType, unmarshalerType, textMarshalerType, textUnmarshalerType} {
		if t.Implements(it) || pt.Implements(it) {
			return false
		}
	}
	return true
}

func parseTag(tag string) (name, opts string) {
	name, opts, _ = strings.Cut(tag, ",")
	return name, opts
}

func hasOption(opts, opt string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if strings.TrimSpace(o) == opt {
			return true
		}
	}
	return false
}

func lymphOptional(tag reflect.StructTag) bool {
	return hasOption(tag.Get("lymph"), "optional")
}

// fieldByIndex returns the field at index, or ok false when an embedded
// pointer on the way is nil.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 {
		return v.Field(index[0]), true
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// fieldByIndexAlloc returns the field at index for decoding into,
// allocating nil embedded pointers on the way.
func fieldByIndexAlloc(v reflect.Value, index []int) reflect.Value {
	if len(index) == 1 {
		return v.Field(index[0])
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}
