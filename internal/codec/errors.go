package codec

import (
	"fmt"
	"reflect"
)

// SyntaxError reports bytes that are not a well-formed msgpack document:
// truncated input, an invalid format code, trailing bytes, nesting deeper
// than the decoder allows.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was found
	Msg    string // what is wrong
}

func newSyntaxError(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("codec: malformed msgpack at byte %d: %s", e.Offset, e.Msg)
}

// TypeError reports a well-formed msgpack value that does not fit the Go
// value it is decoded into, such as a str for an int field, an int that
// overflows an int8, or a lymph datetime whose text is not a datetime.
type TypeError struct {
	// Value names what was found: a msgpack kind ("int", "str", "map"), a
	// lymph type name ("date"), or either with a short detail ("int 300").
	Value string
	// Type is the Go type the value was to be decoded into.
	Type reflect.Type
	// Path says where below the decoded value the mismatch sits, as
	// ".field", "[index]" or "[key]" steps; empty at the top.
	Path string
	// Err is an underlying cause, e.g. a parse error of a datetime text.
	Err error
}

// Error implements error.
func (e *TypeError) Error() string { return "codec: " + e.message() }

// message is the text without the package prefix, for ArgsError to embed.
func (e *TypeError) message() string {
	msg := "cannot decode " + e.Value + " into " + typeName(e.Type)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Path != "" {
		msg += " at " + e.Path
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *TypeError) Unwrap() error { return e.Err }

func typeName(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

// UnsupportedTypeError reports a Go value that msgpack cannot carry, such as
// a channel, a function or a complex number.
type UnsupportedTypeError struct {
	Type reflect.Type
}

// Error implements error.
func (e *UnsupportedTypeError) Error() string {
	return "codec: cannot encode value of type " + typeName(e.Type)
}

// ValueError reports a Go value of a supported type whose content lymph
// cannot carry, such as a Date with month 13, a Decimal that is not a
// number, or a time.Time outside the years 1 to 9999 that Python allows.
type ValueError struct {
	Type reflect.Type
	Msg  string
}

// Error implements error.
func (e *ValueError) Error() string {
	if e.Type == nil {
		return "codec: cannot encode: " + e.Msg
	}
	return "codec: cannot encode " + typeName(e.Type) + ": " + e.Msg
}

// InvalidUnmarshalError reports a target that Unmarshal cannot store into:
// nil, or not a pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

// Error implements error.
func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "codec: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "codec: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "codec: Unmarshal(nil " + e.Type.String() + ")"
}

// withPath prefixes step to the Path of a TypeError travelling up through a
// container; other errors pass unchanged. It runs only on the error path.
func withPath(err error, step string) error {
	if te, ok := err.(*TypeError); ok {
		te.Path = step + te.Path
	}
	return err
}
