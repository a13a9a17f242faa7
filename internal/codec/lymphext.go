package codec

import (
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/vmihailenco/msgpack/v5"
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
// where the target is `any` decodes to a Set; it also decodes into a typed
// slice.
type Set []any

// Nested is a msgpack document carried in extension 101, as lymph nests
// them. Decoding one into `any` gives a Nested holding the decoded
// document.
type Nested struct{ Value any }

// datetime is time.Time in lymph's form, for times held in interfaces.
type datetime time.Time

func init() {
	msgpack.Register(time.Time{}, encodeTime, decodeTime)
	msgpack.Register(uuid.UUID{}, encodeUUID, decodeUUID)
	msgpack.Register(map[string]any(nil), encodeStringMap, nil)
	msgpack.RegisterExtEncoder(nestedExtID, Nested{}, func(e *msgpack.Encoder, v reflect.Value) ([]byte, error) {
		return Marshal(v.Interface().(Nested).Value)
	})
	msgpack.RegisterExtDecoder(nestedExtID, Nested{}, func(d *msgpack.Decoder, v reflect.Value, extLen int) error {
		b := make([]byte, extLen)
		if err := d.ReadFull(b); err != nil {
			return err
		}
		var inner any
		if err := Unmarshal(b, &inner); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(Nested{Value: inner}))
		return nil
	})
}

// encodeEnvelope writes {"__type__": name, "_": text}, key order as lymph
// writes it.
func encodeEnvelope(e *msgpack.Encoder, name, text string) error {
	if err := encodeEnvelopeHead(e, name); err != nil {
		return err
	}
	return e.EncodeString(text)
}

func encodeEnvelopeHead(e *msgpack.Encoder, name string) error {
	if err := e.EncodeMapLen(2); err != nil {
		return err
	}
	if err := e.EncodeString(typeKey); err != nil {
		return err
	}
	if err := e.EncodeString(name); err != nil {
		return err
	}
	return e.EncodeString(valueKey)
}

// decodeEnvelopeText reads {"__type__": want, "_": text} and returns text.
// A nil reads as absent, so optional fields may be nil.
func decodeEnvelopeText(d *msgpack.Decoder, want string) (text string, ok bool, err error) {
	code, err := d.PeekCode()
	if err != nil {
		return "", false, err
	}
	if code == 0xc0 {
		return "", false, d.DecodeNil()
	}
	n, err := d.DecodeMapLen()
	if err != nil {
		return "", false, fmt.Errorf("want a lymph %s value: %w", want, err)
	}
	if n != 2 {
		return "", false, fmt.Errorf("want a lymph %s value, got a map of %d entries", want, n)
	}
	var name string
	for range 2 {
		key, err := d.DecodeString()
		if err != nil {
			return "", false, err
		}
		switch key {
		case typeKey:
			name, err = d.DecodeString()
		case valueKey:
			text, err = d.DecodeString()
		default:
			err = fmt.Errorf("want a lymph %s value, got key %q", want, key)
		}
		if err != nil {
			return "", false, err
		}
	}
	if name != want {
		return "", false, fmt.Errorf("want a lymph %s value, got %q", want, name)
	}
	return text, true, nil
}

func encodeTime(e *msgpack.Encoder, v reflect.Value) error {
	return datetime(v.Interface().(time.Time)).EncodeMsgpack(e)
}

func decodeTime(d *msgpack.Decoder, v reflect.Value) error {
	text, ok, err := decodeEnvelopeText(d, nameDatetime)
	if err != nil || !ok {
		return err
	}
	t, err := ParseDatetime(text)
	if err != nil {
		return err
	}
	v.Set(reflect.ValueOf(t))
	return nil
}

// EncodeMsgpack writes the time as lymph's datetime.
func (t datetime) EncodeMsgpack(e *msgpack.Encoder) error {
	b, err := appendWireDatetime(nil, time.Time(t))
	if err != nil {
		return err
	}
	return encodeEnvelope(e, nameDatetime, string(b))
}

func encodeUUID(e *msgpack.Encoder, v reflect.Value) error {
	return encodeEnvelope(e, nameUUID, v.Interface().(uuid.UUID).String())
}

func decodeUUID(d *msgpack.Decoder, v reflect.Value) error {
	text, ok, err := decodeEnvelopeText(d, nameUUID)
	if err != nil || !ok {
		return err
	}
	u, err := uuid.Parse(text)
	if err != nil {
		return err
	}
	v.Set(reflect.ValueOf(u))
	return nil
}

// EncodeMsgpack writes the date as lymph's date; the zero Date, which is
// no date, as nil.
func (d Date) EncodeMsgpack(e *msgpack.Encoder) error {
	if d.IsZero() {
		return e.EncodeNil()
	}
	if !d.Valid() {
		return &ValueError{Type: dateType, Msg: "invalid date " + d.String()}
	}
	return encodeEnvelope(e, nameDate, d.String())
}

// DecodeMsgpack reads lymph's date.
func (d *Date) DecodeMsgpack(dec *msgpack.Decoder) error {
	text, ok, err := decodeEnvelopeText(dec, nameDate)
	if err != nil || !ok {
		return err
	}
	*d, err = ParseDate(text)
	return err
}

// EncodeMsgpack writes the time of day as lymph's time.
func (t TimeOfDay) EncodeMsgpack(e *msgpack.Encoder) error {
	b, err := appendWireTime(nil, t)
	if err != nil {
		return err
	}
	return encodeEnvelope(e, nameTime, string(b))
}

// DecodeMsgpack reads lymph's time.
func (t *TimeOfDay) DecodeMsgpack(dec *msgpack.Decoder) error {
	text, ok, err := decodeEnvelopeText(dec, nameTime)
	if err != nil || !ok {
		return err
	}
	*t, err = ParseTimeOfDay(text)
	return err
}

// EncodeMsgpack writes the decimal as lymph's Decimal; the empty Decimal,
// which is no number, as nil.
func (d Decimal) EncodeMsgpack(e *msgpack.Encoder) error {
	if d == "" {
		return e.EncodeNil()
	}
	if !d.Valid() {
		return fmt.Errorf("invalid decimal %q", string(d))
	}
	return encodeEnvelope(e, nameDecimal, string(d))
}

// DecodeMsgpack reads lymph's Decimal.
func (d *Decimal) DecodeMsgpack(dec *msgpack.Decoder) error {
	text, ok, err := decodeEnvelopeText(dec, nameDecimal)
	if err != nil || !ok {
		return err
	}
	*d, err = ParseDecimal(text)
	return err
}

// EncodeMsgpack writes the set as lymph's set.
func (s Set) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := encodeEnvelopeHead(e, nameSet); err != nil {
		return err
	}
	return e.Encode([]any(s))
}

// DecodeMsgpack reads lymph's set, or a plain array.
func (s *Set) DecodeMsgpack(dec *msgpack.Decoder) error {
	v, err := dec.DecodeInterface()
	if err != nil {
		return err
	}
	if set, ok := v.(Set); ok {
		*s = set
		return nil
	}
	switch x := v.(type) {
	case nil:
		*s = nil
	case []any:
		*s = x
	default:
		return fmt.Errorf("want a lymph set, got %T", v)
	}
	return nil
}

// decodeMap decodes every map met where the target is `any`: keys of any
// msgpack type, and lymph's extension values turned into Go values.
func decodeMap(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n == -1 {
		return nil, err
	}
	// A map's declared length is the sender's claim: grow as entries
	// arrive instead of trusting it with an allocation.
	keys := make([]any, 0, min(n, 16))
	values := make([]any, 0, min(n, 16))
	allText := true
	for i := range n {
		key, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
		switch k := key.(type) {
		case string:
		case []byte:
			// Bytes cannot key a Go map; their text can, and Python 2
			// peers sent text keys as bin.
			keys[i] = string(k)
		case []any, map[string]any, map[any]any, Set:
			return nil, fmt.Errorf("map key of type %T cannot be a Go map key", k)
		default:
			allText = false
		}
		value, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		values = append(values, value)
	}
	if allText {
		if n == 2 {
			if v, ok := envelope(keys, values); ok {
				return v, nil
			}
		}
		m := make(map[string]any, len(keys))
		for i := range keys {
			m[keys[i].(string)] = values[i]
		}
		return m, nil
	}
	m := make(map[any]any, len(keys))
	for i := range keys {
		m[keys[i]] = values[i]
	}
	return m, nil
}

// envelope turns {"__type__": NAME, "_": VALUE} into its Go value. An
// unknown NAME, or a VALUE that does not parse, leaves the map a map: data
// is never lost to a name this side does not know.
func envelope(keys, values []any) (any, bool) {
	var name, value any
	for i, k := range keys {
		switch k {
		case typeKey:
			name = values[i]
		case valueKey:
			value = values[i]
		default:
			return nil, false
		}
	}
	n, ok := name.(string)
	if !ok {
		return nil, false
	}
	if list, isList := value.([]any); isList && n == nameSet {
		return Set(list), true
	}
	text, ok := value.(string)
	if !ok {
		return nil, false
	}
	var (
		out any
		err error
	)
	switch n {
	case nameDatetime:
		out, err = ParseDatetime(text)
	case nameDate:
		out, err = ParseDate(text)
	case nameTime:
		out, err = ParseTimeOfDay(text)
	case nameDecimal:
		out, err = ParseDecimal(text)
	case nameUUID:
		out, err = uuid.Parse(text)
	default:
		return nil, false
	}
	if err != nil {
		return nil, false
	}
	return out, true
}
