package codec

import (
	"encoding/binary"
	"math"
)

// reader walks a msgpack document held in memory. Every read checks bounds,
// and every length is checked against the bytes left before anything is
// allocated for it, so hostile input can neither panic nor make us allocate
// more than a small multiple of its own size.
type reader struct {
	data []byte
	off  int
}

func (r *reader) remaining() int { return len(r.data) - r.off }

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.data) {
		return 0, r.eof()
	}
	return r.data[r.off], nil
}

func (r *reader) readByte() (byte, error) {
	if r.off >= len(r.data) {
		return 0, r.eof()
	}
	c := r.data[r.off]
	r.off++
	return c, nil
}

// next returns the following n bytes, aliasing the input.
func (r *reader) next(n int) ([]byte, error) {
	if n < 0 || n > r.remaining() {
		return nil, r.eof()
	}
	p := r.data[r.off : r.off+n : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) uint8() (uint64, error) {
	c, err := r.readByte()
	return uint64(c), err
}

func (r *reader) uint16() (uint64, error) {
	p, err := r.next(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.BigEndian.Uint16(p)), nil
}

func (r *reader) uint32() (uint64, error) {
	p, err := r.next(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.BigEndian.Uint32(p)), nil
}

func (r *reader) uint64() (uint64, error) {
	p, err := r.next(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(p), nil
}

// readInt reads the integer whose code c was already consumed. Unsigned
// values above math.MaxInt64 come back in u with big set.
func (r *reader) readInt(c byte) (i int64, u uint64, big bool, err error) {
	switch {
	case c <= 0x7f:
		return int64(c), 0, false, nil
	case c >= negFixIntLow:
		return int64(int8(c)), 0, false, nil
	}
	var n uint64
	switch c {
	case codeUint8:
		n, err = r.uint8()
	case codeUint16:
		n, err = r.uint16()
	case codeUint32:
		n, err = r.uint32()
	case codeUint64:
		n, err = r.uint64()
		if n > math.MaxInt64 {
			return 0, n, true, err
		}
	case codeInt8:
		n, err = r.uint8()
		return int64(int8(n)), 0, false, err
	case codeInt16:
		n, err = r.uint16()
		return int64(int16(n)), 0, false, err
	case codeInt32:
		n, err = r.uint32()
		return int64(int32(n)), 0, false, err
	case codeInt64:
		n, err = r.uint64()
		return int64(n), 0, false, err
	default:
		return 0, 0, false, r.errorf("code %#x is not an integer", c)
	}
	return int64(n), 0, false, err
}

// readFloat reads the float whose code c was already consumed.
func (r *reader) readFloat(c byte) (float64, error) {
	if c == codeFloat32 {
		n, err := r.uint32()
		return float64(math.Float32frombits(uint32(n))), err
	}
	n, err := r.uint64()
	return math.Float64frombits(n), err
}

// bytesLen reads the length of a str or bin whose code c was consumed, and
// checks that the payload is there.
func (r *reader) bytesLen(c byte) (int, error) {
	var n uint64
	var err error
	switch {
	case c >= fixStrLow && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == codeStr8 || c == codeBin8:
		n, err = r.uint8()
	case c == codeStr16 || c == codeBin16:
		n, err = r.uint16()
	case c == codeStr32 || c == codeBin32:
		n, err = r.uint32()
	default:
		return 0, r.errorf("code %#x is not str or bin", c)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, r.eof()
	}
	return int(n), nil
}

// readBytes reads a str or bin payload whose code c was consumed; the result
// aliases the input.
func (r *reader) readBytes(c byte) ([]byte, error) {
	n, err := r.bytesLen(c)
	if err != nil {
		return nil, err
	}
	return r.next(n)
}

// arrayLen reads the length of an array whose code c was consumed. Each
// element takes at least one byte, so a length beyond the input is an error
// before anything is allocated for it.
func (r *reader) arrayLen(c byte) (int, error) {
	var n uint64
	var err error
	switch {
	case c >= fixArrayLow && c < fixStrLow:
		n = uint64(c & 0x0f)
	case c == codeArray16:
		n, err = r.uint16()
	case c == codeArray32:
		n, err = r.uint32()
	default:
		return 0, r.errorf("code %#x is not an array", c)
	}
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()) {
		return 0, r.eof()
	}
	return int(n), nil
}

// mapLen reads the entry count of a map whose code c was consumed; each
// entry takes at least two bytes.
func (r *reader) mapLen(c byte) (int, error) {
	var n uint64
	var err error
	switch {
	case c >= fixMapLow && c < fixArrayLow:
		n = uint64(c & 0x0f)
	case c == codeMap16:
		n, err = r.uint16()
	case c == codeMap32:
		n, err = r.uint32()
	default:
		return 0, r.errorf("code %#x is not a map", c)
	}
	if err != nil {
		return 0, err
	}
	if n*2 > uint64(r.remaining()) {
		return 0, r.eof()
	}
	return int(n), nil
}

// extHeader reads the type and payload length of an ext whose code c was
// consumed, and checks that the payload is there.
func (r *reader) extHeader(c byte) (typ int8, n int, err error) {
	var size uint64
	switch c {
	case codeFixExt1:
		size = 1
	case codeFixExt2:
		size = 2
	case codeFixExt4:
		size = 4
	case codeFixExt8:
		size = 8
	case codeFixExt16:
		size = 16
	case codeExt8:
		size, err = r.uint8()
	case codeExt16:
		size, err = r.uint16()
	case codeExt32:
		size, err = r.uint32()
	default:
		return 0, 0, r.errorf("code %#x is not an ext", c)
	}
	if err != nil {
		return 0, 0, err
	}
	t, err := r.readByte()
	if err != nil {
		return 0, 0, err
	}
	if size > uint64(r.remaining()) {
		return 0, 0, r.eof()
	}
	return int8(t), int(size), nil
}

// skip moves past one complete value. It counts the values still owed
// instead of recursing, so nesting depth costs nothing.
func (r *reader) skip() error {
	for owed := uint64(1); owed > 0; owed-- {
		c, err := r.readByte()
		if err != nil {
			return err
		}
		switch kindOf(c) {
		case kindNil, kindBool:
		case kindInt:
			if _, _, _, err = r.readInt(c); err != nil {
				return err
			}
		case kindFloat:
			if _, err = r.readFloat(c); err != nil {
				return err
			}
		case kindStr, kindBin:
			if _, err = r.readBytes(c); err != nil {
				return err
			}
		case kindArray:
			n, err := r.arrayLen(c)
			if err != nil {
				return err
			}
			owed += uint64(n)
		case kindMap:
			n, err := r.mapLen(c)
			if err != nil {
				return err
			}
			owed += 2 * uint64(n)
		case kindExt:
			_, n, err := r.extHeader(c)
			if err != nil {
				return err
			}
			r.off += n
		default:
			r.off--
			return r.errorf("invalid code %#x", c)
		}
	}
	return nil
}

// rawValue returns the bytes of the next complete value, aliasing the input.
func (r *reader) rawValue() ([]byte, error) {
	start := r.off
	if err := r.skip(); err != nil {
		return nil, err
	}
	return r.data[start:r.off:r.off], nil
}

func (r *reader) eof() error {
	return &SyntaxError{Offset: len(r.data), Msg: "unexpected end of data"}
}

func (r *reader) errorf(format string, args ...any) error {
	return newSyntaxError(r.off, format, args...)
}
