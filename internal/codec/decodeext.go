package codec

import (
	"bytes"
	"reflect"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Decoders for the lymph typed values and the msgpack extensions. Each
// takes its lymph typed map, its bare text (what a caller that does not
// use lymph's serializer sends), or nil for the zero value.

// lymphText reads the text of a lymph typed value named name, either from
// its typed map or from a bare str or bin. null reports a nil.
func (d *decodeState) lymphText(name string, v reflect.Value, self decoderFunc) (text string, null bool, err error) {
	c, err := d.peek()
	if err != nil {
		return "", false, err
	}
	switch kindOf(c) {
	case kindNil:
		d.off++
		return "", true, nil
	case kindStr, kindBin:
		d.off++
		p, err := d.readBytes(c)
		return string(p), false, err
	case kindMap:
		if env, ok := d.peekEnvelope(); ok && env.name == name {
			text, err := d.envelopeText(env, v.Type())
			return text, false, err
		}
	}
	return "", false, d.mismatch(v, self)
}

func decodeTime(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == codeFixExt4 || c == codeFixExt8 || c == codeExt8 {
		// msgpack's own timestamp, as other msgpack peers send it.
		r := d.reader
		r.off++
		if typ, n, err := r.extHeader(c); err == nil && typ == extTimestamp {
			p, _ := r.next(n)
			t, err := decodeTimestamp(p)
			if err != nil {
				return &TypeError{Value: "msgpack timestamp", Type: timeType, Err: err}
			}
			d.off = r.off
			*v.Addr().Interface().(*time.Time) = t
			return nil
		}
	}
	text, null, err := d.lymphText(nameDatetime, v, decodeTime)
	if err != nil {
		return err
	}
	var t time.Time
	if !null {
		if t, err = ParseDatetime(text); err != nil {
			return &TypeError{Value: nameDatetime, Type: timeType, Err: err}
		}
	}
	*v.Addr().Interface().(*time.Time) = t
	return nil
}

func decodeDate(d *decodeState, v reflect.Value) error {
	text, null, err := d.lymphText(nameDate, v, decodeDate)
	if err != nil {
		return err
	}
	var date Date
	if !null {
		if date, err = ParseDate(text); err != nil {
			return &TypeError{Value: nameDate, Type: dateType, Err: err}
		}
	}
	*v.Addr().Interface().(*Date) = date
	return nil
}

func decodeTimeOfDay(d *decodeState, v reflect.Value) error {
	text, null, err := d.lymphText(nameTime, v, decodeTimeOfDay)
	if err != nil {
		return err
	}
	var t TimeOfDay
	if !null {
		if t, err = ParseTimeOfDay(text); err != nil {
			return &TypeError{Value: nameTime, Type: timeOfDayType, Err: err}
		}
	}
	*v.Addr().Interface().(*TimeOfDay) = t
	return nil
}

// decodeDecimal also takes integers, which are exact decimals.
func decodeDecimal(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if kindOf(c) == kindInt {
		d.off++
		i, u, big, err := d.readInt(c)
		if err != nil {
			return err
		}
		if big {
			v.SetString(strconv.FormatUint(u, 10))
		} else {
			v.SetString(strconv.FormatInt(i, 10))
		}
		return nil
	}
	text, null, err := d.lymphText(nameDecimal, v, decodeDecimal)
	if err != nil {
		return err
	}
	if !null && !validDecimal(text) {
		return &TypeError{Value: nameDecimal, Type: decimalType, Err: errorString("invalid decimal " + strconv.Quote(text))}
	}
	v.SetString(text)
	return nil
}

// decodeUUID takes the text forms Python's uuid.UUID accepts, and a bin of
// exactly 16 bytes as the raw UUID (what a Go msgpack peer sends).
func decodeUUID(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	p := v.Addr().Interface().(*uuid.UUID)
	if kindOf(c) == kindBin {
		r := d.reader
		r.off++
		if raw, err := r.readBytes(c); err == nil && len(raw) == 16 {
			d.off = r.off
			copy(p[:], raw)
			return nil
		}
	}
	text, null, err := d.lymphText(nameUUID, v, decodeUUID)
	if err != nil {
		return err
	}
	if null {
		*p = uuid.UUID{}
		return nil
	}
	u, err := uuid.Parse(text)
	if err != nil {
		return &TypeError{Value: nameUUID, Type: uuidType, Err: err}
	}
	*p = u
	return nil
}

func decodeRaw(d *decodeState, v reflect.Value) error {
	raw, err := d.rawValue()
	if err != nil {
		return err
	}
	v.SetBytes(bytes.Clone(raw))
	return nil
}

func decodeEmbedded(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if kindOf(c) == kindExt {
		r := d.reader
		r.off++
		if typ, n, err := r.extHeader(c); err == nil && typ == extEmbedded {
			p, _ := r.next(n)
			d.off = r.off
			v.SetBytes(bytes.Clone(p))
			return nil
		}
	}
	if c == codeNil {
		d.off++
		v.SetZero()
		return nil
	}
	return decodeRaw(d, v)
}

func decodeExt(d *decodeState, v reflect.Value) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	p := v.Addr().Interface().(*Ext)
	switch kindOf(c) {
	case kindNil:
		d.off++
		*p = Ext{}
		return nil
	case kindExt:
		r := d.reader
		r.off++
		typ, n, err := r.extHeader(c)
		if err != nil {
			return err
		}
		if typ != extEmbedded {
			data, _ := r.next(n)
			d.off = r.off
			*p = Ext{Type: typ, Data: bytes.Clone(data)}
			return nil
		}
	}
	return d.mismatch(v, decodeExt)
}
