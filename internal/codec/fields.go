package codec

import (
	"reflect"
	"slices"
	"strings"
	"sync"
)

// A struct travels as a map from its fields' names to their values, as
// vmihailenco/msgpack writes one, with one difference: an untagged field
// is named by SnakeCase of its Go name (FirstName -> first_name), the rule
// that names methods, so that a Python peer reads the keys it would write.
// A msgpack tag names the field as written (`msgpack:"FirstName"` keeps
// the Go name); "-" leaves the field out, omitempty leaves out an empty
// value; unexported fields are left out. An untagged embedded struct (or
// pointer to one) is flattened into the outer map unless one of its names
// is already taken; ",inline" flattens it anyway, minus the taken names,
// ",noinline" never.

// field is one map entry of a struct.
type field struct {
	name      string
	key       []byte // name, encoded as a msgpack str
	index     []int
	typ       reflect.Type
	omitEmpty bool
	// optional: an argument that may be missing from a request, because
	// the field is a pointer, omitempty or tagged lymph:"optional".
	optional bool
}

type structInfo struct {
	fields       []field
	byName       map[string]int
	hasOmitEmpty bool
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	s := &structInfo{byName: map[string]int{}}
	collectFields(t, nil, s, false, []reflect.Type{t})
	for i := range s.fields {
		f := &s.fields[i]
		f.key = appendStr(nil, f.name)
		s.hasOmitEmpty = s.hasOmitEmpty || f.omitEmpty
	}
	v, _ := structInfos.LoadOrStore(t, s)
	return v.(*structInfo)
}

type tagOptions struct {
	omitEmpty, inline, noinline bool
}

func parseTag(tag string) (name string, opts tagOptions) {
	name, rest, _ := strings.Cut(tag, ",")
	for rest != "" {
		var opt string
		opt, rest, _ = strings.Cut(rest, ",")
		switch opt {
		case "omitempty":
			opts.omitEmpty = true
		case "inline":
			opts.inline = true
		case "noinline":
			opts.noinline = true
		}
	}
	return name, opts
}

// collectFields adds t's fields to s; index leads to t inside the outer
// struct, chain holds the embedded types on the way (to stop at a cycle).
func collectFields(t reflect.Type, index []int, s *structInfo, allOmitEmpty bool, chain []reflect.Type) {
	if f, ok := t.FieldByName("_msgpack"); ok && len(f.Index) == 1 {
		// vmihailenco/msgpack's per-struct options: omitempty for all.
		_, opts := parseTag(f.Tag.Get("msgpack"))
		allOmitEmpty = allOmitEmpty || opts.omitEmpty
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts := parseTag(f.Tag.Get("msgpack"))
		if name == "-" || f.Name == "_msgpack" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		idx := append(slices.Clip(index), i)
		if f.Anonymous && !opts.noinline && (name == "" || opts.inline) {
			if inlineFields(f.Type, idx, s, opts.inline, allOmitEmpty || opts.omitEmpty, chain) {
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = SnakeCase(f.Name)
		}
		if _, taken := s.byName[name]; taken {
			continue // the first field of a name wins
		}
		omit := allOmitEmpty || opts.omitEmpty
		s.byName[name] = len(s.fields)
		s.fields = append(s.fields, field{
			name:      name,
			index:     idx,
			typ:       f.Type,
			omitEmpty: omit,
			optional:  omit || f.Type.Kind() == reflect.Pointer || f.Tag.Get("lymph") == "optional",
		})
	}
}

// inlineFields flattens the embedded struct type t into s, as msgpack
// does: always with force (",inline"), leaving out the names s has; without
// it only when none of t's names is taken. It reports whether it did.
func inlineFields(t reflect.Type, index []int, s *structInfo, force, omitEmpty bool, chain []reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || !plainStruct(t) || slices.Contains(chain, t) {
		return false
	}
	inner := &structInfo{byName: map[string]int{}}
	collectFields(t, nil, inner, omitEmpty, append(slices.Clip(chain), t))
	if !force {
		for _, f := range inner.fields {
			if _, taken := s.byName[f.name]; taken {
				return false
			}
		}
	}
	for _, f := range inner.fields {
		if _, taken := s.byName[f.name]; taken {
			continue
		}
		f.index = append(slices.Clip(index), f.index...)
		s.byName[f.name] = len(s.fields)
		s.fields = append(s.fields, f)
	}
	return true
}

// plainStruct reports whether values of struct type t travel as a map of
// their fields, rather than by a form of their own (a lymph value, a
// marshaler).
func plainStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && lymphKindOf(t) == lkNone && !hasMarshaler(t)
}
