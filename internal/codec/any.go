package codec

import (
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// any decodes the next value as `any`: integers keep their wire width
// (int8 ... int64, uint8 ... uint64, a positive fixint as int8), as
// vmihailenco/msgpack decodes them; str is string and bin []byte; arrays
// are []any; maps are map[string]any when every key is text, else
// map[any]any, and lymph's {"__type__", "_"} maps become their Go values;
// extension 101 is a Nested.
func (d *decState) any() (any, error) {
	c, err := d.r.byte()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return int8(c), nil
	case c >= 0xe0:
		return int8(c), nil
	case c <= 0x8f:
		d.r.off--
		return d.anyMap()
	case c <= 0x9f:
		d.r.off--
		return d.anyList()
	case c <= 0xbf:
		b, err := d.r.next(int(c & 0x1f))
		return string(b), err
	}
	switch c {
	case codeNil:
		return nil, nil
	case codeFalse:
		return false, nil
	case codeTrue:
		return true, nil
	case codeFloat:
		f, err := d.r.float(c)
		return float32(f), err
	case codeDouble:
		return d.r.float(c)
	case codeUint8:
		u, err := d.r.uintN(1)
		return uint8(u), err
	case codeUint16:
		u, err := d.r.uintN(2)
		return uint16(u), err
	case codeUint32:
		u, err := d.r.uintN(4)
		return uint32(u), err
	case codeUint64:
		return d.r.uintN(8)
	case codeInt8:
		u, err := d.r.uintN(1)
		return int8(u), err
	case codeInt16:
		u, err := d.r.uintN(2)
		return int16(u), err
	case codeInt32:
		u, err := d.r.uintN(4)
		return int32(u), err
	case codeInt64:
		u, err := d.r.uintN(8)
		return int64(u), err
	case codeStr8, codeStr16, codeStr32:
		n, _, err := d.r.bytesLen(c)
		if err != nil {
			return nil, err
		}
		b, err := d.r.next(n)
		return string(b), err
	case codeBin8, codeBin16, codeBin32:
		n, _, err := d.r.bytesLen(c)
		if err != nil {
			return nil, err
		}
		b, err := d.r.next(n)
		return copyBytes(b), err
	case codeArray16, codeArray32:
		d.r.off--
		return d.anyList()
	case codeMap16, codeMap32:
		d.r.off--
		return d.anyMap()
	}
	if kindOf(c) == kindExt {
		d.r.off--
		n, err := d.nested()
		if err != nil {
			return nil, err
		}
		return public(lkNested, n), nil
	}
	return nil, invalid(fmt.Errorf("malformed msgpack: code 0x%02x", c))
}

func (d *decState) anyList() (any, error) {
	c, _ := d.r.byte()
	n, err := d.r.containerLen(c)
	if err != nil {
		return nil, err
	}
	s := make([]any, 0, min(n, len(d.r.data)-d.r.off))
	for i := range n {
		x, err := d.any()
		if err != nil {
			return nil, within(err, indexSeg(i))
		}
		s = append(s, x)
	}
	return s, nil
}

// anyMap decodes a map into map[string]any while its keys are text,
// switching to map[any]any at the first key that is not; a two-entry map
// may be one of lymph's values.
func (d *decState) anyMap() (any, error) {
	start := d.r.off
	c, _ := d.r.byte()
	n, err := d.r.containerLen(c)
	if err != nil {
		return nil, err
	}
	if n == 2 && d.envelopeKeyNext() {
		body := d.r.off
		d.r.off = start
		if v, ok := d.lymphValue(); ok {
			return v, nil
		}
		d.r.off = body
	}
	m := make(map[string]any, min(n, 16))
	for i := range n {
		key, err := d.anyKey()
		if err != nil {
			return nil, err
		}
		ks, isText := key.(string)
		if !isText {
			return d.anyMapRest(m, key, n-i)
		}
		x, err := d.any()
		if err != nil {
			return nil, within(err, ks)
		}
		m[ks] = x
	}
	return m, nil
}

// envelopeKeyNext reports, without moving, whether the next value is the
// str "__type__" or "_": whether a map may be one of lymph's values.
func (d *decState) envelopeKeyNext() bool {
	rest := d.r.data[d.r.off:]
	return (len(rest) >= 9 && rest[0] == 0xa8 && string(rest[1:9]) == typeKey) ||
		(len(rest) >= 2 && rest[0] == 0xa1 && rest[1] == '_')
}

// anyMapRest goes on with a map that turned out to have a key that is not
// text: key, whose value is next, and left-1 entries after it.
func (d *decState) anyMapRest(done map[string]any, key any, left int) (any, error) {
	m := make(map[any]any, len(done)+min(left, 16))
	for k, v := range done {
		m[k] = v
	}
	for i := range left {
		if i > 0 {
			var err error
			if key, err = d.anyKey(); err != nil {
				return nil, err
			}
		}
		x, err := d.any()
		if err != nil {
			return nil, within(err, fmt.Sprintf("[%v]", key))
		}
		m[key] = x
	}
	return m, nil
}

// anyKey decodes a map key: bin as text (Python 2 peers sent text keys as
// bin), and only values a Go map can be keyed by.
func (d *decState) anyKey() (any, error) {
	c, err := d.r.peek()
	if err != nil {
		return nil, err
	}
	switch kindOf(c) {
	case kindBin:
		b, err := d.text("a key")
		return string(b), err
	case kindArray, kindMap, kindExt:
		return nil, &DecodeError{Want: "a map key that can key a Go map", Got: kindOf(c).String()}
	}
	return d.any()
}

// lymphValue decodes {"__type__": NAME, "_": VALUE} into its Go value. An
// unknown NAME, or a VALUE that does not parse, leaves the map a map: data
// is never lost to a name this side does not know. ok is false, and the
// reader's position undefined, when the map is not one.
func (d *decState) lymphValue() (v any, ok bool) {
	name, valueOff, err := d.envelope("")
	if err != nil {
		return nil, false
	}
	end := d.r.off
	d.r.off = valueOff
	defer func() {
		if ok {
			d.r.off = end
		}
	}()
	if name == nameSet {
		c, err := d.r.peek()
		if err != nil || kindOf(c) != kindArray {
			return nil, false
		}
		list, err := d.anyList()
		if err != nil {
			return nil, false
		}
		return public(lkSet, Set(list.([]any))), true
	}
	c, err := d.r.peek()
	if err != nil || kindOf(c) != kindStr {
		return nil, false
	}
	b, err := d.text("")
	if err != nil {
		return nil, false
	}
	x, err := parseLymph(name, string(b))
	return x, err == nil && x != nil
}

// parseLymph parses the text of a lymph value named name; nil for a name
// this side does not know.
func parseLymph(name, text string) (any, error) {
	switch name {
	case nameDatetime:
		return ParseDatetime(text)
	case nameDate:
		d, err := ParseDate(text)
		return public(lkDate, d), err
	case nameTime:
		t, err := ParseTimeOfDay(text)
		return public(lkTimeOfDay, t), err
	case nameDecimal:
		x, err := ParseDecimal(text)
		return public(lkDecimal, x), err
	case nameUUID:
		return uuid.Parse(text)
	}
	return nil, nil
}

// nested reads extension 101 and decodes the document it carries.
func (d *decState) nested() (Nested, error) {
	c, _ := d.r.byte()
	typ, data, err := d.r.ext(c)
	if err != nil {
		return Nested{}, err
	}
	if typ != nestedExtID {
		return Nested{}, invalid(fmt.Errorf("extension type %d; lymph uses only %d", typ, nestedExtID))
	}
	inner := decState{r: reader{data: data}}
	v, err := inner.any()
	if err != nil {
		return Nested{}, err
	}
	if inner.r.off != len(data) {
		return Nested{}, invalid(fmt.Errorf("nested document: %d bytes after it", len(data)-inner.r.off))
	}
	return Nested{Value: v}, nil
}

// lymphDecoder decodes one of lymph's values into a typed target: its
// envelope (nil gives the zero value), a nested document, or a raw copy.
func lymphDecoder(k lymphKind, t reflect.Type) decFunc {
	switch k {
	case lkSet:
		elem := decoderFor(t.Elem())
		return func(d *decState, v reflect.Value) error {
			n, end, err := d.arrayOrSet()
			if err != nil || n < 0 {
				if err == nil {
					v.SetZero()
				}
				return err
			}
			s := reflect.MakeSlice(t, 0, min(n, 1<<12))
			for i := range n {
				x := reflect.New(t.Elem()).Elem()
				if err := elem(d, x); err != nil {
					return within(err, indexSeg(i))
				}
				s = reflect.Append(s, x)
			}
			v.Set(s)
			if end >= 0 {
				d.r.off = end
			}
			return nil
		}
	case lkNested:
		return func(d *decState, v reflect.Value) error {
			if d.nilNext() {
				v.SetZero()
				return nil
			}
			c, err := d.r.peek()
			if err != nil {
				return err
			}
			if kindOf(c) != kindExt {
				return mismatch("a nested document (extension 101)", c)
			}
			n, err := d.nested()
			if err != nil {
				return err
			}
			if n.Value != nil {
				v.Field(0).Set(reflect.ValueOf(n.Value))
			} else {
				v.SetZero()
			}
			return nil
		}
	case lkRaw:
		return func(d *decState, v reflect.Value) error {
			if d.nilNext() {
				v.SetZero()
				return nil
			}
			raw, err := d.rawValue()
			if err == nil {
				v.SetBytes(raw)
			}
			return err
		}
	}
	name := map[lymphKind]string{lkTime: nameDatetime, lkUUID: nameUUID, lkDate: nameDate,
		lkTimeOfDay: nameTime, lkDecimal: nameDecimal}[k]
	want := "a lymph " + name
	return func(d *decState, v reflect.Value) error {
		if d.nilNext() {
			v.SetZero()
			return nil
		}
		got, valueOff, err := d.envelope(want)
		if err != nil {
			return err
		}
		if got != name {
			return &DecodeError{Want: want, Got: "a lymph " + got}
		}
		end := d.r.off
		d.r.off = valueOff
		b, err := d.text("the text of " + want)
		d.r.off = end
		if err != nil {
			return err
		}
		if k == lkTime && v.CanAddr() {
			// The common case, without boxing the time in an interface.
			t, err := ParseDatetime(string(b))
			if err != nil {
				return invalid(err)
			}
			*v.Addr().Interface().(*time.Time) = t
			return nil
		}
		x, err := parseLymph(name, string(b))
		if err != nil {
			return invalid(err)
		}
		rv := reflect.ValueOf(x)
		if rv.Type() != t {
			rv = rv.Convert(t)
		}
		v.Set(rv)
		return nil
	}
}
