package codec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// plain holds only values on which vmihailenco's msgpack and this package
// agree, to cross-check the format layer in both directions.
type plain struct {
	S   string            `msgpack:"s"`
	B   []byte            `msgpack:"b"`
	I   int64             `msgpack:"i"`
	U   uint32            `msgpack:"u"`
	F   float64           `msgpack:"f"`
	F32 float32           `msgpack:"f32"`
	T   bool              `msgpack:"t"`
	L   []string          `msgpack:"l"`
	M   map[string]int    `msgpack:"m"`
	P   *plain            `msgpack:"p,omitempty"`
	X   map[string]any    `msgpack:"x"`
	Big []int16           `msgpack:"big"`
	A   [3]uint8          `msgpack:"a"`
	E   struct{ N int8 }  `msgpack:"e"`
	Z   map[string]string `msgpack:"z"`
}

func samplePlain() plain {
	big := make([]int16, 300) // an array16 of ints of every size
	for i := range big {
		big[i] = int16(i * 7)
	}
	return plain{
		S: "välue", B: []byte("bytes"), I: -1 << 40, U: 1 << 31, F: -0.125, F32: 2.5, T: true,
		L: []string{"a", ""}, M: map[string]int{"x": -1, "y": 300},
		P: &plain{S: "inner", X: map[string]any{"deep": []any{"a"}}},
		X: map[string]any{"n": nil, "s": "t"}, Big: big, A: [3]uint8{1, 2, 3},
		E: struct{ N int8 }{-3}, Z: map[string]string{},
	}
}

func TestMsgpackV5ReadsOurs(t *testing.T) {
	in := samplePlain()
	b, err := Marshal(in)
	require.NoError(t, err)
	var out plain
	require.NoError(t, msgpack.Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

func TestWeReadMsgpackV5(t *testing.T) {
	in := samplePlain()
	b, err := msgpack.Marshal(in)
	require.NoError(t, err)
	var out plain
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

// custom implements msgpack v5's CustomEncoder/CustomDecoder.
type custom struct{ a, b int }

func (c custom) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeArrayLen(2); err != nil {
		return err
	}
	return enc.EncodeMulti(c.a, c.b)
}

func (c *custom) DecodeMsgpack(dec *msgpack.Decoder) error {
	if _, err := dec.DecodeArrayLen(); err != nil {
		return err
	}
	return dec.DecodeMulti(&c.a, &c.b)
}

// marshaled implements msgpack v5's Marshaler/Unmarshaler.
type marshaled struct{ s string }

func (m marshaled) MarshalMsgpack() ([]byte, error) { return msgpack.Marshal([]string{m.s}) }

func (m *marshaled) UnmarshalMsgpack(b []byte) error {
	var s []string
	if err := msgpack.Unmarshal(b, &s); err != nil {
		return err
	}
	m.s = s[0]
	return nil
}

func TestMsgpackV5Methods(t *testing.T) {
	type holder struct {
		C  custom     `msgpack:"c"`
		M  marshaled  `msgpack:"m"`
		CP *custom    `msgpack:"cp"`
		MP *marshaled `msgpack:"mp"`
	}
	in := holder{C: custom{1, 2}, M: marshaled{"x"}, MP: &marshaled{"y"}}
	b, err := Marshal(in)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "84 a1 63 92 01 02 a1 6d 91 a1 78 a2 6370 c0 a2 6d70 91 a1 79"), b)

	var out holder
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)
}
