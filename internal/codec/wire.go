package codec

import (
	"encoding/binary"
	"math"
)

// This file holds msgpack's primitives, written straight into a []byte.
// They write what vmihailenco/msgpack writes with UseCompactInts(true), the
// form Python's msgpack writes: every integer in its smallest encoding
// (non-negative ones with the uint codes), floats at their own width, text
// as str and bytes as bin. The goldens hold them to it byte for byte.

// msgpack codes this package names.
const (
	codeNil     = 0xc0
	codeFalse   = 0xc2
	codeTrue    = 0xc3
	codeBin8    = 0xc4
	codeBin16   = 0xc5
	codeBin32   = 0xc6
	codeExt8    = 0xc7
	codeExt16   = 0xc8
	codeExt32   = 0xc9
	codeFloat   = 0xca
	codeDouble  = 0xcb
	codeUint8   = 0xcc
	codeUint16  = 0xcd
	codeUint32  = 0xce
	codeUint64  = 0xcf
	codeInt8    = 0xd0
	codeInt16   = 0xd1
	codeInt32   = 0xd2
	codeInt64   = 0xd3
	codeFixExt1 = 0xd4
	codeStr8    = 0xd9
	codeStr16   = 0xda
	codeStr32   = 0xdb
	codeArray16 = 0xdc
	codeArray32 = 0xdd
	codeMap16   = 0xde
	codeMap32   = 0xdf
)

func appendNil(b []byte) []byte { return append(b, codeNil) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, codeTrue)
	}
	return append(b, codeFalse)
}

func appendUint(b []byte, n uint64) []byte {
	switch {
	case n <= math.MaxInt8:
		return append(b, byte(n))
	case n <= math.MaxUint8:
		return append(b, codeUint8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeUint16), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, codeUint32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, codeUint64), n)
}

func appendInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return appendUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, codeInt8, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, codeInt16), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, codeInt32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, codeInt64), uint64(n))
}

func appendFloat32(b []byte, f float32) []byte {
	return binary.BigEndian.AppendUint32(append(b, codeFloat), math.Float32bits(f))
}

func appendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, codeDouble), math.Float64bits(f))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, codeStr8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeStr16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeStr32), uint32(n))
}

// appendStr writes s as a str: its bytes are copied once, into b.
func appendStr(b []byte, s string) []byte {
	return append(appendStrHeader(b, len(s)), s...)
}

// appendStrBytes writes text held in a []byte as a str.
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

// appendBin writes p as a bin, nil as nil, as Python's None.
func appendBin(b []byte, p []byte) []byte {
	if p == nil {
		return appendNil(b)
	}
	return append(appendBinHeader(b, len(p)), p...)
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeArray16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeArray32), uint32(n))
}

func appendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, codeMap16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, codeMap32), uint32(n))
}

// appendExt writes an extension value: fixext for the lengths it has,
// else ext 8, 16 or 32.
func appendExt(b []byte, typ int8, data []byte) []byte {
	switch n := len(data); {
	case n == 1 || n == 2 || n == 4 || n == 8 || n == 16:
		code := byte(codeFixExt1)
		for m := n; m > 1; m >>= 1 {
			code++
		}
		b = append(b, code, byte(typ))
	case n <= math.MaxUint8:
		b = append(b, codeExt8, byte(n), byte(typ))
	case n <= math.MaxUint16:
		b = append(binary.BigEndian.AppendUint16(append(b, codeExt16), uint16(n)), byte(typ))
	default:
		b = append(binary.BigEndian.AppendUint32(append(b, codeExt32), uint32(n)), byte(typ))
	}
	return append(b, data...)
}
