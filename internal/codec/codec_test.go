package codec

import (
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
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
		Any:     map[string]any{"k": []any{int64(1), "x", nil}},
		When:    time.Date(2024, 1, 31, 13, 45, 0, 123456000, time.FixedZone("", 3600)),
		Day:     Date{2024, time.February, 29},
		Clock:   TimeOfDay{Hour: 23, Minute: 59, Second: 58},
		Price:   "-12.50",
		ID:      uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
		Set:     Set{"a", int64(2)},
		Raw:     Raw{0x93, 1, 2, 3},
		Nested:  map[string][]int{"x": {1, 2}},
	}
}

func TestRoundTripStruct(t *testing.T) {
	in := sampleEverything()
	b, err := Marshal(in)
	require.NoError(t, err)

	var out everything
	require.NoError(t, Unmarshal(b, &out))
	assert.True(t, in.When.Equal(out.When), "when: %v != %v", in.When, out.When)
	_, off := out.When.Zone()
	assert.Equal(t, 3600, off)
	out.When = in.When
	assert.Equal(t, in, out)

	// Encoding is deterministic, maps included.
	again, err := Marshal(out)
	require.NoError(t, err)
	assert.Equal(t, b, again)
}

func TestRoundTripAny(t *testing.T) {
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tests := []struct {
		name string
		in   any
		want any // decoded into any; nil means same as in
	}{
		{"nil", nil, nil},
		{"true", true, nil},
		{"false", false, nil},
		{"small int", int64(5), nil},
		{"negative int", int64(-1000000), nil},
		{"int becomes int64", 42, int64(42)},
		{"uint8 becomes int64", uint8(200), int64(200)},
		{"big uint", uint64(math.MaxUint64), nil},
		{"min int64", int64(math.MinInt64), nil},
		{"float", 3.25, nil},
		{"float32 becomes float64", float32(0.5), 0.5},
		{"string", "text", nil},
		{"long string", strings.Repeat("x", 70000), nil},
		{"empty string", "", nil},
		{"bytes", []byte{1, 2, 3}, nil},
		{"empty bytes", []byte{}, nil},
		{"long bytes", make([]byte, 300), nil},
		{"array", []any{int64(1), "a", nil, []any{}}, nil},
		{"long array", make([]any, 20), nil},
		{"string slice", []string{"a", "b"}, []any{"a", "b"}},
		{"map", map[string]any{"a": int64(1), "b": map[string]any{}}, nil},
		{"map of strings", map[string]string{"a": "b"}, map[string]any{"a": "b"}},
		{"int keys", map[int]string{1: "a"}, map[any]any{int64(1): "a"}},
		{"datetime", when, nil},
		{"date", Date{2024, 1, 31}, nil},
		{"time", TimeOfDay{Hour: 1, Minute: 2, Second: 3}, nil},
		{"decimal", Decimal("1E+3"), nil},
		{"uuid", uuid.MustParse("00000000-0000-4000-8000-000000000000"), nil},
		{"set", Set{"a", "b"}, nil},
		{"set of datetimes", Set{when}, nil},
		{"ext", Ext{Type: 7, Data: []byte{1, 2, 3}}, nil},
		{"embedded", Embedded{0x81, 0xa3, 'f', 'o', 'o', 0x2a}, map[string]any{"foo": int64(42)}},
		{"raw", Raw{0x92, 0x01, 0xc0}, []any{int64(1), nil}},
		{"unknown lymph type stays a map", map[string]any{"__type__": "UndefinedType", "_": ""}, nil},
		{"three keys is no typed map", map[string]any{"__type__": "date", "_": "2024-01-31", "x": true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.in)
			require.NoError(t, err)
			var out any
			require.NoError(t, Unmarshal(b, &out))
			want := tt.want
			if want == nil {
				want = tt.in
			}
			assert.Equal(t, want, out)
		})
	}
}

func TestAppendMarshal(t *testing.T) {
	dst := []byte{0xff}
	b, err := AppendMarshal(dst, "a")
	require.NoError(t, err)
	assert.Equal(t, []byte{0xff, 0xa1, 'a'}, b)

	b, err = AppendMarshal(dst, make(chan int))
	var ute *UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, []byte{0xff}, b)
}

func TestMarshalErrors(t *testing.T) {
	type cycle struct {
		Next *cycle
	}
	loop := &cycle{}
	loop.Next = loop
	tests := []struct {
		name string
		in   any
		msg  string
	}{
		{"channel", make(chan int), "cannot encode value of type chan int"},
		{"func in map", map[string]any{"f": func() {}}, "cannot encode value of type func()"},
		{"complex", complex(1, 2), "complex128"},
		{"invalid date", Date{2023, 2, 29}, "invalid date 2023-02-29"},
		{"invalid time", TimeOfDay{Hour: 24}, "invalid time"},
		{"invalid decimal", Decimal("12,5"), `invalid decimal "12,5"`},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "year 10000 is outside 1..9999"},
		{"cycle", loop, "nesting deeper than 1000 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestZeroValuesOfTextTypesAreNil(t *testing.T) {
	b, err := Marshal(struct {
		D Date
		M Decimal
		S Set
	}{})
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "83 a1"+hexOf("D")+"c0 a1"+hexOf("M")+"c0 a1"+hexOf("S")+"c0"), b)
}

func TestDecodeTyped(t *testing.T) {
	when := time.Date(2014, 9, 12, 8, 33, 12, 0, time.UTC)
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	enc := func(v any) []byte {
		b, err := Marshal(v)
		require.NoError(t, err)
		return b
	}
	t.Run("int from integral float", func(t *testing.T) {
		var n int
		require.NoError(t, Unmarshal(enc(3.0), &n))
		assert.Equal(t, 3, n)
	})
	t.Run("float from int", func(t *testing.T) {
		var f float64
		require.NoError(t, Unmarshal(enc(7), &f))
		assert.Equal(t, 7.0, f)
	})
	t.Run("string from bin", func(t *testing.T) {
		var s string
		require.NoError(t, Unmarshal(enc([]byte("py2")), &s))
		assert.Equal(t, "py2", s)
	})
	t.Run("bytes from str", func(t *testing.T) {
		var b []byte
		require.NoError(t, Unmarshal(enc("x"), &b))
		assert.Equal(t, []byte("x"), b)
	})
	t.Run("string from UUID", func(t *testing.T) {
		var s string
		require.NoError(t, Unmarshal(enc(id), &s))
		assert.Equal(t, id.String(), s)
	})
	t.Run("time from bare text", func(t *testing.T) {
		var got time.Time
		require.NoError(t, Unmarshal(enc("2014-09-12T08:33:12"), &got))
		assert.Equal(t, when, got)
	})
	t.Run("time from msgpack timestamp", func(t *testing.T) {
		var got time.Time
		require.NoError(t, Unmarshal(unhex(t, "d6 ff 5412afc8"), &got)) // 32-bit seconds
		assert.Equal(t, when, got)
		var x any
		require.NoError(t, Unmarshal(unhex(t, "d6 ff 5412afc8"), &x))
		assert.Equal(t, when, x)
	})
	t.Run("uuid from 16 bytes", func(t *testing.T) {
		var got uuid.UUID
		require.NoError(t, Unmarshal(enc(id[:]), &got))
		assert.Equal(t, id, got)
	})
	t.Run("decimal from int", func(t *testing.T) {
		var got Decimal
		require.NoError(t, Unmarshal(enc(-12), &got))
		assert.Equal(t, Decimal("-12"), got)
	})
	t.Run("set into typed slice", func(t *testing.T) {
		var got []string
		require.NoError(t, Unmarshal(enc(Set{"a", "b"}), &got))
		assert.Equal(t, []string{"a", "b"}, got)
	})
	t.Run("set inside struct", func(t *testing.T) {
		var got struct {
			S []int `msgpack:"s"`
			N int   `msgpack:"n"`
		}
		require.NoError(t, Unmarshal(enc(map[string]any{"s": Set{1, 2}, "n": 3}), &got))
		assert.Equal(t, []int{1, 2}, got.S)
		assert.Equal(t, 3, got.N)
	})
	t.Run("array into Set", func(t *testing.T) {
		var got Set
		require.NoError(t, Unmarshal(enc([]any{"a"}), &got))
		assert.Equal(t, Set{"a"}, got)
	})
	t.Run("embedded document into struct", func(t *testing.T) {
		var got struct {
			Foo int `msgpack:"foo"`
		}
		require.NoError(t, Unmarshal(enc(Embedded(enc(map[string]int{"foo": 42}))), &got))
		assert.Equal(t, 42, got.Foo)
	})
	t.Run("embedded into Embedded", func(t *testing.T) {
		doc := enc(map[string]int{"foo": 42})
		var got Embedded
		require.NoError(t, Unmarshal(enc(Embedded(doc)), &got))
		assert.Equal(t, Embedded(doc), got)
	})
	t.Run("nil into values", func(t *testing.T) {
		v := sampleEverything()
		require.NoError(t, Unmarshal([]byte{0xc0}, &v))
		assert.Equal(t, everything{}, v)
		p := &inner{Count: 1}
		require.NoError(t, Unmarshal([]byte{0xc0}, &p))
		assert.Nil(t, p)
	})
	t.Run("unknown fields ignored", func(t *testing.T) {
		var got inner
		require.NoError(t, Unmarshal(enc(map[string]any{"count": 2, "other": []any{1}, "x": map[string]any{}}), &got))
		assert.Equal(t, inner{Count: 2}, got)
	})
	t.Run("non-text keys skipped in struct", func(t *testing.T) {
		var got inner
		require.NoError(t, Unmarshal(enc(map[int]int{1: 2}), &got))
		assert.Equal(t, inner{}, got)
	})
	t.Run("array into Go array", func(t *testing.T) {
		got := [3]int{9, 9, 9}
		require.NoError(t, Unmarshal(enc([]int{1, 2}), &got))
		assert.Equal(t, [3]int{1, 2, 0}, got)
		var short [1]int
		require.NoError(t, Unmarshal(enc([]int{1, 2}), &short))
		assert.Equal(t, [1]int{1}, short)
	})
	t.Run("non-empty interface holding a pointer", func(t *testing.T) {
		var got fmtStringer = &named{}
		require.NoError(t, Unmarshal(enc(map[string]string{"Name": "x"}), &got))
		assert.Equal(t, "x", got.String())
	})
	t.Run("Raw keeps the document", func(t *testing.T) {
		var got struct {
			R Raw `msgpack:"r"`
		}
		require.NoError(t, Unmarshal(enc(map[string]any{"r": []any{1, "a"}}), &got))
		assert.Equal(t, Raw(enc([]any{1, "a"})), got.R)
	})
	t.Run("any map with non-text key", func(t *testing.T) {
		var got any
		require.NoError(t, Unmarshal(enc(map[any]any{"a": 1, int64(2): "b"}), &got))
		assert.Equal(t, map[any]any{"a": int64(1), int64(2): "b"}, got)
	})
	t.Run("bin keys are text", func(t *testing.T) {
		var got any
		require.NoError(t, Unmarshal(unhex(t, "81 c4 01 61 01"), &got))
		assert.Equal(t, map[string]any{"a": int64(1)}, got)
	})
	t.Run("typed map in either key order", func(t *testing.T) {
		var got any
		b := unhex(t, "82 a1 5f aa "+hexOf("2024-01-31")+" a8 "+hexOf("__type__")+" a4 "+hexOf("date"))
		require.NoError(t, Unmarshal(b, &got))
		assert.Equal(t, Date{2024, 1, 31}, got)
	})
}

type fmtStringer interface{ String() string }

type named struct{ Name string }

func (n *named) String() string { return n.Name }

func TestDecodeErrors(t *testing.T) {
	enc := func(v any) []byte {
		b, err := Marshal(v)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name   string
		data   []byte
		target any
		msg    string
	}{
		{"empty", nil, new(any), "unexpected end of data"},
		{"truncated str", []byte{0xa5, 'a'}, new(any), "unexpected end of data"},
		{"invalid code", []byte{0xc1}, new(any), "invalid code 0xc1"},
		{"trailing bytes", []byte{0x01, 0x02}, new(any), "1 bytes after the end of the document"},
		{"huge array", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, new(any), "unexpected end of data"},
		{"huge map", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, new(any), "unexpected end of data"},
		{"str into int", enc("x"), new(int), "cannot decode str into int"},
		{"overflow", enc(300), new(int8), "cannot decode int 300 into int8: out of range"},
		{"negative into uint", enc(-1), new(uint), "cannot decode int -1 into uint: out of range"},
		{"fraction into int", enc(1.5), new(int), "cannot decode float 1.5 into int"},
		{"big uint into int64", enc(uint64(math.MaxUint64)), new(int64), "cannot decode int 18446744073709551615 into int64"},
		{"date into time", enc(Date{2024, 1, 1}), new(time.Time), "cannot decode date into time.Time"},
		{"date into struct", enc(Date{2024, 1, 1}), new(inner), "cannot decode date into codec.inner"},
		{"bad date text", enc(map[string]any{"__type__": "date", "_": "2024-02-30"}), new(any), `invalid date "2024-02-30": no such day`},
		{"bad date holder", enc(map[string]any{"__type__": "date", "_": 5}), new(any), "cannot decode date holding int"},
		{"bad decimal", enc(map[string]any{"__type__": "Decimal", "_": "1.2.3"}), new(any), `invalid decimal "1.2.3"`},
		{"bad uuid", enc(map[string]any{"__type__": "UUID", "_": "nope"}), new(uuid.UUID), "invalid UUID length"},
		{"bad set", enc(map[string]any{"__type__": "set", "_": "x"}), new(any), "cannot decode set holding str"},
		{"path", enc(map[string]any{"slice": []any{map[string]any{"count": "x"}}}), new(everything), "cannot decode str into int at .slice[0].count"},
		{"map path", enc(map[string]any{"map": map[string]any{"k": "v"}}), new(everything), `cannot decode str into int at .map["k"]`},
		{"array key", unhex(t, "81 91 01 02"), new(any), "[]interface {} as a map key"},
		{"bytes of wrong length", enc([]byte{1}), new(uuid.UUID), "invalid UUID"},
		{"non-pointer", enc(1), 5, "Unmarshal(non-pointer int)"},
		{"nil pointer", enc(1), (*int)(nil), "Unmarshal(nil *int)"},
		{"timestamp with bad nanos", unhex(t, "d7 ff ffffffff 00000000"), new(any), "timestamp nanoseconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(tt.data, tt.target)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestNestingLimit(t *testing.T) {
	deep := make([]byte, 0, 2*maxDepth+1)
	for range maxDepth + 1 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	var x any
	err := Unmarshal(deep, &x)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nesting deeper than 1000 levels")

	var typed []any
	assert.Error(t, Unmarshal(deep, &typed))

	ok := deep[1:] // exactly maxDepth levels
	require.NoError(t, Unmarshal(ok, &x))
}

func TestTextMarshalerTypes(t *testing.T) {
	b, err := Marshal(netAddr{"10.0.0.1"})
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "a8 "+hexOf("10.0.0.1")), b)

	var got netAddr
	require.NoError(t, Unmarshal(b, &got))
	assert.Equal(t, netAddr{"10.0.0.1"}, got)
}

type netAddr struct{ ip string }

func (a netAddr) MarshalText() ([]byte, error) { return []byte(a.ip), nil }

func (a *netAddr) UnmarshalText(b []byte) error {
	a.ip = string(b)
	return nil
}

func TestEmbeddedStructs(t *testing.T) {
	type Base struct {
		ID   int    `msgpack:"id"`
		Name string `msgpack:"name"`
	}
	type Extra struct{ Note string }
	type Outer struct {
		Base
		*Extra
		Name  string `msgpack:"name"` // shadows Base.Name
		Kept  Base   `msgpack:"kept"`
		Solid Base   `msgpack:",noinline"`
	}
	assert.Equal(t, []string{"id", "Note", "name", "kept", "Solid"}, ArgNames(reflect.TypeFor[Outer]()))

	in := Outer{Base: Base{ID: 1, Name: "hidden"}, Name: "outer", Extra: &Extra{Note: "n"}}
	b, err := Marshal(in)
	require.NoError(t, err)
	var out Outer
	require.NoError(t, Unmarshal(b, &out))
	in.Base.Name = "" // shadowed: not on the wire
	assert.Equal(t, in, out)

	// A nil embedded pointer leaves its fields out.
	b, err = Marshal(Outer{})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, Unmarshal(b, &m))
	assert.NotContains(t, m, "Note")
}

func TestOmitEmpty(t *testing.T) {
	type opt struct {
		A string    `msgpack:"a,omitempty"`
		B []int     `msgpack:"b,omitempty"`
		C time.Time `msgpack:"c,omitempty"`
		D *int      `msgpack:"d,omitempty"`
		E int       `msgpack:"e"`
	}
	b, err := Marshal(opt{})
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "81 a1 65 00"), b)
}

func TestEmbeddedNilIntoNonEmptyInterface(t *testing.T) {
	var s fmtStringer // nil: decoded as any, then checked against the interface
	require.NoError(t, Unmarshal(unhex(t, "d4 65 c0"), &s))
	assert.Nil(t, s)
	err := Unmarshal(unhex(t, "01"), &s)
	assert.ErrorContains(t, err, "cannot decode int64 into codec.fmtStringer")
}

type node struct {
	Val  int     `msgpack:"val"`
	Kids []*node `msgpack:"kids,omitempty"`
	Next *node   `msgpack:"next,omitempty"`
}

// TestConcurrentFirstUse builds the cached codecs of a recursive type from
// many goroutines at once; run with -race.
func TestConcurrentFirstUse(t *testing.T) {
	in := &node{Val: 1, Kids: []*node{{Val: 2}}, Next: &node{Val: 3, Next: &node{Val: 4}}}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := Marshal(in)
			if err != nil {
				errs <- err
				return
			}
			var out *node
			if err := Unmarshal(b, &out); err != nil {
				errs <- err
				return
			}
			if out.Next.Next.Val != 4 || out.Kids[0].Val != 2 {
				errs <- fmt.Errorf("bad round trip: %+v", out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
