package codec

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Encoders for the lymph typed values and the msgpack extensions: each
// writes lymph's {"__type__": name, "_": value} map, or an ext.

func (e *encodeState) encodeTime(t time.Time) error {
	var text [40]byte
	s, err := appendWireDatetime(text[:0], t)
	if err != nil {
		return err
	}
	e.buf = appendStrBytes(appendEnvelope(e.buf, nameDatetime), s)
	return nil
}

func (e *encodeState) encodeDate(d Date) error {
	if d.IsZero() {
		e.buf = appendNil(e.buf)
		return nil
	}
	if !d.Valid() {
		return &ValueError{Type: dateType, Msg: "invalid date " + d.String()}
	}
	var text [10]byte
	e.buf = appendStrBytes(appendEnvelope(e.buf, nameDate), d.appendText(text[:0]))
	return nil
}

func (e *encodeState) encodeTimeOfDay(t TimeOfDay) error {
	var text [9]byte
	s, err := appendWireTime(text[:0], t)
	if err != nil {
		return err
	}
	e.buf = appendStrBytes(appendEnvelope(e.buf, nameTime), s)
	return nil
}

func (e *encodeState) encodeDecimal(d Decimal) error {
	if d == "" {
		e.buf = appendNil(e.buf)
		return nil
	}
	if !d.Valid() {
		return &ValueError{Type: decimalType, Msg: "invalid decimal " + strconv.Quote(string(d))}
	}
	e.buf = appendStr(appendEnvelope(e.buf, nameDecimal), string(d))
	return nil
}

// encodeUUID writes the canonical text, like Python's str(uuid.UUID).
func (e *encodeState) encodeUUID(u uuid.UUID) {
	var text [36]byte
	hex.Encode(text[0:8], u[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], u[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], u[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], u[8:10])
	text[23] = '-'
	hex.Encode(text[24:], u[10:])
	e.buf = appendStrBytes(appendEnvelope(e.buf, nameUUID), text[:])
}

func (e *encodeState) encodeSet(s Set) error {
	if s == nil {
		e.buf = appendNil(e.buf)
		return nil
	}
	e.buf = appendEnvelope(e.buf, nameSet)
	return e.encodeSliceAny(s)
}

func (e *encodeState) encodeRaw(r Raw) {
	if len(r) == 0 {
		e.buf = appendNil(e.buf)
		return
	}
	e.buf = append(e.buf, r...)
}

func (e *encodeState) encodeEmbedded(doc Embedded) {
	if len(doc) == 0 {
		e.buf = appendNil(e.buf)
		return
	}
	e.buf = appendExtHeader(e.buf, extEmbedded, len(doc))
	e.buf = append(e.buf, doc...)
}
