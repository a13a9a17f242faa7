package codec

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// lymph's {"__type__": NAME, "_": VALUE} names.
const (
	typeKey      = "__type__"
	valueKey     = "_"
	nameDatetime = "datetime"
	nameDate     = "date"
	nameTime     = "time"
	nameDecimal  = "Decimal"
	nameUUID     = "UUID"
	nameSet      = "set"
)

// nestedExtID is the msgpack extension lymph uses for a nested document.
const nestedExtID = 101

// Set is lymph's set value: the members travel as an array. A set arriving
// where the target is `any` decodes to a Set (or the registered public
// type, see RegisterPublicTypes); it also decodes into a typed slice.
type Set []any

// Nested is a msgpack document carried in extension 101, as lymph nests
// them. Decoding one into `any` gives a Nested (or the registered public
// type) holding the decoded document.
type Nested struct{ Value any }

// Raw is a msgpack document kept undecoded: encoding a Raw writes its bytes
// as they are (a nil Raw as nil); decoding into a *Raw copies the document
// (nil gives a nil Raw).
type Raw []byte

// lymphKind names the Go types that travel in a form of lymph's own.
type lymphKind uint8

const (
	lkNone lymphKind = iota
	lkTime
	lkUUID
	lkDate
	lkTimeOfDay
	lkDecimal
	lkSet
	lkNested
	lkRaw
	lkCount
)

var (
	uuidType    = reflect.TypeFor[uuid.UUID]()
	decimalType = reflect.TypeFor[Decimal]()
	setType     = reflect.TypeFor[Set]()
	nestedType  = reflect.TypeFor[Nested]()
	rawType     = reflect.TypeFor[Raw]()
)

// PublicTypes are the types of the lymph package that stand for lymph's
// values in its API. Each must have the same underlying type as this
// package's type of the same name, so that values convert both ways.
type PublicTypes struct {
	Date, TimeOfDay, Decimal, Set, Nested reflect.Type
}

// registry is lymph's own table of its value types: this package's types,
// plus the public ones once registered. Nothing in it reaches
// vmihailenco/msgpack's process-wide registry.
type registry struct {
	kinds  map[reflect.Type]lymphKind
	public [lkCount]reflect.Type // what decoding into `any` yields
}

var lymphTypes atomic.Pointer[registry]

func init() {
	lymphTypes.Store(newRegistry(PublicTypes{}))
}

func newRegistry(p PublicTypes) *registry {
	r := &registry{kinds: map[reflect.Type]lymphKind{
		timeType: lkTime, uuidType: lkUUID, dateType: lkDate, timeOfDayType: lkTimeOfDay,
		decimalType: lkDecimal, setType: lkSet, nestedType: lkNested, rawType: lkRaw,
	}}
	r.public = [lkCount]reflect.Type{
		lkDate: dateType, lkTimeOfDay: timeOfDayType, lkDecimal: decimalType, lkSet: setType, lkNested: nestedType,
	}
	for k, t := range map[lymphKind]reflect.Type{lkDate: p.Date, lkTimeOfDay: p.TimeOfDay, lkDecimal: p.Decimal, lkSet: p.Set, lkNested: p.Nested} {
		if t == nil {
			continue
		}
		own := r.public[k]
		if t.Kind() != own.Kind() || !t.ConvertibleTo(own) || !own.ConvertibleTo(t) {
			panic(fmt.Sprintf("codec: RegisterPublicTypes: %s does not have the underlying type of %s", t, own))
		}
		r.kinds[t] = k
		r.public[k] = t
	}
	return r
}

// RegisterPublicTypes tells the codec the lymph package's types for its
// values: they encode as lymph's values, and decoding into `any` yields
// them instead of this package's types. The lymph package calls it from
// its init, before any encoding; a later call replaces the earlier one.
func RegisterPublicTypes(p PublicTypes) {
	lymphTypes.Store(newRegistry(p))
	// Encoders and decoders built before were built without these types.
	encoders.Clear()
	decoders.Clear()
	structInfos.Clear()
}

func lymphKindOf(t reflect.Type) lymphKind { return lymphTypes.Load().kinds[t] }

// public converts v, a value of this package's type for kind k, to the
// registered public type.
func public(k lymphKind, v any) any {
	t := lymphTypes.Load().public[k]
	rv := reflect.ValueOf(v)
	if t == nil || rv.Type() == t {
		return v
	}
	return rv.Convert(t).Interface()
}

// envelope heads: {"__type__": NAME, "_": as lymph writes them, "__type__"
// first.
var envelopeHeads = func() map[string][]byte {
	m := map[string][]byte{}
	for _, name := range []string{nameDatetime, nameDate, nameTime, nameDecimal, nameUUID, nameSet} {
		b := appendMapLen(nil, 2)
		b = appendStr(b, typeKey)
		b = appendStr(b, name)
		m[name] = appendStr(b, valueKey)
	}
	return m
}()

var (
	headDatetime = envelopeHeads[nameDatetime]
	headDate     = envelopeHeads[nameDate]
	headTime     = envelopeHeads[nameTime]
	headDecimal  = envelopeHeads[nameDecimal]
	headUUID     = envelopeHeads[nameUUID]
	headSet      = envelopeHeads[nameSet]
)

func (e *encState) appendTime(t time.Time) error {
	var text [40]byte
	b, err := appendWireDatetime(text[:0], t)
	if err != nil {
		return err
	}
	e.buf = append(e.buf, headDatetime...)
	e.buf = appendStrBytes(e.buf, b)
	return nil
}

// dateOf reads a Date, or a type of the same layout, field by field.
func dateOf(v reflect.Value) Date {
	return Date{Year: int(v.Field(0).Int()), Month: time.Month(v.Field(1).Int()), Day: int(v.Field(2).Int())}
}

func timeOfDayOf(v reflect.Value) TimeOfDay {
	return TimeOfDay{Hour: int(v.Field(0).Int()), Minute: int(v.Field(1).Int()),
		Second: int(v.Field(2).Int()), Nanosecond: int(v.Field(3).Int())}
}

func lymphEncoder(k lymphKind) encFunc {
	switch k {
	case lkTime:
		return func(e *encState, v reflect.Value) error {
			if v.CanAddr() {
				return e.appendTime(*v.Addr().Interface().(*time.Time))
			}
			return e.appendTime(v.Interface().(time.Time))
		}
	case lkUUID:
		return func(e *encState, v reflect.Value) error {
			var u uuid.UUID
			for i := range u {
				u[i] = byte(v.Index(i).Uint())
			}
			e.buf = append(e.buf, headUUID...)
			e.buf = appendUUIDText(e.buf, u)
			return nil
		}
	case lkDate:
		return func(e *encState, v reflect.Value) error {
			d := dateOf(v)
			if d.IsZero() { // no date: Python's None
				e.buf = appendNil(e.buf)
				return nil
			}
			if !d.Valid() {
				return &ValueError{Type: v.Type(), Msg: "invalid date " + d.String()}
			}
			var text [10]byte
			e.buf = append(e.buf, headDate...)
			e.buf = appendStrBytes(e.buf, d.appendText(text[:0]))
			return nil
		}
	case lkTimeOfDay:
		return func(e *encState, v reflect.Value) error {
			t := timeOfDayOf(v)
			if !t.Valid() {
				return &ValueError{Type: v.Type(), Msg: "invalid time " + t.String()}
			}
			var text [9]byte
			b, err := appendWireTime(text[:0], t)
			if err != nil {
				return err
			}
			e.buf = append(e.buf, headTime...)
			e.buf = appendStrBytes(e.buf, b)
			return nil
		}
	case lkDecimal:
		return func(e *encState, v reflect.Value) error {
			s := v.String()
			if s == "" { // no number: Python's None
				e.buf = appendNil(e.buf)
				return nil
			}
			if !validDecimal(s) {
				return &ValueError{Type: v.Type(), Msg: fmt.Sprintf("invalid decimal %q", s)}
			}
			e.buf = append(e.buf, headDecimal...)
			e.buf = appendStr(e.buf, s)
			return nil
		}
	case lkSet:
		return func(e *encState, v reflect.Value) error {
			e.buf = append(e.buf, headSet...)
			if v.IsNil() {
				// An empty set: Python's set() has no None.
				e.buf = appendArrayLen(e.buf, 0)
				return nil
			}
			return e.appendArray(v, encoderFor(v.Type().Elem()))
		}
	case lkNested:
		return func(e *encState, v reflect.Value) error {
			inner := encState{depth: e.depth + 1}
			if err := encoderFor(v.Type().Field(0).Type)(&inner, v.Field(0)); err != nil {
				return err
			}
			e.buf = appendExt(e.buf, nestedExtID, inner.buf)
			return nil
		}
	case lkRaw:
		return func(e *encState, v reflect.Value) error {
			if v.IsNil() {
				e.buf = appendNil(e.buf)
				return nil
			}
			e.buf = append(e.buf, v.Bytes()...)
			return nil
		}
	}
	panic("codec: no encoder for lymph kind")
}

// appendUUIDText writes u as a str in its canonical text form,
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as uuid.UUID.String does.
func appendUUIDText(b []byte, u uuid.UUID) []byte {
	const hexDigits = "0123456789abcdef"
	b = appendStrHeader(b, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0x0f])
	}
	return b
}
