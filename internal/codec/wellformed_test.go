package codec

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ext returns an ext32 value of type typ carrying data.
func ext(typ int8, data []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xc9}, uint32(len(data)))
	return append(append(b, byte(typ)), data...)
}

// msgpack's DecodeMapLen reads any extension's data as a map. Data the
// well-formedness check skipped as opaque must not be decoded that way:
// here 3 MiB of nested one-element arrays, behind a map header inside an
// extension, overflowed the stack of any map-typed decode, a crash that
// recover cannot catch.
func TestExtensionHidingAMap(t *testing.T) {
	chain := append([]byte{0xdf, 0, 0, 0, 1, 0xa1, 'k'}, bytes.Repeat([]byte{0x91}, 3<<20)...)
	chain = append(chain, 0xc0)
	body := ext(5, chain)

	var m map[string]any
	err := DecodeArgs(body, &m)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "extension type 5")

	var s struct {
		M map[string]any `msgpack:"m"`
	}
	err = Unmarshal(append([]byte{0x81, 0xa1, 'm'}, body...), &s)
	assert.ErrorContains(t, err, "extension type 5")

	_, _, err = PeekHeaders(body)
	assert.ErrorContains(t, err, "extension type 5")
}

func TestExtensions(t *testing.T) {
	doc := mustMarshal(t, map[string]any{"foo": 42})
	t.Run("101 carries a document", func(t *testing.T) {
		var out any
		require.NoError(t, Unmarshal(ext(nestedExtID, doc), &out))
		assert.Equal(t, Nested{Value: map[string]any{"foo": int8(42)}}, out)
	})
	for name, data := range map[string][]byte{
		"101 with a truncated document":   ext(nestedExtID, doc[:len(doc)-1]),
		"101 with bytes after a document": ext(nestedExtID, append(doc, 0xc0)),
		"101 with an empty document":      ext(nestedExtID, nil),
		"101 hiding a huge map":           ext(nestedExtID, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}),
		"timestamp":                       {0xd6, 0xff, 0, 0, 0, 1},
		"other type":                      ext(48, doc),
		"fixext cut short":                {0xd7, 0x65, 0x80},
		"no type byte":                    {0xc7, 0x00},
	} {
		var out any
		assert.Error(t, Unmarshal(data, &out), name)
	}
	t.Run("nesting through 101 counts", func(t *testing.T) {
		data := []byte{0xc0}
		for range maxDepth + 1 {
			data = ext(nestedExtID, data)
		}
		var out any
		assert.ErrorContains(t, Unmarshal(data, &out), "nested deeper than")
	})
}
