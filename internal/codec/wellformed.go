package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth bounds how deeply arrays and maps may nest. Decoding recurses
// once per level; without a bound a few kilobytes of 0x91 bytes would
// exhaust the stack, which Go cannot recover from.
const maxDepth = 512

var errTruncated = errors.New("malformed msgpack: unexpected end of data")

// checkWellFormed walks one msgpack document without building it, and
// rejects what vmihailenco/msgpack would trust blindly: an array or map
// length larger than the bytes that could hold it (its []any decoding
// allocates the declared length up front: a five-byte message could ask for
// 64 GiB), nesting deeper than maxDepth, extensions other than lymph's
// nested document (see extPayload), and a document cut short. It returns
// the document's length, so callers can tell trailing bytes.
func checkWellFormed(data []byte) (int, error) {
	c := checker{data: data}
	if err := c.value(0); err != nil {
		return 0, err
	}
	return c.off, nil
}

type checker struct {
	data []byte
	off  int
}

func (c *checker) remaining() int { return len(c.data) - c.off }

func (c *checker) skip(n uint64) error {
	if n > uint64(c.remaining()) {
		return errTruncated
	}
	c.off += int(n)
	return nil
}

// uint reads an n-byte big-endian length.
func (c *checker) uint(n int) (uint64, error) {
	if c.remaining() < n {
		return 0, errTruncated
	}
	b := c.data[c.off : c.off+n]
	c.off += n
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	default:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
}

func (c *checker) value(depth int) error {
	if c.remaining() < 1 {
		return errTruncated
	}
	code := c.data[c.off]
	c.off++
	switch {
	case code <= 0x7f || code >= 0xe0: // fixints
		return nil
	case code <= 0x8f:
		return c.container(uint64(code&0x0f), 2, depth)
	case code <= 0x9f:
		return c.container(uint64(code&0x0f), 1, depth)
	case code <= 0xbf:
		return c.skip(uint64(code & 0x1f))
	}
	switch code {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return nil
	case 0xc1:
		return fmt.Errorf("malformed msgpack: reserved code 0xc1 at byte %d", c.off-1)
	case 0xc4, 0xd9: // bin8, str8
		return c.sized(1)
	case 0xc5, 0xda:
		return c.sized(2)
	case 0xc6, 0xdb:
		return c.sized(4)
	case 0xc7: // ext8, ext16, ext32: length, type, data
		return c.ext(1, depth)
	case 0xc8:
		return c.ext(2, depth)
	case 0xc9:
		return c.ext(4, depth)
	case 0xca, 0xce, 0xd2: // 4-byte numbers
		return c.skip(4)
	case 0xcb, 0xcf, 0xd3:
		return c.skip(8)
	case 0xcc, 0xd0:
		return c.skip(1)
	case 0xcd, 0xd1:
		return c.skip(2)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1..16: type, data
		return c.extPayload(1<<(code-0xd4), depth)
	case 0xdc, 0xdd, 0xde, 0xdf:
		width := 2
		if code == 0xdd || code == 0xdf {
			width = 4
		}
		n, err := c.uint(width)
		if err != nil {
			return err
		}
		per := uint64(1)
		if code >= 0xde {
			per = 2
		}
		return c.container(n, per, depth)
	}
	return fmt.Errorf("malformed msgpack: unknown code 0x%02x", code)
}

// sized skips a payload whose length takes width bytes.
func (c *checker) sized(width int) error {
	n, err := c.uint(width)
	if err != nil {
		return err
	}
	return c.skip(n)
}

// ext checks an extension value whose length takes width bytes.
func (c *checker) ext(width, depth int) error {
	n, err := c.uint(width)
	if err != nil {
		return err
	}
	return c.extPayload(n, depth)
}

// extPayload checks an extension's type byte and its n bytes of data.
//
// Only lymph's own extension, 101, is accepted, and its data must be one
// well-formed document. That is not pedantry: vmihailenco/msgpack's
// DecodeMapLen, which every map-typed target goes through, skips the
// header of any extension and reads its data as a map. Data this check
// took as opaque would then be decoded after all, out of step with it: an
// extension of 3 MiB of 0x91 bytes, behind a map header, overflowed the
// stack (a crash no recover can catch). With 101 checked through and
// every other type refused, every byte msgpack may decode has been
// checked here.
func (c *checker) extPayload(n uint64, depth int) error {
	if c.remaining() < 1 {
		return errTruncated
	}
	typ := int8(c.data[c.off])
	c.off++
	if n > uint64(c.remaining()) {
		return errTruncated
	}
	if typ != nestedExtID {
		return fmt.Errorf("malformed msgpack: extension type %d at byte %d; lymph uses only %d, a nested document", typ, c.off-1, nestedExtID)
	}
	if depth >= maxDepth {
		return fmt.Errorf("malformed msgpack: nested deeper than %d levels", maxDepth)
	}
	inner := checker{data: c.data[c.off : c.off+int(n)]}
	if err := inner.value(depth + 1); err != nil {
		return fmt.Errorf("nested document: %w", err)
	}
	if inner.off != int(n) {
		return fmt.Errorf("malformed msgpack: nested document: %d bytes after it", int(n)-inner.off)
	}
	c.off += int(n)
	return nil
}

// container checks n values (per per entry), each at least one byte.
func (c *checker) container(n, per uint64, depth int) error {
	if depth >= maxDepth {
		return fmt.Errorf("malformed msgpack: nested deeper than %d levels", maxDepth)
	}
	if n*per > uint64(c.remaining()) {
		return fmt.Errorf("malformed msgpack: %d entries declared with %d bytes left", n, c.remaining())
	}
	for range n * per {
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}
