package lymph

import (
	"reflect"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
)

// This file holds the Go types of lymph's extension values, the ones
// Python's datetime.date, datetime.time, decimal.Decimal and set travel as,
// and of a nested msgpack document. time.Time travels as lymph's datetime
// and github.com/google/uuid's UUID as its UUID. Decoded into `any`, those
// values come back as these types. They are plain Go values: encoding them
// is the codec's business, so they carry no msgpack methods.

func init() {
	// lymph's own registry of its value types: nothing reaches
	// vmihailenco/msgpack's process-wide one.
	codec.RegisterPublicTypes(codec.PublicTypes{
		Date:      reflect.TypeFor[Date](),
		TimeOfDay: reflect.TypeFor[TimeOfDay](),
		Decimal:   reflect.TypeFor[Decimal](),
		Set:       reflect.TypeFor[Set](),
		Nested:    reflect.TypeFor[Nested](),
	})
}

// Date is a calendar day without a time or zone: lymph's "date", Python's
// datetime.date. It travels as {"__type__": "date", "_": "YYYY-MM-DD"}.
//
// The zero Date (0000-00-00) is no day: it is sent as nil, so an unset Date
// field reaches Python as None, and a nil decodes into the zero Date. A
// Date that is not Valid cannot be sent: encoding it is an error.
type Date struct {
	Year  int        // 1 to 9999, the range of Python's datetime.date
	Month time.Month // 1 to 12
	Day   int        // 1 to the length of the month
}

// DateOf returns the day on which t falls, in t's own location.
func DateOf(t time.Time) Date { return Date(codec.DateOf(t)) }

// ParseDate parses the text form YYYY-MM-DD, which must name a day that
// exists (2023-02-29 is an error).
func ParseDate(s string) (Date, error) {
	d, err := codec.ParseDate(s)
	return Date(d), err
}

// String returns the text form YYYY-MM-DD (wider fields when d is out of
// range, so that a bad value shows as what it is).
func (d Date) String() string { return codec.Date(d).String() }

// IsZero reports whether d is the zero Date, which is sent as nil.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a day that Python's datetime.date can hold:
// year 1 to 9999, and a day that the month has.
func (d Date) Valid() bool { return codec.Date(d).Valid() }

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time { return codec.Date(d).In(loc) }

// MarshalText implements encoding.TextMarshaler (for JSON and logs): the
// text form YYYY-MM-DD. A Date that is not Valid is an error.
func (d Date) MarshalText() ([]byte, error) { return codec.Date(d).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseDate accepts.
func (d *Date) UnmarshalText(text []byte) error { return (*codec.Date)(d).UnmarshalText(text) }

// TimeOfDay is a wall-clock time without a date or zone: lymph's "time",
// Python's datetime.time. It travels as {"__type__": "time", "_":
// "HH:MM:SSZ"}: Python's lymph reads it with strptime("%H:%M:%SZ"), which
// takes no fraction, so Nanosecond is not sent. Decoding accepts a fraction
// (kept) and a zone (checked, then ignored). The zero TimeOfDay is
// midnight, and is sent as such. A TimeOfDay that is not Valid cannot be
// sent: encoding it is an error.
type TimeOfDay struct {
	Hour       int // 0 to 23
	Minute     int // 0 to 59
	Second     int // 0 to 59
	Nanosecond int // 0 to 999999999; not sent
}

// TimeOfDayOf returns the wall-clock time of t in t's own location.
func TimeOfDayOf(t time.Time) TimeOfDay { return TimeOfDay(codec.TimeOfDayOf(t)) }

// ParseTimeOfDay parses HH:MM:SS with an optional fraction of a second (up
// to nine digits are kept) and an optional zone (Z, ±hh:mm, ±hhmm or ±hh),
// which is checked and ignored.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, err := codec.ParseTimeOfDay(s)
	return TimeOfDay(t), err
}

// String returns HH:MM:SS, with a fraction of nine digits when Nanosecond
// is not zero.
func (t TimeOfDay) String() string { return codec.TimeOfDay(t).String() }

// Valid reports whether every field of t is within its range.
func (t TimeOfDay) Valid() bool { return codec.TimeOfDay(t).Valid() }

// On returns the instant at t on day d in loc.
func (t TimeOfDay) On(d Date, loc *time.Location) time.Time {
	return codec.TimeOfDay(t).On(codec.Date(d), loc)
}

// MarshalText implements encoding.TextMarshaler: the String form. A
// TimeOfDay that is not Valid is an error.
func (t TimeOfDay) MarshalText() ([]byte, error) { return codec.TimeOfDay(t).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseTimeOfDay accepts.
func (t *TimeOfDay) UnmarshalText(text []byte) error {
	return (*codec.TimeOfDay)(t).UnmarshalText(text)
}

// Decimal is a decimal number kept as its exact text: lymph's "Decimal",
// Python's decimal.Decimal. It keeps every digit a Python peer sent (no
// rounding through float64); convert it with the decimal library of your
// choice (most parse this text directly).
//
// The text follows Python's Decimal syntax without whitespace or
// underscores: an optional sign, then digits with an optional point and an
// optional exponent ("-12.50", "1E+3", ".5"), or one of Infinity, Inf, NaN
// and sNaN (any letter case; NaN may carry diagnostic digits). Encoding a
// Decimal whose text is anything else is an error, because Python's
// decimal.Decimal would fail on it and lose the whole message.
//
// The zero Decimal "" is no number: it is sent as nil, so an unset Decimal
// field reaches Python as None, and a nil decodes into "".
type Decimal string

// ParseDecimal checks that s is a decimal number as described at Decimal
// and returns it as one.
func ParseDecimal(s string) (Decimal, error) {
	d, err := codec.ParseDecimal(s)
	return Decimal(d), err
}

// String returns the text of d.
func (d Decimal) String() string { return string(d) }

// Valid reports whether d is a decimal number as described at Decimal.
func (d Decimal) Valid() bool { return codec.Decimal(d).Valid() }

// Set is a set of values: lymph's "set", Python's set. Its members travel
// as an array, {"__type__": "set", "_": [...]}, in the order of the slice
// (Python keeps no order); a nil Set is sent as an empty set. A set decodes
// into a Set, or into any slice of its members' type; a Set also decodes
// from a plain array. Members must be values Python can hash (no lists or
// maps) for a Python peer to build its set.
type Set []any

// Nested is a msgpack document carried inside another, in msgpack
// extension 101, as lymph nests them (Python's raw_embed). Value is the
// document: encoded in its place, and decoded (as into `any`) on receipt.
type Nested struct {
	Value any
}
