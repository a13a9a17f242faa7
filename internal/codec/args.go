package codec

import (
	"errors"
	"fmt"
	"reflect"
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

// Error says what is wrong, naming the argument (and where inside it:
// `argument "tags[1]": want a string, got an integer`).
func (e *ArgsError) Error() string {
	switch e.Kind {
	case MissingArg, UnexpectedArg:
		return fmt.Sprintf("%s %q", e.Kind, e.Arg)
	case InvalidArg:
		var de *DecodeError
		if errors.As(e.Err, &de) {
			return fmt.Sprintf("argument %q: %s", joinPath(e.Arg, []string{de.Path}), de.message())
		}
		return fmt.Sprintf("argument %q: %v", e.Arg, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Kind, e.Err)
}

// Unwrap returns the decoding error.
func (e *ArgsError) Unwrap() error { return e.Err }

// ArgNames returns the keyword argument names a struct type (or a pointer
// to one) takes, in field order: lymph inspect's params. They are the
// names the struct's fields travel under: msgpack tags, else snake_case.
// It returns nil for other types.
func ArgNames(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !isArgStruct(t) {
		return nil
	}
	s := structInfoOf(t)
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return names
}

// isArgStruct reports whether t is a struct of keyword arguments, not a
// value that happens to be a struct, such as a time or a date.
func isArgStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && lymphKindOf(t) == lkNone &&
		!t.Implements(customDecoderType) && !reflect.PointerTo(t).Implements(customDecoderType) &&
		!reflect.PointerTo(t).Implements(unmarshalerType)
}

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
	target := rv.Elem()
	isStruct := isArgStruct(target.Type())
	if !isStruct && target.Kind() != reflect.Map {
		return fmt.Errorf("codec: DecodeArgs decodes into structs and maps, not %T", v)
	}
	if target.Kind() == reflect.Map && target.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("codec: DecodeArgs decodes into maps with string keys, not %s", target.Type())
	}
	if len(data) == 0 {
		data = []byte{codeNil}
	}
	n, err := checkWellFormed(data)
	if err != nil {
		return &ArgsError{Kind: MalformedArgs, Err: err}
	}
	if n != len(data) {
		return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("%d bytes after the arguments", len(data)-n)}
	}
	d := getDecState(data)
	defer putDecState(d)
	if c, _ := d.r.peek(); kindOf(c) == kindExt {
		// A nested document stands for the arguments, as vmihailenco/
		// msgpack's DecodeMapLen took it.
		nd, err := d.nestedRaw()
		if err != nil {
			return &ArgsError{Kind: MalformedArgs, Err: err}
		}
		d.r = reader{data: nd}
	}
	n, err = d.containerLen("a map", true)
	if err != nil {
		return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("arguments must be a map: %w", finish(err))}
	}
	if isStruct {
		return decodeArgStruct(d, n, target)
	}
	return decodeArgMap(d, n, target)
}

// nestedRaw reads extension 101 and returns the document it carries.
func (d *decState) nestedRaw() ([]byte, error) {
	c, _ := d.r.byte()
	typ, data, err := d.r.ext(c)
	if err != nil {
		return nil, err
	}
	if typ != nestedExtID {
		return nil, fmt.Errorf("extension type %d; lymph uses only %d", typ, nestedExtID)
	}
	return data, nil
}

func decodeArgStruct(d *decState, n int, target reflect.Value) error {
	s := structInfoOf(target.Type())
	decs := make([]decFunc, len(s.fields))
	var seenBuf [64]bool
	seen := seenBuf[:0]
	if len(s.fields) > len(seenBuf) {
		seen = make([]bool, len(s.fields))
	} else {
		seen = seenBuf[:len(s.fields)]
	}
	for range max(n, 0) {
		key, err := d.text("a string key")
		if err != nil {
			return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("argument names must be text: %w", finish(err))}
		}
		i, ok := s.byName[string(key)]
		if !ok {
			return &ArgsError{Kind: UnexpectedArg, Arg: string(key)}
		}
		f := &s.fields[i]
		if seen[i] {
			return &ArgsError{Kind: InvalidArg, Arg: f.name, Err: errors.New("given twice")}
		}
		seen[i] = true
		field, err := fieldAlloc(target, f.index)
		if err != nil {
			return &ArgsError{Kind: InvalidArg, Arg: f.name, Err: err}
		}
		if decs[i] == nil {
			decs[i] = decoderFor(f.typ)
		}
		if err := decs[i](d, field); err != nil {
			return argErr(f.name, err)
		}
	}
	for i, f := range s.fields {
		if !seen[i] && !f.optional {
			return &ArgsError{Kind: MissingArg, Arg: f.name}
		}
	}
	return nil
}

// argErr is the error for an argument that did not decode: a value that
// does not fit is InvalidArg, a document cut short MalformedArgs.
func argErr(name string, err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return &ArgsError{Kind: InvalidArg, Arg: name, Err: finish(de)}
	}
	return &ArgsError{Kind: MalformedArgs, Err: err}
}

func decodeArgMap(d *decState, n int, target reflect.Value) error {
	t := target.Type()
	if target.IsNil() {
		// The declared length is the sender's claim: a hint, not an
		// allocation to make on its word.
		target.Set(reflect.MakeMapWithSize(t, min(max(n, 0), 16)))
	}
	dec := decoderFor(t.Elem())
	for range max(n, 0) {
		key, err := d.text("a string key")
		if err != nil {
			return &ArgsError{Kind: MalformedArgs, Err: fmt.Errorf("argument names must be text: %w", finish(err))}
		}
		name := string(key)
		val := reflect.New(t.Elem()).Elem()
		if err := dec(d, val); err != nil {
			return argErr(name, err)
		}
		target.SetMapIndex(reflect.ValueOf(name).Convert(t.Key()), val)
	}
	return nil
}
