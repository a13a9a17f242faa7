package lymph

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lymphgo/lymph/internal/codec"
)

// wireValues holds one of each of lymph's values, in untagged fields: they
// travel under snake_case keys.
type wireValues struct {
	When      time.Time
	Day       Date
	Clock     TimeOfDay
	Price     Decimal
	ID        uuid.UUID
	Tags      Set
	Doc       Nested
	FirstName string
}

func sampleWireValues() wireValues {
	return wireValues{
		When:      time.Date(2024, 1, 31, 13, 45, 0, 0, time.FixedZone("", 3600)),
		Day:       Date{2024, time.February, 29},
		Clock:     TimeOfDay{Hour: 23, Minute: 59, Second: 58},
		Price:     "-12.50",
		ID:        uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
		Tags:      Set{"a", int8(2)},
		Doc:       Nested{Value: map[string]any{"k": int8(1)}},
		FirstName: "Ada",
	}
}

type wireService struct{ Interface }

// Echo returns its arguments.
func (s *wireService) Echo(ctx context.Context, args wireValues) (wireValues, error) {
	return args, nil
}

type anyArgs struct {
	V any `msgpack:"v"`
}

// Types names the Go types the server decoded each value of a map into.
func (s *wireService) Types(ctx context.Context, args anyArgs) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range args.V.(map[string]any) {
		out[k] = fmt.Sprintf("%T", v)
	}
	return out, nil
}

// Count answers with a count of the wrong type.
func (s *wireService) Count(ctx context.Context) (map[string]any, error) {
	return map[string]any{"count": "twelve", "items": []any{map[string]any{"n": 1}, map[string]any{"n": "x"}}}, nil
}

func wirePair(t *testing.T) *Proxy {
	t.Helper()
	reg := memoryRegistry(t)
	startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&wireService{}))
	}, WithName("wire"))
	client := startContainer(t, reg, nil)
	return client.Proxy("wire")
}

func TestWireTypesTravel(t *testing.T) {
	p := wirePair(t)
	ctx := testContext(t)

	t.Run("typed", func(t *testing.T) {
		in := sampleWireValues()
		out, err := Call[wireValues](ctx, p, "echo", in)
		require.NoError(t, err)
		assert.True(t, in.When.Equal(out.When), "%v != %v", in.When, out.When)
		out.When = in.When
		assert.Equal(t, in, out)
	})
	t.Run("into any, both sides", func(t *testing.T) {
		v := sampleWireValues()
		var reply any
		require.NoError(t, p.Call(ctx, "echo", v, &reply))
		m := reply.(map[string]any)
		assert.Equal(t, []string{"clock", "day", "doc", "first_name", "id", "price", "tags", "when"}, slices.Sorted(maps.Keys(m)),
			"untagged fields travel as snake_case")
		assert.IsType(t, time.Time{}, m["when"])
		assert.Equal(t, v.Day, m["day"])
		assert.Equal(t, v.Clock, m["clock"])
		assert.Equal(t, v.Price, m["price"])
		assert.Equal(t, v.ID, m["id"])
		assert.Equal(t, v.Tags, m["tags"])
		assert.Equal(t, v.Doc, m["doc"])

		types, err := Call[map[string]string](ctx, p, "types", anyArgs{V: reply})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{
			"when": "time.Time", "day": "lymph.Date", "clock": "lymph.TimeOfDay", "price": "lymph.Decimal",
			"id": "uuid.UUID", "tags": "lymph.Set", "doc": "lymph.Nested", "first_name": "string",
		}, types, "a method's `any` argument holds the public types")
	})
	t.Run("a reply that does not fit names the field", func(t *testing.T) {
		var out struct{ Count int }
		err := p.Call(ctx, "count", nil, &out)
		require.Error(t, err)
		assert.Equal(t, `lymph: wire.count: decoding the reply: field "count": want an integer, got a string`, err.Error())
		var de *codec.DecodeError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "count", de.Path)

		var items struct {
			Items []struct{ N int }
		}
		err = p.Call(ctx, "count", nil, &items)
		assert.EqualError(t, err, `lymph: wire.count: decoding the reply: field "items[1].n": want an integer, got a string`)
	})
}

// The public wire types round-trip alone, in containers, and through `any`.
func TestWireTypesRoundTrip(t *testing.T) {
	for name, v := range map[string]any{
		"date":       Date{2024, 1, 31},
		"time":       TimeOfDay{Hour: 8, Minute: 33, Second: 12},
		"decimal":    Decimal("3.1415"),
		"set":        Set{"a", int8(1)},
		"nested":     Nested{Value: map[string]any{"foo": int8(42)}},
		"in a list":  []any{Date{2024, 1, 31}, Decimal("1e3")},
		"in a map":   map[string]any{"d": Date{1, 1, 1}, "s": Set{Date{9999, 12, 31}}},
		"nested set": Nested{Value: Set{"x"}},
	} {
		b, err := codec.Marshal(v)
		require.NoError(t, err, name)
		var out any
		require.NoError(t, codec.Unmarshal(b, &out), name)
		assert.Equal(t, v, out, name)

		typed := reflect.New(reflect.TypeOf(v))
		require.NoError(t, codec.Unmarshal(b, typed.Interface()), name)
		assert.Equal(t, v, typed.Elem().Interface(), name)
	}

	t.Run("a set decodes into a typed slice", func(t *testing.T) {
		b, err := codec.Marshal(Set{"a", "b"})
		require.NoError(t, err)
		var s []string
		require.NoError(t, codec.Unmarshal(b, &s))
		assert.Equal(t, []string{"a", "b"}, s)
	})
	t.Run("zero values are nil", func(t *testing.T) {
		for _, v := range []any{Date{}, Decimal("")} {
			b, err := codec.Marshal(v)
			require.NoError(t, err)
			assert.Equal(t, []byte{0xc0}, b, "%T", v)
		}
	})
	t.Run("the same bytes as the codec's goldens", func(t *testing.T) {
		// Public and internal types are one wire form.
		for _, pair := range [][2]any{
			{Date{2024, 1, 31}, codec.Date{Year: 2024, Month: 1, Day: 31}},
			{TimeOfDay{Hour: 1}, codec.TimeOfDay{Hour: 1}},
			{Decimal("1.5"), codec.Decimal("1.5")},
			{Set{"a"}, codec.Set{"a"}},
			{Nested{Value: "x"}, codec.Nested{Value: "x"}},
		} {
			a, err := codec.Marshal(pair[0])
			require.NoError(t, err)
			b, err := codec.Marshal(pair[1])
			require.NoError(t, err)
			assert.Equal(t, b, a, "%T", pair[0])
		}
	})
	t.Run("invalid values cannot be sent", func(t *testing.T) {
		for _, v := range []any{Date{2024, 13, 1}, TimeOfDay{Hour: 24}, Decimal("abc")} {
			_, err := codec.Marshal(v)
			assert.ErrorContains(t, err, "cannot encode lymph.", "%#v", v)
		}
	})
}

func TestWireTypeConstructors(t *testing.T) {
	d, err := ParseDate("2024-02-29")
	require.NoError(t, err)
	assert.Equal(t, Date{2024, time.February, 29}, d)
	assert.Equal(t, "2024-02-29", d.String())
	assert.True(t, d.Valid())
	assert.Equal(t, d, DateOf(time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)))
	assert.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), d.In(time.UTC))
	_, err = ParseDate("2023-02-29")
	assert.Error(t, err)
	text, err := d.MarshalText()
	require.NoError(t, err)
	var back Date
	require.NoError(t, back.UnmarshalText(text))
	assert.Equal(t, d, back)

	tod, err := ParseTimeOfDay("08:33:12.25Z")
	require.NoError(t, err)
	assert.Equal(t, TimeOfDay{Hour: 8, Minute: 33, Second: 12, Nanosecond: 250000000}, tod)
	assert.Equal(t, "08:33:12.250000000", tod.String())
	assert.Equal(t, time.Date(2024, 2, 29, 8, 33, 12, 250000000, time.UTC), tod.On(d, time.UTC))
	assert.Equal(t, TimeOfDay{Hour: 1, Minute: 2, Second: 3, Nanosecond: 4}, TimeOfDayOf(time.Date(2000, 1, 1, 1, 2, 3, 4, time.UTC)))
	assert.False(t, TimeOfDay{Minute: 60}.Valid())

	dec, err := ParseDecimal("-1.50E+3")
	require.NoError(t, err)
	assert.Equal(t, Decimal("-1.50E+3"), dec)
	assert.True(t, dec.Valid())
	_, err = ParseDecimal("1,5")
	assert.Error(t, err)
}

// The public wire types are plain Go values: no msgpack in their method
// sets.
func TestWireTypesHaveNoMsgpackMethods(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[Date](), reflect.TypeFor[TimeOfDay](), reflect.TypeFor[Decimal](),
		reflect.TypeFor[Set](), reflect.TypeFor[Nested](),
	} {
		for _, tt := range []reflect.Type{typ, reflect.PointerTo(typ)} {
			for i := range tt.NumMethod() {
				assert.NotContains(t, strings.ToLower(tt.Method(i).Name), "msgpack", "%s.%s", tt, tt.Method(i).Name)
			}
		}
	}
}

// lymph's forms are lymph's own: vmihailenco/msgpack, used directly in the
// same binary, keeps its own encoding of the types lymph encodes its way.
func TestMsgpackUsersAreUnaffected(t *testing.T) {
	when := time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC)
	id := uuid.MustParse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")

	// Make sure lymph has encoded them first, in case encoding registered
	// anything on the way.
	_, err := codec.Marshal(map[string]any{"t": when, "id": id})
	require.NoError(t, err)

	b, err := msgpack.Marshal(when)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xd6, 0xff}, b[:2], "msgpack's timestamp extension (-1), not lymph's datetime: %x", b)

	b, err = msgpack.Marshal(id)
	require.NoError(t, err)
	assert.Equal(t, append([]byte{0xc4, 0x10}, id[:]...), b, "uuid.UUID as msgpack sends it (MarshalBinary), not lymph's UUID")

	b, err = msgpack.Marshal(map[string]any{"t": when})
	require.NoError(t, err)
	assert.False(t, bytes.Contains(b, []byte("__type__")), "%x", b)
	assert.True(t, bytes.Contains(b, []byte{0xd6, 0xff}), "a time in a map[string]any is msgpack's timestamp: %x", b)
	var back map[string]any
	require.NoError(t, msgpack.Unmarshal(b, &back))
	assert.True(t, when.Equal(back["t"].(time.Time)), "and msgpack reads its own form back")

}
