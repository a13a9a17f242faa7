package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// ArgsErrorKind says what is wrong with a request's keyword arguments.
type ArgsErrorKind uint8

const (
	// MissingArg means a required argument was not given.
	MissingArg ArgsErrorKind = iota + 1
	// UnexpectedArg means an argument names no parameter.
	UnexpectedArg
	// InvalidArg means an argument's value does not fit its parameter.
	InvalidArg
	// MalformedArgs means the body is not a map of named arguments.
	MalformedArgs
)

// String names the kind, as it appears in error messages.
func (k ArgsErrorKind) String() string {
	switch k {
	case MissingArg:
		return "missing argument"
	case UnexpectedArg:
		return "unexpected argument"
	case InvalidArg:
		return "invalid argument"
	case MalformedArgs:
		return "malformed arguments"
	}
	return fmt.Sprintf("ArgsErrorKind(%d)", uint8(k))
}

// ArgsError says why a request's keyword arguments do not fit a method:
// the caller's mistake, answered with a NACK.
type ArgsError struct {
	Kind ArgsErrorKind
	Arg  string // the argument concerned; empty for MalformedArgs
	Err  error  // the decoding error, for InvalidArg and MalformedArgs
}

// Error says what is wrong, naming the argument.
func (e *ArgsError) Error() string {
	switch e.Kind {
	case MissingArg, UnexpectedArg:
		return fmt.Sprintf("%s %q", e.Kind, e.Arg)
	case InvalidArg:
		return fmt.Sprintf("argument %q: %v", e.Arg, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Kind, e.Err)
}

// Unwrap returns the decoding error.
func (e *ArgsError) Unwrap() error { return e.Err }

// argField is one keyword argument of a struct.
type argField struct {
	name     string
	index    []int
	optional bool
}

type argStruct struct {
	fields []argField
	byName map[string]int
}

var argStructs sync.Map // reflect.Type -> *argStruct

func argStructOf(t reflect.Type) *argStruct {
	if v, ok := argStructs.Load(t); ok {
		return v.(*argStruct)
	}
	s := &argStruct{byName: map[string]int{}}
	collectArgs(t, nil, s)
	v, _ := argStructs.LoadOrStore(t, s)
	return v.(*argStruct)
}

// collectArgs lists the fields msgpack encodes a struct's values under:
// exported fields by their msgpack tag name (or Go name), skipping "-", with
// untagged embedded structs inlined as msgpack inlines them.
func collectArgs(t reflect.Type, index []int, s *argStruct) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("msgpack")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			collectArgs(f.Type, idx, s)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := strings.Contains(","+opts+",", ",omitempty,") ||
			f.Type.Kind() == reflect.Pointer || f.Tag.Get("lymph") == "optional"
		if _, dup := s.byName[name]; dup {
			continue
		}
		s.byName[name] = len(s.fields)
		s.fields = append(s.fields, argField{name: name, index: idx, optional: optional})
	}
}

// ArgNames returns the keyword argument names a struct type (or a pointer
// to one) takes, in field order: lymph inspect's params. It returns nil for
// other types.
func ArgNames(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !isArgStruct(t) {
		return nil
	}
	s := argStructOf(t)
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return names
}

// isArgStruct reports whether t is a struct of keyword arguments, not a
// value that happens to be a struct, such as a time or a date.
func isArgStruct(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	switch t {
	case timeType, dateType, timeOfDayType:
		return false
	}
	return !reflect.PointerTo(t).Implements(customDecoderType)
}

var customDecoderType = reflect.TypeFor[msgpack.CustomDecoder]()

// DecodeArgs decodes a request body, a msgpack map of keyword arguments,
// into v: a pointer to a struct or to a map with string keys. For a struct,
// an argument that names no field, a required field without an argument,
// and a value of the wrong type are each an *ArgsError naming the argument.
// An empty body or nil is no arguments.
func DecodeArgs(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("cannot decode: %v", r)}
		}
	}()
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("codec: DecodeArgs needs a non-nil pointer, got %T", v)
	}
	if len(data) == 0 {
		data = []byte{0xc0}
	}
	n, err := checkWellFormed(data)
	if err != nil {
		return &ArgsError{Kind: MalformedArgs, Err: err}
	}
	if n != len(data) {
		return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("%d bytes after the arguments", len(data)-n)}
	}
	pd := getDecoder(data)
	defer putDecoder(pd)
	d := pd.dec

	n, err = d.DecodeMapLen()
	if err != nil {
		return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("arguments must be a map: %w", err)}
	}
	target := rv.Elem()
	switch {
	case isArgStruct(target.Type()):
		err = decodeArgStruct(d, n, target)
	case target.Kind() == reflect.Map:
		err = decodeArgMap(d, n, target)
	default:
		return fmt.Errorf("codec: DecodeArgs decodes into structs and maps, not %T", v)
	}
	return err
}

func decodeArgStruct(d *msgpack.Decoder, n int, target reflect.Value) error {
	s := argStructOf(target.Type())
	seen := make([]bool, len(s.fields))
	for range max(n, 0) {
		name, err := d.DecodeString()
		if err != nil {
			return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("argument names must be text: %w", err)}
		}
		i, ok := s.byName[name]
		if !ok {
			return &ArgsError{Kind: UnexpectedArg, Arg: name}
		}
		if seen[i] {
			return &ArgsError{Kind: InvalidArg, Arg: name, Err: errors.New("given twice")}
		}
		seen[i] = true
		field, err := target.FieldByIndexErr(s.fields[i].index)
		if err != nil {
			// A nil embedded pointer: allocate it as msgpack would.
			return &ArgsError{Kind: InvalidArg, Arg: name, Err: err}
		}
		if err := d.DecodeValue(field); err != nil {
			return &ArgsError{Kind: InvalidArg, Arg: name, Err: err}
		}
	}
	for i, f := range s.fields {
		if !seen[i] && !f.optional {
			return &ArgsError{Kind: MissingArg, Arg: f.name}
		}
	}
	return nil
}

func decodeArgMap(d *msgpack.Decoder, n int, target reflect.Value) error {
	t := target.Type()
	if t.Key().Kind() != reflect.String {
		return fmt.Errorf("codec: DecodeArgs decodes into maps with string keys, not %s", t)
	}
	if target.IsNil() {
		// The declared length is the sender's claim: a hint, not an
		// allocation to make on its word.
		target.Set(reflect.MakeMapWithSize(t, min(max(n, 0), 16)))
	}
	for range max(n, 0) {
		name, err := d.DecodeString()
		if err != nil {
			return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("argument names must be text: %w", err)}
		}
		val := reflect.New(t.Elem()).Elem()
		if err := d.DecodeValue(val); err != nil {
			return &ArgsError{Kind: InvalidArg, Arg: name, Err: err}
		}
		target.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), val)
	}
	return nil
}
