package codec

import (
	"errors"
	"reflect"
	"strings"
	"time"
)

var (
	dateType      = reflect.TypeFor[Date]()
	timeOfDayType = reflect.TypeFor[TimeOfDay]()
	timeType      = reflect.TypeFor[time.Time]()
)

var (
	errNotInteger = errors.New("not an integer")
	errNotFloat   = errors.New("not a float")
)

// ValueError reports a value lymph's wire cannot carry, such as a Date with
// month 13, a Decimal that is not a number, or a time.Time outside the
// years 1 to 9999 that Python allows.
type ValueError struct {
	Type reflect.Type
	Msg  string
}

// Error implements error.
func (e *ValueError) Error() string {
	if e.Type == nil {
		return "cannot encode: " + e.Msg
	}
	return "cannot encode " + e.Type.String() + ": " + e.Msg
}

// DecodeError says why a msgpack value does not fit the Go value it is
// decoded into: where the value sits, and what was wanted and found (or,
// for a value of the right kind that does not parse, why).
type DecodeError struct {
	// Path locates the value: "count", "tags[1]", "attrs.region"; empty
	// for the whole document.
	Path string
	// Want and Got describe a mismatch: "an integer", "a string".
	Want, Got string
	// Err is the cause when the kind was right but the value is not, such
	// as a datetime text that does not parse.
	Err error

	rev []string // Path's segments, innermost first, while unwinding
}

// Error says where and what: `field "count": want an integer, got a string`.
func (e *DecodeError) Error() string {
	if e.Path == "" {
		return e.message()
	}
	return `field "` + e.Path + `": ` + e.message()
}

func (e *DecodeError) message() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "want " + e.Want + ", got " + e.Got
}

// Unwrap returns the cause, if any.
func (e *DecodeError) Unwrap() error { return e.Err }

// mismatch is the error for a value of the wrong kind.
func mismatch(want string, c byte) error {
	return &DecodeError{Want: want, Got: kindOf(c).String()}
}

// invalid is the error for a value of the right kind that does not fit.
func invalid(err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		return err
	}
	return &DecodeError{Err: err}
}

// within records that err happened inside the field or key seg ("name")
// or element seg ("[3]"). Errors that are not a *DecodeError (a document
// cut short, say) carry no path.
func within(err error, seg string) error {
	if de, ok := err.(*DecodeError); ok {
		de.rev = append(de.rev, seg)
	}
	return err
}

// finish renders the path of a *DecodeError, once it has unwound to the top.
func finish(err error) error {
	de, ok := err.(*DecodeError)
	if !ok || len(de.rev) == 0 {
		return err
	}
	de.Path = joinPath(de.Path, de.rev)
	de.rev = nil
	return err
}

// joinPath appends the reversed segments rev to path.
func joinPath(path string, rev []string) string {
	var b strings.Builder
	b.WriteString(path)
	for i := len(rev) - 1; i >= 0; i-- {
		seg := rev[i]
		if seg == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}
