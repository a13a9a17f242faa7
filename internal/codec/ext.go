package codec

import (
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// lymph's serializer sends some Python values as a two-key map
// {"__type__": NAME, "_": VALUE} (PROTOCOL.md, "Bodies"), with "__type__"
// first, and embeds whole msgpack documents as extension type 101. This
// file maps those to Go types and back.

const (
	typeKey  = "__type__"
	valueKey = "_"

	// extEmbedded is lymph's extension type for a nested msgpack document
	// (lymph.serializers.base.EMBEDDED_MSGPACK_TYPE).
	extEmbedded int8 = 101
	// extTimestamp is msgpack's own timestamp extension. We never write it
	// (Python's lymph would not understand it) but read it as time.Time,
	// since other msgpack peers send it.
	extTimestamp int8 = -1
)

// Names of the lymph types, as they appear in "__type__".
const (
	nameDatetime = "datetime"
	nameDate     = "date"
	nameTime     = "time"
	nameDecimal  = "Decimal"
	nameUUID     = "UUID"
	nameSet      = "set"
)

// Set is an unordered collection of distinct values: lymph's "set", Python's
// set and frozenset. On the wire it is the array of its members inside a
// lymph {"__type__": "set"} map. Decoding a set into any gives a Set;
// decoding it into a typed slice such as []string works too. A nil Set is
// sent as nil. Encoding does not check that the members are distinct:
// Python's set() folds duplicates.
type Set []any

// Embedded is a msgpack document sent inside another as lymph's extension
// type 101 (what lymph's raw_embed produces). It lets a service forward an
// already encoded body without decoding it. Decoding never produces an
// Embedded for an any target: type 101 is unwrapped transparently there.
// Decoding into an Embedded keeps the document of a type 101 value, or the
// raw bytes of any other value. A nil Embedded is sent as nil.
type Embedded []byte

// Raw is a msgpack document kept undecoded. Encoding a Raw writes its bytes
// as they are (they must be one well-formed document; an empty Raw is sent
// as nil); decoding into a Raw stores a copy of the next document.
type Raw []byte

// Ext is a msgpack extension value of a type lymph does not define. Decoding
// an unknown extension into any gives an Ext, and encoding it writes the
// same extension back.
type Ext struct {
	Type int8
	Data []byte
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	dateType      = reflect.TypeFor[Date]()
	timeOfDayType = reflect.TypeFor[TimeOfDay]()
	decimalType   = reflect.TypeFor[Decimal]()
	uuidType      = reflect.TypeFor[uuid.UUID]()
	setType       = reflect.TypeFor[Set]()
	embeddedType  = reflect.TypeFor[Embedded]()
	rawType       = reflect.TypeFor[Raw]()
	extType       = reflect.TypeFor[Ext]()
	anyType       = reflect.TypeFor[any]()
)

// isSpecial reports whether t is one of the types this package maps to a
// lymph or msgpack extension value; these are never treated as structs,
// byte arrays or strings.
func isSpecial(t reflect.Type) bool {
	switch t {
	case timeType, dateType, timeOfDayType, decimalType, uuidType, setType, embeddedType, rawType, extType:
		return true
	}
	return false
}

// appendEnvelope writes the start of a lymph typed map, up to the "_" key;
// the caller appends the value.
func appendEnvelope(b []byte, name string) []byte {
	b = append(b, fixMapLow|2)
	b = appendStr(b, typeKey)
	b = appendStr(b, name)
	return appendStr(b, valueKey)
}

// envelope locates the parts of a lymph typed map in the input.
type envelope struct {
	name     string
	valStart int // offset of the "_" value
	valEnd   int // just after it
	end      int // just after the whole map
}

// peekEnvelope reports whether the next value is a lymph typed map, without
// consuming anything. The keys may come in either order (Python 2 dicts had
// no fixed order); bin keys and names count as text, as Python 2 sent them.
func (d *decodeState) peekEnvelope() (envelope, bool) {
	var env envelope
	r := d.reader // a copy: peeking must not move d
	c, err := r.readByte()
	if err != nil || kindOf(c) != kindMap {
		return env, false
	}
	if n, err := r.mapLen(c); err != nil || n != 2 {
		return env, false
	}
	haveName, haveVal := false, false
	for range 2 {
		c, err := r.readByte()
		if err != nil || (kindOf(c) != kindStr && kindOf(c) != kindBin) {
			return env, false
		}
		key, err := r.readBytes(c)
		if err != nil {
			return env, false
		}
		switch string(key) {
		case typeKey:
			c, err := r.readByte()
			if err != nil || (kindOf(c) != kindStr && kindOf(c) != kindBin) {
				return env, false
			}
			name, err := r.readBytes(c)
			if err != nil {
				return env, false
			}
			env.name = internName(name)
			haveName = true
		case valueKey:
			env.valStart = r.off
			if r.skip() != nil {
				return env, false
			}
			env.valEnd = r.off
			haveVal = true
		default:
			return env, false
		}
	}
	if !haveName || !haveVal {
		return env, false
	}
	env.end = r.off
	return env, true
}

// internName returns the lymph type names without allocating.
func internName(p []byte) string {
	switch string(p) {
	case nameDatetime:
		return nameDatetime
	case nameDate:
		return nameDate
	case nameTime:
		return nameTime
	case nameDecimal:
		return nameDecimal
	case nameUUID:
		return nameUUID
	case nameSet:
		return nameSet
	}
	return string(p)
}

// knownName reports whether name is a lymph type this package decodes.
func knownName(name string) bool {
	switch name {
	case nameDatetime, nameDate, nameTime, nameDecimal, nameUUID, nameSet:
		return true
	}
	return false
}

// envelopeText returns the text value of env and moves past the whole map.
func (d *decodeState) envelopeText(env envelope, target reflect.Type) (string, error) {
	d.off = env.valStart
	c, err := d.readByte()
	if err != nil {
		return "", err
	}
	if k := kindOf(c); k != kindStr && k != kindBin {
		return "", &TypeError{Value: env.name + " holding " + k.String(), Type: target}
	}
	p, err := d.readBytes(c)
	if err != nil {
		return "", err
	}
	d.off = env.end
	return string(p), nil
}

// decodeEnvelopeAny turns a known lymph typed map into its Go value.
func (d *decodeState) decodeEnvelopeAny(env envelope) (any, error) {
	if env.name == nameSet {
		d.off = env.valStart
		c, err := d.peek()
		if err != nil {
			return nil, err
		}
		if kindOf(c) != kindArray {
			return nil, &TypeError{Value: "set holding " + kindOf(c).String(), Type: setType}
		}
		v, err := d.decodeAny()
		if err != nil {
			return nil, err
		}
		d.off = env.end
		return Set(v.([]any)), nil
	}
	var target reflect.Type
	switch env.name {
	case nameDatetime:
		target = timeType
	case nameDate:
		target = dateType
	case nameTime:
		target = timeOfDayType
	case nameDecimal:
		target = decimalType
	case nameUUID:
		target = uuidType
	}
	text, err := d.envelopeText(env, target)
	if err != nil {
		return nil, err
	}
	v, err := parseText(env.name, text)
	if err != nil {
		return nil, &TypeError{Value: env.name, Type: target, Err: err}
	}
	return v, nil
}

// parseText parses the text of a lymph typed value named name.
func parseText(name, text string) (any, error) {
	switch name {
	case nameDatetime:
		return ParseDatetime(text)
	case nameDate:
		return ParseDate(text)
	case nameTime:
		return ParseTimeOfDay(text)
	case nameDecimal:
		return ParseDecimal(text)
	case nameUUID:
		return uuid.Parse(text)
	}
	return nil, fmt.Errorf("unknown lymph type %q", name)
}

// decodeTimestamp reads the payload of msgpack's timestamp extension:
// 4 bytes of seconds, 8 bytes of 30-bit nanoseconds and 34-bit seconds, or
// 12 bytes of 32-bit nanoseconds and 64-bit seconds.
func decodeTimestamp(p []byte) (time.Time, error) {
	var sec int64
	var nsec int64
	switch len(p) {
	case 4:
		sec = int64(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
	case 8:
		var n uint64
		for _, c := range p {
			n = n<<8 | uint64(c)
		}
		nsec = int64(n >> 34)
		sec = int64(n & (1<<34 - 1))
	case 12:
		for _, c := range p[:4] {
			nsec = nsec<<8 | int64(c)
		}
		var n uint64
		for _, c := range p[4:] {
			n = n<<8 | uint64(c)
		}
		sec = int64(n)
	default:
		return time.Time{}, fmt.Errorf("timestamp of %d bytes", len(p))
	}
	if nsec > 999999999 {
		return time.Time{}, fmt.Errorf("timestamp nanoseconds %d out of range", nsec)
	}
	return time.Unix(sec, nsec).UTC(), nil
}
