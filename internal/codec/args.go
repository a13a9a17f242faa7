package codec

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// A lymph REQ body is a map of keyword arguments. DecodeArgs plays the part
// of Python's call machinery: an argument that names no parameter, or a
// required parameter left out, is an error, as a TypeError would be in
// Python. Only the top level is strict: nested maps are data, decoded like
// Unmarshal does.

// ArgsErrorKind says what is wrong with a set of arguments.
type ArgsErrorKind uint8

const (
	// MissingArg means a required argument was not given.
	MissingArg ArgsErrorKind = iota + 1
	// UnexpectedArg means an argument names no parameter.
	UnexpectedArg
	// InvalidArg means an argument's value does not fit its parameter.
	InvalidArg
	// MalformedArgs means the body is not a msgpack map with text keys.
	MalformedArgs
)

// String returns a short name of the kind.
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

// ArgsError reports keyword arguments that do not fit the parameters they
// are decoded into. Its message is meant for the caller, e.g.
// `missing argument "text"`, `unexpected argument "txt"` or
// `argument "text": cannot decode int into string`.
type ArgsError struct {
	Kind ArgsErrorKind
	Arg  string // the argument concerned; empty for MalformedArgs
	Err  error  // the decoding error, for InvalidArg and MalformedArgs
}

// Error implements error.
func (e *ArgsError) Error() string {
	switch e.Kind {
	case MissingArg:
		return fmt.Sprintf("missing argument %q", e.Arg)
	case UnexpectedArg:
		return fmt.Sprintf("unexpected argument %q", e.Arg)
	case InvalidArg:
		return fmt.Sprintf("argument %q: %s", e.Arg, bareMessage(e.Err))
	}
	return "malformed arguments: " + bareMessage(e.Err)
}

// Unwrap returns the decoding error, if any.
func (e *ArgsError) Unwrap() error { return e.Err }

// bareMessage is an error's text without this package's prefix, which
// would only clutter a message meant for the remote caller.
func bareMessage(err error) string {
	if err == nil {
		return "no detail"
	}
	var te *TypeError
	if errors.As(err, &te) && te == err {
		return te.message()
	}
	return strings.TrimPrefix(err.Error(), "codec: ")
}

// DecodeArgs decodes a lymph REQ body, a msgpack map of keyword arguments,
// into v, which must point to a struct or to a map with string keys.
//
// For a struct, each key must name a field (see ArgNames) and each required
// field must be given; a field is optional when its msgpack tag has
// omitempty, when it is a pointer, when it is reached through an embedded
// pointer, or when it is tagged `lymph:"optional"`. Fields the body does not
// mention keep their values, so the caller may preset defaults. A nil
// argument sets the zero value.
//
// An empty body, or nil, counts as no arguments. A body that is not a map
// is an error, as is any key that is not text (bin keys, which Python 2
// peers send, count as text).
//
// Every failure is an *ArgsError; v may then be partly filled.
func DecodeArgs(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	if err := CheckArgsType(rv.Type().Elem()); err != nil {
		return err
	}
	d := getDecodeState(data)
	defer putDecodeState(d)
	return d.decodeArgs(rv.Elem())
}

// CheckArgsType reports whether DecodeArgs can decode into a value of type
// t: a struct, or a map with string keys. Registries call it once per
// method, so that a bad signature fails at install rather than per call.
func CheckArgsType(t reflect.Type) error {
	switch {
	case t.Kind() == reflect.Struct && !isSpecial(t):
		return nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		return nil
	}
	return fmt.Errorf("codec: arguments decode into a struct or a map with string keys, not %s", t)
}

// ArgNames returns the keyword argument names a struct type (or a pointer
// to one) takes, in field order, as lymph's inspect lists them in "params".
// It returns nil for maps and other types.
func ArgNames(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || isSpecial(t) {
		return nil
	}
	si := cachedStructInfo(t)
	names := make([]string, len(si.fields))
	for i := range si.fields {
		names[i] = si.fields[i].name
	}
	return names
}

func (d *decodeState) decodeArgs(v reflect.Value) error {
	n := 0
	if len(d.data) > 0 {
		c, err := d.peek()
		if err != nil {
			return malformed(err)
		}
		if kindOf(c) == kindExt {
			// An embedded document holding the map: unwrap it.
			d.off++
			typ, size, err := d.extHeader(c)
			if err != nil {
				return malformed(err)
			}
			if typ != extEmbedded {
				return malformed(fmt.Errorf("arguments must be a map, not ext %d", typ))
			}
			inner, _ := d.next(size)
			if d.off != len(d.data) {
				return malformed(d.errorf("%d bytes after the end of the document", len(d.data)-d.off))
			}
			*d = decodeState{reader: reader{data: inner}, depth: 1}
			if c, err = d.peek(); err != nil {
				return malformed(err)
			}
		}
		switch kindOf(c) {
		case kindNil:
			d.off++
		case kindMap:
			d.off++
			if n, err = d.mapLen(c); err != nil {
				return malformed(err)
			}
		default:
			return malformed(fmt.Errorf("arguments must be a map, not %s", d.describe()))
		}
	}
	var err error
	if v.Kind() == reflect.Map {
		err = d.argsMap(v, n)
	} else {
		err = d.argsStruct(v, n)
	}
	if err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return malformed(err)
	}
	return nil
}

func malformed(err error) error {
	return &ArgsError{Kind: MalformedArgs, Err: err}
}

// argName reads a key of the arguments map.
func (d *decodeState) argName() ([]byte, error) {
	c, err := d.readByte()
	if err != nil {
		return nil, malformed(err)
	}
	if k := kindOf(c); k != kindStr && k != kindBin {
		d.off--
		return nil, malformed(fmt.Errorf("argument names must be text, not %s", d.describe()))
	}
	p, err := d.readBytes(c)
	if err != nil {
		return nil, malformed(err)
	}
	return p, nil
}

// argError turns a decoding error of argument name into an ArgsError.
func argError(name string, err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return malformed(err)
	}
	return &ArgsError{Kind: InvalidArg, Arg: name, Err: err}
}

func (d *decodeState) argsStruct(v reflect.Value, n int) error {
	si := cachedStructInfo(v.Type())
	// seen marks the fields given; a word on the stack serves most structs.
	var small [1]uint64
	seen := small[:]
	if len(si.fields) > 64 {
		seen = make([]uint64, (len(si.fields)+63)/64)
	}
	for range n {
		name, err := d.argName()
		if err != nil {
			return err
		}
		i, ok := si.byName[string(name)]
		if !ok {
			return &ArgsError{Kind: UnexpectedArg, Arg: string(name)}
		}
		f := &si.fields[i]
		if err := f.dec(d, fieldByIndexAlloc(v, f.index)); err != nil {
			return argError(f.name, err)
		}
		seen[i/64] |= 1 << (i % 64)
	}
	for i := range si.fields {
		if f := &si.fields[i]; !f.optional && seen[i/64]&(1<<(i%64)) == 0 {
			return &ArgsError{Kind: MissingArg, Arg: f.name}
		}
	}
	return nil
}

func (d *decodeState) argsMap(v reflect.Value, n int) error {
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, n))
	}
	if m, ok := v.Interface().(map[string]any); ok {
		for range n {
			name, err := d.argName()
			if err != nil {
				return err
			}
			key := internKey(name)
			x, err := d.decodeAny()
			if err != nil {
				return argError(key, err)
			}
			m[key] = x
		}
		return nil
	}
	elemDec := typeDecoder(t.Elem())
	kv := reflect.New(t.Key()).Elem()
	ev := reflect.New(t.Elem()).Elem()
	for range n {
		name, err := d.argName()
		if err != nil {
			return err
		}
		kv.SetString(string(name))
		ev.SetZero()
		if err := elemDec(d, ev); err != nil {
			return argError(kv.String(), err)
		}
		v.SetMapIndex(kv, ev)
	}
	return nil
}
