package codec

import (
	"encoding/binary"
	"math"
)

// reader reads msgpack primitives from a document that checkWellFormed has
// passed. It still checks every length against the bytes left, so that no
// input can make it read out of range.
type reader struct {
	data []byte
	off  int
}

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.data) {
		return 0, errTruncated
	}
	return r.data[r.off], nil
}

// next returns n bytes and moves past them; the slice aliases the data.
func (r *reader) next(n int) ([]byte, error) {
	if n < 0 || n > len(r.data)-r.off {
		return nil, errTruncated
	}
	b := r.data[r.off : r.off+n : r.off+n]
	r.off += n
	return b, nil
}

// copyBytes copies a bin's bytes out of the document for a value to keep.
// A value never aliases the document: it is the caller's buffer — for a
// received message the body frame, a fresh allocation per message that
// Message.RawBody still shows and a second Decode reads again — so a
// caller writing to a decoded []byte must not change either. Appending to
// an empty slice copies into memory it does not zero first; make(n)
// followed by append zeroed the whole payload before copying it (a memclr
// as long as the copy). A string is copied once by string(b), likewise.
func copyBytes(b []byte) []byte { return append([]byte{}, b...) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.data) {
		return 0, errTruncated
	}
	c := r.data[r.off]
	r.off++
	return c, nil
}

// uintN reads an n-byte big-endian unsigned integer.
func (r *reader) uintN(n int) (uint64, error) {
	b, err := r.next(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// Kinds of msgpack value, as decoding errors name them.
type wireKind uint8

const (
	kindNil wireKind = iota
	kindBool
	kindInt   // a signed integer code or a negative fixint
	kindUint  // an unsigned integer code or a positive fixint
	kindFloat // float 32 or 64
	kindStr
	kindBin
	kindArray
	kindMap
	kindExt
	kindInvalid
)

// kindOf classifies a msgpack code.
func kindOf(c byte) wireKind {
	switch {
	case c <= 0x7f:
		return kindUint
	case c >= 0xe0:
		return kindInt
	case c <= 0x8f:
		return kindMap
	case c <= 0x9f:
		return kindArray
	case c <= 0xbf:
		return kindStr
	}
	switch c {
	case codeNil:
		return kindNil
	case codeFalse, codeTrue:
		return kindBool
	case codeBin8, codeBin16, codeBin32:
		return kindBin
	case codeExt8, codeExt16, codeExt32, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return kindExt
	case codeFloat, codeDouble:
		return kindFloat
	case codeUint8, codeUint16, codeUint32, codeUint64:
		return kindUint
	case codeInt8, codeInt16, codeInt32, codeInt64:
		return kindInt
	case codeStr8, codeStr16, codeStr32:
		return kindStr
	case codeArray16, codeArray32:
		return kindArray
	case codeMap16, codeMap32:
		return kindMap
	}
	return kindInvalid
}

// String names the kind as an error message says what it found.
func (k wireKind) String() string {
	switch k {
	case kindNil:
		return "nil"
	case kindBool:
		return "a boolean"
	case kindInt, kindUint:
		return "an integer"
	case kindFloat:
		return "a float"
	case kindStr:
		return "a string"
	case kindBin:
		return "bytes"
	case kindArray:
		return "an array"
	case kindMap:
		return "a map"
	case kindExt:
		return "an extension"
	}
	return "an invalid code"
}

// integer reads any integer code. For the uint codes and positive fixints
// unsigned is true and the value is in u; for the others it is in i.
func (r *reader) integer(c byte) (i int64, u uint64, unsigned bool, err error) {
	switch {
	case c <= 0x7f:
		return 0, uint64(c), true, nil
	case c >= 0xe0:
		return int64(int8(c)), 0, false, nil
	}
	switch c {
	case codeUint8, codeUint16, codeUint32, codeUint64:
		u, err = r.uintN(1 << (c - codeUint8))
		return 0, u, true, err
	case codeInt8:
		u, err = r.uintN(1)
		return int64(int8(u)), 0, false, err
	case codeInt16:
		u, err = r.uintN(2)
		return int64(int16(u)), 0, false, err
	case codeInt32:
		u, err = r.uintN(4)
		return int64(int32(u)), 0, false, err
	case codeInt64:
		u, err = r.uintN(8)
		return int64(u), 0, false, err
	}
	return 0, 0, false, errNotInteger
}

// float reads a float code.
func (r *reader) float(c byte) (float64, error) {
	switch c {
	case codeFloat:
		u, err := r.uintN(4)
		return float64(math.Float32frombits(uint32(u))), err
	case codeDouble:
		u, err := r.uintN(8)
		return math.Float64frombits(u), err
	}
	return 0, errNotFloat
}

// bytesLen reads the length of a str or bin whose code is c; ok is false
// for other codes.
func (r *reader) bytesLen(c byte) (n int, ok bool, err error) {
	var u uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		return int(c & 0x1f), true, nil
	case c == codeStr8 || c == codeBin8:
		u, err = r.uintN(1)
	case c == codeStr16 || c == codeBin16:
		u, err = r.uintN(2)
	case c == codeStr32 || c == codeBin32:
		u, err = r.uintN(4)
	default:
		return 0, false, nil
	}
	return int(u), true, err
}

// containerLen reads the length of an array or map whose code is c.
func (r *reader) containerLen(c byte) (int, error) {
	switch {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), nil
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), nil
	case c == codeArray16 || c == codeMap16:
		u, err := r.uintN(2)
		return int(u), err
	case c == codeArray32 || c == codeMap32:
		u, err := r.uintN(4)
		return int(u), err
	}
	return 0, errTruncated
}

// ext reads an extension's header after its code c and returns its type
// and data.
func (r *reader) ext(c byte) (int8, []byte, error) {
	var n uint64
	var err error
	switch c {
	case codeExt8:
		n, err = r.uintN(1)
	case codeExt16:
		n, err = r.uintN(2)
	case codeExt32:
		n, err = r.uintN(4)
	default: // fixext 1..16
		n = 1 << (c - codeFixExt1)
	}
	if err != nil {
		return 0, nil, err
	}
	typ, err := r.byte()
	if err != nil {
		return 0, nil, err
	}
	data, err := r.next(int(n))
	return int8(typ), data, err
}

// skip moves past one whole value.
func (r *reader) skip() error {
	start := r.off
	c := checker{data: r.data[start:]}
	if err := c.value(0); err != nil {
		return err
	}
	r.off = start + c.off
	return nil
}
