package codec

import (
	"encoding/binary"
	"math"
)

// This file and reader.go are the msgpack format itself: codes, and
// appending or reading headers and scalars on a byte slice. Everything
// above works in terms of these helpers. We write what Python's msgpack
// writes with use_bin_type=True: the smallest integer, str and bin as
// separate kinds, floats as float64 (float32 only for Go float32), fixext
// when the size fits.

// msgpack format codes (https://github.com/msgpack/msgpack/blob/master/spec.md).
const (
	codeNil      byte = 0xc0
	codeNever    byte = 0xc1 // never used by the spec: always malformed
	codeFalse    byte = 0xc2
	codeTrue     byte = 0xc3
	codeBin8     byte = 0xc4
	codeBin16    byte = 0xc5
	codeBin32    byte = 0xc6
	codeExt8     byte = 0xc7
	codeExt16    byte = 0xc8
	codeExt32    byte = 0xc9
	codeFloat32  byte = 0xca
	codeFloat64  byte = 0xcb
	codeUint8    byte = 0xcc
	codeUint16   byte = 0xcd
	codeUint32   byte = 0xce
	codeUint64   byte = 0xcf
	codeInt8     byte = 0xd0
	codeInt16    byte = 0xd1
	codeInt32    byte = 0xd2
	codeInt64    byte = 0xd3
	codeFixExt1  byte = 0xd4
	codeFixExt2  byte = 0xd5
	codeFixExt4  byte = 0xd6
	codeFixExt8  byte = 0xd7
	codeFixExt16 byte = 0xd8
	codeStr8     byte = 0xd9
	codeStr16    byte = 0xda
	codeStr32    byte = 0xdb
	codeArray16  byte = 0xdc
	codeArray32  byte = 0xdd
	codeMap16    byte = 0xde
	codeMap32    byte = 0xdf

	fixMapLow    byte = 0x80
	fixArrayLow  byte = 0x90
	fixStrLow    byte = 0xa0
	negFixIntLow byte = 0xe0
)

// kind is the broad class of a msgpack value, as named in error messages.
type kind uint8

const (
	kindInvalid kind = iota
	kindNil
	kindBool
	kindInt
	kindFloat
	kindStr
	kindBin
	kindArray
	kindMap
	kindExt
)

var kindNames = [...]string{
	kindInvalid: "invalid code",
	kindNil:     "nil",
	kindBool:    "bool",
	kindInt:     "int",
	kindFloat:   "float",
	kindStr:     "str",
	kindBin:     "bin",
	kindArray:   "array",
	kindMap:     "map",
	kindExt:     "ext",
}

func (k kind) String() string { return kindNames[k] }

// kindOf classifies a format code.
func kindOf(c byte) kind {
	switch {
	case c <= 0x7f || c >= negFixIntLow:
		return kindInt
	case c < fixArrayLow:
		return kindMap
	case c < fixStrLow:
		return kindArray
	case c < codeNil:
		return kindStr
	}
	switch c {
	case codeNil:
		return kindNil
	case codeFalse, codeTrue:
		return kindBool
	case codeBin8, codeBin16, codeBin32:
		return kindBin
	case codeExt8, codeExt16, codeExt32, codeFixExt1, codeFixExt2, codeFixExt4, codeFixExt8, codeFixExt16:
		return kindExt
	case codeFloat32, codeFloat64:
		return kindFloat
	case codeUint8, codeUint16, codeUint32, codeUint64, codeInt8, codeInt16, codeInt32, codeInt64:
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

func appendNil(b []byte) []byte { return append(b, codeNil) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, codeTrue)
	}
	return append(b, codeFalse)
}

// appendInt writes v in the smallest form, as Python's msgpack does:
// non-negative numbers use the unsigned codes.
func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendUint(b, uint64(v))
	}
	switch {
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, codeInt8, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, codeInt16), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, codeInt32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, codeInt64), uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, codeUint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeUint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, codeUint32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, codeUint64), v)
}

func appendFloat32(b []byte, v float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, codeFloat32), math.Float32bits(v))
}

func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, codeFloat64), math.Float64bits(v))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n <= 31:
		return append(b, fixStrLow|byte(n))
	case n <= math.MaxUint8:
		return append(b, codeStr8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeStr16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeStr32), uint32(n))
}

func appendStr(b []byte, s string) []byte {
	return append(appendStrHeader(b, len(s)), s...)
}

// appendStrBytes writes p as msgpack str (text held in a byte slice).
func appendStrBytes(b []byte, p []byte) []byte {
	return append(appendStrHeader(b, len(p)), p...)
}

func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, codeBin8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeBin16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeBin32), uint32(n))
}

func appendBin(b []byte, p []byte) []byte {
	return append(appendBinHeader(b, len(p)), p...)
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, fixArrayLow|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeArray16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeArray32), uint32(n))
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n <= 15:
		return append(b, fixMapLow|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeMap16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeMap32), uint32(n))
}

func appendExtHeader(b []byte, typ int8, n int) []byte {
	switch n {
	case 1:
		return append(b, codeFixExt1, byte(typ))
	case 2:
		return append(b, codeFixExt2, byte(typ))
	case 4:
		return append(b, codeFixExt4, byte(typ))
	case 8:
		return append(b, codeFixExt8, byte(typ))
	case 16:
		return append(b, codeFixExt16, byte(typ))
	}
	switch {
	case n <= math.MaxUint8:
		return append(b, codeExt8, byte(n), byte(typ))
	case n <= math.MaxUint16:
		return append(binary.BigEndian.AppendUint16(append(b, codeExt16), uint16(n)), byte(typ))
	}
	return append(binary.BigEndian.AppendUint32(append(b, codeExt32), uint32(n)), byte(typ))
}
