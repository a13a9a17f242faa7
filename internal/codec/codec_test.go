package codec

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// unhex reads a hex literal that may be split by spaces for legibility.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// hexOf is the text of a str as hex, to write goldens as "a4 " + hexOf("date").
func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }

type inner struct {
	Count int      `msgpack:"count"`
	Tags  []string `msgpack:"tags,omitempty"`
}

type everything struct {
	Str     string           `msgpack:"str"`
	Bytes   []byte           `msgpack:"bytes"`
	Int     int              `msgpack:"int"`
	Int8    int8             `msgpack:"int8"`
	Uint    uint64           `msgpack:"uint"`
	Float   float64          `msgpack:"float"`
	Float32 float32          `msgpack:"float32"`
	Bool    bool             `msgpack:"bool"`
	Ptr     *inner           `msgpack:"ptr"`
	Nil     *inner           `msgpack:"nil"`
	Slice   []inner          `msgpack:"slice"`
	Array   [2]int           `msgpack:"array"`
	Map     map[string]int   `msgpack:"map"`
	IntMap  map[int]string   `msgpack:"int_map"`
	Any     any              `msgpack:"any"`
	When    time.Time        `msgpack:"when"`
	Day     Date             `msgpack:"day"`
	Clock   TimeOfDay        `msgpack:"clock"`
	Price   Decimal          `msgpack:"price"`
	ID      uuid.UUID        `msgpack:"id"`
	Set     Set              `msgpack:"set"`
	Raw     Raw              `msgpack:"raw"`
	Nested  map[string][]int `msgpack:"nested"`
	Skip    string           `msgpack:"-"`
	private int
}

func sampleEverything() everything {
	return everything{
		Str:     "héllo",
		Bytes:   []byte{0, 1, 2},
		Int:     -70000,
		Int8:    -5,
		Uint:    math.MaxUint64,
		Float:   1.5,
		Float32: 0.25,
		Bool:    true,
		Ptr:     &inner{Count: 3, Tags: []string{"a"}},
		Slice:   []inner{{Count: 1}, {Count: 2}},
		Array:   [2]int{7, 8},
		Map:     map[string]int{"b": 2, "a": 1},
		IntMap:  map[int]string{2: "two", 1: "one"},
		Any:     map[string]any{"k": []any{int8(1), "x", nil}},
		When:    time.Date(2024, 1, 31, 13, 45, 0, 123456000, time.FixedZone("", 3600)),
		Day:     Date{2024, time.February, 29},
		Clock:   TimeOfDay{Hour: 23, Minute: 59, Second: 58},
		Price:   "-12.50",
		ID:      uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
		Set:     Set{"a", int8(2)},
		Raw:     Raw{0x93, 1, 2, 3},
		Nested:  map[string][]int{"x": {1, 2}},
	}
}

// plain is a struct with no lymph values, for the fuzzer.
type plain struct {
	A string         `msgpack:"a"`
	B []int          `msgpack:"b"`
	C map[string]any `msgpack:"c"`
}

type fmtStringer interface{ String() string }

func TestRoundTripStruct(t *testing.T) {
	in := sampleEverything()
	b, err := Marshal(in)
	require.NoError(t, err)

	var out everything
	require.NoError(t, Unmarshal(b, &out))
	assert.True(t, in.When.Equal(out.When), "when: %v != %v", in.When, out.When)
	_, off := out.When.Zone()
	assert.Equal(t, 3600, off, "the offset survives")
	out.When = in.When
	assert.Equal(t, in, out)
}

func TestTextKeyedMapsEncodeDeterministically(t *testing.T) {
	m := map[string]any{"b": 2, "a": map[string]string{"y": "1", "x": "2"}, "c": map[string]bool{"q": true, "p": false}}
	first, err := Marshal(m)
	require.NoError(t, err)
	for range 20 {
		again, err := Marshal(m)
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}

func TestRoundTripAny(t *testing.T) {
	when := time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC)
	for name, tc := range map[string]struct{ in, want any }{
		"str":       {"héllo", "héllo"},
		"bin":       {[]byte{1, 2}, []byte{1, 2}},
		"nil":       {nil, nil},
		"small":     {5, int8(5)},
		"negative":  {-70000, int32(-70000)},
		"big uint":  {uint64(math.MaxUint64), uint64(math.MaxUint64)},
		"float":     {1.5, 1.5},
		"list":      {[]any{"a", []byte("b")}, []any{"a", []byte("b")}},
		"map":       {map[string]any{"a": "b"}, map[string]any{"a": "b"}},
		"int keys":  {map[int]string{1: "x"}, map[any]any{int8(1): "x"}},
		"datetime":  {when, when},
		"in a map":  {map[string]any{"t": when}, map[string]any{"t": when}},
		"in a list": {[]any{when}, []any{when}},
		"date":      {Date{2024, 2, 29}, Date{2024, 2, 29}},
		"time":      {TimeOfDay{Hour: 1, Minute: 2, Second: 3}, TimeOfDay{Hour: 1, Minute: 2, Second: 3}},
		"decimal":   {Decimal("1.50"), Decimal("1.50")},
		"uuid":      {uuid.Nil, uuid.Nil},
		"set":       {Set{"a"}, Set{"a"}},
		"nested":    {Nested{Value: map[string]any{"foo": 42}}, Nested{Value: map[string]any{"foo": int8(42)}}},
	} {
		b, err := Marshal(tc.in)
		require.NoError(t, err, name)
		var out any
		require.NoError(t, Unmarshal(b, &out), name)
		if w, ok := tc.want.(time.Time); ok {
			assert.True(t, w.Equal(out.(time.Time)), name)
			continue
		}
		assert.Equal(t, tc.want, out, name)
	}
}

func TestUnknownLymphTypeStaysAMap(t *testing.T) {
	b := unhex(t, "82 a8 "+hexOf("__type__")+" a4 "+hexOf("frob")+" a1 5f a1 78")
	var out any
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, map[string]any{"__type__": "frob", "_": "x"}, out)
}

func TestTypedLymphValues(t *testing.T) {
	when := time.Date(2024, 1, 31, 13, 45, 0, 0, time.FixedZone("", -5*3600))
	b, err := Marshal(when)
	require.NoError(t, err)
	var tm time.Time
	require.NoError(t, Unmarshal(b, &tm), "a top-level *time.Time uses lymph's form too")
	assert.True(t, when.Equal(tm))

	b, err = Marshal(Set{"a", "b"})
	require.NoError(t, err)
	var set Set
	require.NoError(t, Unmarshal(b, &set))
	assert.Equal(t, Set{"a", "b"}, set)

	var id uuid.UUID
	require.Error(t, Unmarshal(mustMarshal(t, "not a uuid envelope"), &id))
}

// A time.Time travels as lymph's datetime wherever it sits. msgpack's own
// map[string]any encoder wrote the values of such a map past the
// registered time encoder, as the msgpack timestamp extension; struct
// fields and interfaces holding such maps carried it to the wire.
func TestTimesAnywhereInLymphForm(t *testing.T) {
	when := time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC)
	datetime := mustMarshal(t, when)
	require.Equal(t, byte(0x82), datetime[0], "an envelope map")
	for name, v := range map[string]any{
		"pointer":                       &when,
		"in map[string]any":             map[string]any{"t": when},
		"pointer in map[string]any":     map[string]any{"t": &when},
		"in []any":                      []any{when},
		"in map[any]any in map[any]any": map[any]any{1: map[string]any{"t": when}},
		"in a map field":                struct{ M map[string]any }{map[string]any{"t": when}},
		"in a map in an interface":      struct{ A any }{map[string]any{"t": when}},
		"in a slice of maps":            []map[string]any{{"t": when}},
		"in a Set":                      Set{when},
	} {
		b := mustMarshal(t, v)
		assert.True(t, bytes.Contains(b, datetime), "%s: %x has no lymph datetime", name, b)
		var out any
		assert.NoError(t, Unmarshal(b, &out), name)
	}
}

func TestMarshalErrors(t *testing.T) {
	for name, v := range map[string]any{
		"chan":          make(chan int),
		"func":          func() {},
		"bad decimal":   Decimal("abc"),
		"bad date":      Date{2024, 13, 1},
		"year 0":        time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		"chan in a map": map[string]any{"c": make(chan int)},
	} {
		_, err := Marshal(v)
		assert.Error(t, err, name)
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":          {},
		"never used":     {0xc1},
		"truncated str":  {0xa5, 'a'},
		"huge array":     {0xdd, 0xff, 0xff, 0xff, 0xff},
		"huge map":       {0xdf, 0xff, 0xff, 0xff, 0xff},
		"trailing bytes": {0xc0, 0xc0},
		"array key":      unhex(t, "81 91 01 02"),
	} {
		var out any
		assert.Error(t, Unmarshal(data, &out), name)
	}
}

func TestBytesAfterDocumentAreAnError(t *testing.T) {
	var s string
	err := Unmarshal([]byte{0xa1, 'x', 0x01}, &s)
	assert.ErrorContains(t, err, "1 bytes after the msgpack document")
}
