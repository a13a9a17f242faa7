package codec

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Run with e.g. go test -fuzz FuzzUnmarshal -fuzztime 20s ./internal/codec/
// Neither fuzzer may panic, whatever the input.

func fuzzSeeds(f *testing.F) {
	for _, c := range goldenCases() {
		f.Add(unhex(f, c.hex))
	}
	for _, v := range []any{
		map[string]any{"text": "foo"},
		map[string]any{"query": "q", "tags": Set{"a"}, "since": time.Now(), "cursor": nil},
		sampleEverything(),
		[]any{Nested{Value: map[string]any{"foo": 42}}, uuid.Nil, Decimal("1e3"), TimeOfDay{}},
		map[any]any{int64(1): []any{1.5, []byte{1}}},
	} {
		f.Add(mustMarshal(f, v))
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xc7, 0x03, 0x65, 0x91, 0x91, 0xc0})
	f.Add([]byte{0x82, 0xa1, 0x5f, 0x90, 0xa8, '_', '_', 't', 'y', 'p', 'e', '_', '_', 0xa3, 's', 'e', 't'})
}

func FuzzUnmarshal(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var x any
		if err := Unmarshal(data, &x); err == nil {
			// What we decoded, we can mostly encode, and read back.
			if b, err := Marshal(x); err == nil {
				var y any
				if err := Unmarshal(b, &y); err != nil {
					t.Fatalf("re-decoding %x (from %x): %v", b, data, err)
				}
			}
		}
		var e everything
		_ = Unmarshal(data, &e)
		var p plain
		_ = Unmarshal(data, &p)
		var m map[any]any
		_ = Unmarshal(data, &m)
		var s []Set
		_ = Unmarshal(data, &s)
		var i struct {
			S fmtStringer `msgpack:"s"`
			T [2]int      `msgpack:"t"`
			K map[Date]*inner
		}
		_ = Unmarshal(data, &i)
		var w struct {
			C    custom
			M    marshaler
			T    *textOnly
			Tags []string
			Arr  [3]uint8
			Deep map[string][]*inner
			Err  error
			U    uint16
		}
		_ = Unmarshal(data, &w)
		var r Raw
		if err := Unmarshal(data, &r); err == nil && len(r) > 0 && string(r) != string(data) {
			t.Fatalf("Raw %x != input %x", r, data)
		}
		_, _ = UnmarshalHeaders(data)
	})
}

func FuzzDecodeArgs(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, target := range []any{new(upperArgs), new(searchArgs), new(map[string]any), new(map[string]int), new(everything)} {
			err := DecodeArgs(data, target)
			var ae *ArgsError
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("DecodeArgs(%x, %T): not an *ArgsError: %v", data, target, err)
			}
		}
	})
}
