package codec

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The goldens below were written by hand from the msgpack spec and from
// what Python's msgpack.packb(obj, use_bin_type=True) writes after lymph's
// serializer (lymph/serializers/base.py) has turned obj into
// {'__type__': name, '_': text}; that dict literal puts "__type__" first.
// python_test.go checks the same bytes against a real Python when one with
// msgpack is installed.

// Fragments that recur: the keys of lymph's typed map.
var (
	hexTypeKey  = "a8 " + hexOf("__type__")
	hexValueKey = "a1 5f"
)

type goldenCase struct {
	name string
	in   any
	hex  string
}

func goldenCases() []goldenCase {
	berlin := time.FixedZone("CEST", 2*3600)
	return []goldenCase{
		// Integers take the smallest form; non-negative ones the uint codes.
		{"fixint 0", 0, "00"},
		{"fixint 127", 127, "7f"},
		{"uint8", 128, "cc 80"},
		{"uint8 255", 255, "cc ff"},
		{"uint16", 256, "cd 0100"},
		{"uint32", 65536, "ce 00010000"},
		{"uint64", int64(1) << 32, "cf 0000000100000000"},
		{"max uint64", uint64(math.MaxUint64), "cf ffffffffffffffff"},
		{"negative fixint -1", -1, "ff"},
		{"negative fixint -32", -32, "e0"},
		{"int8", -33, "d0 df"},
		{"int16", -129, "d1 ff7f"},
		{"int32", -32769, "d2 ffff7fff"},
		{"int64", int64(math.MinInt32) - 1, "d3 ffffffff7fffffff"},
		{"float64", 1.5, "cb 3ff8000000000000"},
		{"float32", float32(1.5), "ca 3fc00000"},
		{"nil", nil, "c0"},
		{"false", false, "c2"},
		{"true", true, "c3"},
		// Text is str, bytes are bin (use_bin_type=True).
		{"fixstr", "foo", "a3 666f6f"},
		{"empty str", "", "a0"},
		{"str8", strings.Repeat("a", 32), "d9 20 " + strings.Repeat("61", 32)},
		{"str16", strings.Repeat("a", 256), "da 0100 " + strings.Repeat("61", 256)},
		{"bin8", []byte{1, 2}, "c4 02 0102"},
		{"empty bin", []byte{}, "c4 00"},
		{"nil bytes", []byte(nil), "c0"},
		{"fixarray", []any{1, "a"}, "92 01 a1 61"},
		{"array16", make([]any, 16), "dc 0010 " + strings.Repeat("c0", 16)},
		{"fixmap", map[string]any{"text": "foo"}, "81 a4 " + hexOf("text") + " a3 666f6f"},
		{"struct", struct {
			Text string `msgpack:"text"`
			N    int
		}{"foo", 2}, "82 a4 " + hexOf("text") + " a3 666f6f a1 6e 02"}, // untagged: snake_case
		{"struct tag keeps the Go name", struct {
			N int `msgpack:"N"`
		}{2}, "81 a1 4e 02"},
		{"sorted map keys", map[string]any{"b": 2, "a": 1, "c": 3}, "83 a1 61 01 a1 62 02 a1 63 03"},

		// lymph's typed maps.
		{"date", Date{2024, time.January, 31},
			"82 " + hexTypeKey + " a4 " + hexOf("date") + hexValueKey + " aa " + hexOf("2024-01-31")},
		{"datetime with offset", time.Date(2014, 9, 12, 8, 33, 12, 0, berlin),
			"82 " + hexTypeKey + " a8 " + hexOf("datetime") + hexValueKey + " b8 " + hexOf("2014-09-12T08:33:12+0200")},
		{"datetime in UTC", time.Date(2014, 9, 12, 8, 33, 12, 0, time.UTC),
			"82 " + hexTypeKey + " a8 " + hexOf("datetime") + hexValueKey + " b8 " + hexOf("2014-09-12T08:33:12+0000")},
		{"datetime west of UTC", time.Date(2014, 9, 12, 8, 33, 12, 0, time.FixedZone("", -(3*3600+30*60))),
			"82 " + hexTypeKey + " a8 " + hexOf("datetime") + hexValueKey + " b8 " + hexOf("2014-09-12T08:33:12-0330")},
		{"datetime with microseconds", time.Date(2014, 9, 12, 8, 33, 12, 1500, time.UTC),
			"82 " + hexTypeKey + " a8 " + hexOf("datetime") + hexValueKey + " bf " + hexOf("2014-09-12T08:33:12.000001+0000")},
		{"time", TimeOfDay{Hour: 8, Minute: 33, Second: 12, Nanosecond: 34000},
			"82 " + hexTypeKey + " a4 " + hexOf("time") + hexValueKey + " a9 " + hexOf("08:33:12Z")},
		{"Decimal", Decimal("3.1415"),
			"82 " + hexTypeKey + " a7 " + hexOf("Decimal") + hexValueKey + " a6 " + hexOf("3.1415")},
		{"UUID", uuid.MustParse("00000000-0000-4000-8000-000000000000"),
			"82 " + hexTypeKey + " a4 " + hexOf("UUID") + hexValueKey + " d9 24 " + hexOf("00000000-0000-4000-8000-000000000000")},
		{"set", Set{"a", 1},
			"82 " + hexTypeKey + " a3 " + hexOf("set") + hexValueKey + " 92 a1 61 01"},
		// raw_embed({'foo': 42}): ext 8 of type 101 (0x65), 6 bytes.
		{"ext 101", Nested{Value: map[string]any{"foo": 42}}, "c7 06 65 81 a3 666f6f 2a"},
	}
}

func TestGoldenEncoding(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			require.NoError(t, err)
			assert.Equal(t, unhex(t, tt.hex), got)
		})
	}
}

// TestGoldenDecoding decodes the golden bytes back; the lymph values must
// come back as the Go values they were made from.
func TestGoldenDecoding(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			require.NoError(t, Unmarshal(unhex(t, tt.hex), &got))
			switch want := tt.in.(type) {
			case time.Time:
				assert.True(t, want.Truncate(time.Microsecond).Equal(got.(time.Time)), "got %v", got)
			case TimeOfDay:
				want.Nanosecond = 0
				assert.Equal(t, want, got)
			case Date, Decimal, uuid.UUID, string, bool, float64, nil:
				assert.Equal(t, want, got)
			}
		})
	}
}

func TestGoldenHeaders(t *testing.T) {
	traceID := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		traceID string
		version string
		extra   map[string]any
		hex     string
	}{
		{"request without version", traceID, "", nil,
			"82 a8 " + hexOf("trace_id") + " d9 20 " + hexOf(traceID) + " a7 " + hexOf("version") + " c0"},
		{"request with version", traceID, "1.2.0", nil,
			"82 a8 " + hexOf("trace_id") + " d9 20 " + hexOf(traceID) + " a7 " + hexOf("version") + " a5 " + hexOf("1.2.0")},
		{"no trace id", "", "", nil,
			"82 a8 " + hexOf("trace_id") + " c0 a7 " + hexOf("version") + " c0"},
		{"extra headers sorted after", traceID, "", map[string]any{"z": 1, "a": true, "version": "ignored"},
			"84 a8 " + hexOf("trace_id") + " d9 20 " + hexOf(traceID) + " a7 " + hexOf("version") + " c0" +
				" a1 61 c3 a1 7a 01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MarshalHeaders(tt.traceID, tt.version, tt.extra)
			require.NoError(t, err)
			assert.Equal(t, unhex(t, tt.hex), got)
		})
	}
}
