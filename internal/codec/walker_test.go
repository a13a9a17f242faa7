package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// The codec registers nothing with vmihailenco/msgpack: used directly in
// the same binary, it keeps its own forms.
func TestNoProcessWideRegistration(t *testing.T) {
	when := time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC)
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	ours := mustMarshal(t, map[string]any{"t": when, "id": id, "b": 1, "a": 2})
	require.True(t, bytes.Contains(ours, []byte(typeKey)))

	for name, tc := range map[string]struct {
		v    any
		want func(b []byte) bool
	}{
		"time.Time":      {when, func(b []byte) bool { return b[0] == 0xd6 && b[1] == 0xff }},
		"*time.Time":     {&when, func(b []byte) bool { return b[0] == 0xd6 && b[1] == 0xff }},
		"uuid.UUID":      {id, func(b []byte) bool { return bytes.Equal(b, append([]byte{0xc4, 0x10}, id[:]...)) }},
		"map[string]any": {map[string]any{"t": when}, func(b []byte) bool { return bytes.Contains(b, []byte{0xd6, 0xff}) }},
		"struct field":   {struct{ T time.Time }{when}, func(b []byte) bool { return bytes.Contains(b, []byte("\xa1T\xd6\xff")) }},
	} {
		b, err := msgpack.Marshal(tc.v)
		require.NoError(t, err, name)
		assert.True(t, tc.want(b), "%s: msgpack wrote %x", name, b)
		assert.False(t, bytes.Contains(b, []byte(typeKey)), "%s: no lymph envelope in %x", name, b)
	}
}

func TestDecodeErrorsNameTheField(t *testing.T) {
	type item struct {
		N int `msgpack:"n"`
	}
	type reply struct {
		Count int               `msgpack:"count"`
		Items []item            `msgpack:"items"`
		Attrs map[string]int    `msgpack:"attrs"`
		When  time.Time         `msgpack:"when"`
		Small int8              `msgpack:"small"`
		Pos   uint              `msgpack:"pos"`
		Deep  map[string][]item `msgpack:"deep"`
		Flag  bool              `msgpack:"flag"`
		Text  string            `msgpack:"text"`
	}
	for body, want := range map[string]string{
		`{"count": "x"}`:                               `field "count": want an integer, got a string`,
		`{"items": [{"n": 1}, {"n": []}]}`:             `field "items[1].n": want an integer, got an array`,
		`{"attrs": {"a": 1.5}}`:                        `field "attrs.a": want an integer, got a float`,
		`{"when": "yesterday"}`:                        `field "when": want a lymph datetime, got a string`,
		`{"when": {"__type__": "datetime", "_": "x"}}`: `field "when": invalid datetime "x": want YYYY-MM-DDTHH:MM:SS`,
		`{"when": {"__type__": "date", "_": "x"}}`:     `field "when": want a lymph datetime, got a lymph date`,
		`{"small": 300}`:                               `field "small": 300 does not fit a 8-bit integer`,
		`{"pos": -1}`:                                  `field "pos": -1 does not fit an unsigned integer`,
		`{"deep": {"k": [{"n": {}}]}}`:                 `field "deep.k[0].n": want an integer, got a map`,
		`{"flag": 1}`:                                  `field "flag": want a boolean, got an integer`,
		`{"text": [1]}`:                                `field "text": want a string, got an array`,
		`{"items": {"n": 1}}`:                          `field "items": want an array, got a map of 1 entries`,
	} {
		var r reply
		err := Unmarshal(mustMarshal(t, pyValue(t, body)), &r)
		require.Error(t, err, body)
		assert.Equal(t, want, err.Error(), body)
		var de *DecodeError
		assert.True(t, errors.As(err, &de), "%s: a *DecodeError", body)
	}

	var n int
	assert.EqualError(t, Unmarshal(mustMarshal(t, "x"), &n), "want an integer, got a string", "the whole document has no path")
}

// pyValue reads a JSON literal, integers as int64.
func pyValue(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v), s)
	return intsOf(v)
}

func intsOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = intsOf(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = intsOf(x[k])
		}
	}
	return v
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func TestStructNames(t *testing.T) {
	type Base struct {
		ID       int
		Shadowed string
	}
	type Other struct{ Shadowed string }
	type named struct {
		FirstName string
		UserID    int
		HTTPCode  int
		Tagged    int    `msgpack:"Tagged"`
		Skip      int    `msgpack:"-"`
		Empty     string `msgpack:",omitempty"`
		private   int
		Base
		*Other        // "shadowed" is taken: not flattened, travels as "other"
		Embedded Base `msgpack:"embedded"`
	}
	v := named{FirstName: "Ada", UserID: 1, HTTPCode: 2, Tagged: 3, Skip: 4, private: 5,
		Base: Base{ID: 6, Shadowed: "b"}, Other: &Other{Shadowed: "o"}}
	var got map[string]any
	require.NoError(t, Unmarshal(mustMarshal(t, v), &got))
	assert.Equal(t, map[string]any{
		"first_name": "Ada", "user_id": int8(1), "http_code": int8(2), "Tagged": int8(3),
		"id": int8(6), "shadowed": "b", "other": map[string]any{"shadowed": "o"},
		"embedded": map[string]any{"id": int8(0), "shadowed": ""},
	}, got)

	var back named
	require.NoError(t, Unmarshal(mustMarshal(t, v), &back))
	v.Skip, v.private = 0, 0
	assert.Equal(t, v, back)
	assert.Equal(t, []string{"first_name", "user_id", "http_code", "Tagged", "empty", "id", "shadowed", "other", "embedded"},
		ArgNames(reflect.TypeFor[named]()))
}

func TestMapsAreSorted(t *testing.T) {
	assert.Equal(t, unhex(t, "83 01 a1 61 02 a1 62 03 a1 63"), mustMarshal(t, map[int]string{3: "c", 1: "a", 2: "b"}))
	assert.Equal(t, unhex(t, "82 a1 61 01 a1 62 02"), mustMarshal(t, map[string]int{"b": 2, "a": 1}))
	assert.Equal(t, unhex(t, "83 01 02 a1 61 03 a1 62 04"), mustMarshal(t, map[any]int{"b": 4, 1: 2, "a": 3}),
		"mixed keys by their encoded bytes")
}

type custom struct{ n int }

func (c custom) EncodeMsgpack(e *msgpack.Encoder) error { return e.EncodeString(fmt.Sprint("n=", c.n)) }

func (c *custom) DecodeMsgpack(d *msgpack.Decoder) error {
	s, err := d.DecodeString()
	if err != nil {
		return err
	}
	_, err = fmt.Sscanf(s, "n=%d", &c.n)
	return err
}

type marshaler struct{ s string }

func (m marshaler) MarshalMsgpack() ([]byte, error) { return msgpack.Marshal(m.s) }

func (m *marshaler) UnmarshalMsgpack(b []byte) error { return msgpack.Unmarshal(b, &m.s) }

type textOnly struct{ s string }

func (x textOnly) MarshalText() ([]byte, error) { return []byte(x.s), nil }

func (x *textOnly) UnmarshalText(b []byte) error {
	x.s = string(b)
	return nil
}

func TestTypesWrittenForMsgpack(t *testing.T) {
	type holder struct {
		C  custom     `msgpack:"c"`
		M  marshaler  `msgpack:"m"`
		IP netip.Addr `msgpack:"ip"` // a BinaryMarshaler: bin
		T  textOnly   `msgpack:"t"`  // a TextMarshaler: bin too, as msgpack sends it
	}
	in := holder{C: custom{7}, M: marshaler{"x"}, IP: netip.MustParseAddr("10.0.0.1"), T: textOnly{"hi"}}
	b := mustMarshal(t, in)
	assert.Equal(t, unhex(t, "84 a1 63 a3 "+hexOf("n=7")+" a1 6d a1 78 a2 6970 c4 04 0a000001 a1 74 c4 02 "+hexOf("hi")), b)
	var out holder
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)
}

func TestEncodeCycleIsAnError(t *testing.T) {
	type node struct{ Next *node }
	n := &node{}
	n.Next = n
	_, err := Marshal(n)
	assert.ErrorContains(t, err, "nested deeper than")

	m := map[string]any{}
	m["self"] = m
	_, err = Marshal(m)
	assert.ErrorContains(t, err, "nested deeper than")
}

func TestRecursiveTypes(t *testing.T) {
	type tree struct {
		Name     string  `msgpack:"name"`
		Children []*tree `msgpack:"children,omitempty"`
	}
	in := &tree{Name: "root", Children: []*tree{{Name: "a"}, {Name: "b", Children: []*tree{{Name: "c"}}}}}
	var out *tree
	require.NoError(t, Unmarshal(mustMarshal(t, in), &out))
	assert.Equal(t, in, out)
}

// A big value is copied once, into the output: AppendMarshal into a
// buffer with room allocates nothing for it, and Marshal hands over the
// buffer it encoded into.
func TestLargeValuesCopiedOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	big := bytes.Repeat([]byte{'x'}, 1<<20)
	text := strings.Repeat("y", 1<<20)
	dst := make([]byte, 0, 3<<20)
	var v any = map[string]any{"b": big, "s": text}
	allocs := testing.AllocsPerRun(20, func() {
		out, err := AppendMarshal(dst[:0], v)
		if err != nil || len(out) < 2<<20 {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "AppendMarshal into room")

	before := totalAlloc()
	out, err := Marshal(v)
	require.NoError(t, err)
	assert.Less(t, totalAlloc()-before, uint64(5<<20), "Marshal of 2 MiB: no copy of the whole message on top of the growth")
	assert.Len(t, out, 2<<20+len("\x82\xa1b\xc6\x00\x10\x00\x00\xa1s\xdb\x00\x10\x00\x00"))
}

// A decoded []byte or string is the value's own copy: writing to the
// document afterwards (a message's body, which Message.RawBody still
// shows) changes neither, and writing to the []byte leaves the document
// as it was for a second decode.
func TestDecodedBytesDoNotAliasTheDocument(t *testing.T) {
	data := mustMarshal(t, map[string]any{"b": []byte("bytes"), "s": "text"})
	orig := bytes.Clone(data)
	var v struct {
		B []byte `msgpack:"b"`
		S string `msgpack:"s"`
	}
	require.NoError(t, Unmarshal(data, &v))
	var x any
	require.NoError(t, Unmarshal(data, &x))
	v.B[0] = 'X'
	assert.Equal(t, orig, data, "writing to a decoded []byte changed the document")
	for i := range data {
		data[i] = 0
	}
	assert.Equal(t, "Xytes", string(v.B))
	assert.Equal(t, "text", v.S)
	assert.Equal(t, map[string]any{"b": []byte("bytes"), "s": "text"}, x)
}

// A message's big body is copied once, into the message's one buffer:
// MarshalMessage and MarshalRequest of 1 MiB allocate about 1 MiB, not a
// second payload-sized buffer to copy it through.
func TestLargeMessageEncodedOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	text := strings.Repeat("z", 1<<20)
	var body any = text
	args := map[string]any{"text": text}
	before := totalAlloc()
	headers, encoded, err := MarshalMessage("trace", "1.0", body)
	require.NoError(t, err)
	assert.Less(t, totalAlloc()-before, uint64(1<<20+64<<10), "MarshalMessage of 1 MiB")
	var got string
	require.NoError(t, Unmarshal(encoded, &got))
	assert.Equal(t, text, got)
	h, err := UnmarshalHeaders(headers)
	require.NoError(t, err)
	assert.Equal(t, "trace", h[HeaderTraceID])

	before = totalAlloc()
	_, encoded, err = MarshalRequest("trace", "1.0", 3000, nil, args)
	require.NoError(t, err)
	assert.Less(t, totalAlloc()-before, uint64(1<<20+64<<10), "MarshalRequest of 1 MiB")
	var gotArgs map[string]string
	require.NoError(t, Unmarshal(encoded, &gotArgs))
	assert.Equal(t, text, gotArgs["text"])
}
