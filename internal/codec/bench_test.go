package codec

import (
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// go test -run XXX -bench . -benchmem ./internal/codec/
// The MsgpackV5 benchmarks do the same work with vmihailenco's msgpack, as
// a yardstick.

type benchReply struct {
	ID      string            `msgpack:"id"`
	Count   int               `msgpack:"count"`
	Score   float64           `msgpack:"score"`
	Tags    []string          `msgpack:"tags"`
	Attrs   map[string]string `msgpack:"attrs"`
	Created time.Time         `msgpack:"created"`
}

func benchValue() benchReply {
	return benchReply{
		ID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", Count: 12345, Score: 0.75,
		Tags:    []string{"alpha", "beta", "gamma"},
		Attrs:   map[string]string{"region": "eu", "tier": "gold"},
		Created: time.Date(2024, 1, 31, 13, 45, 0, 0, time.UTC),
	}
}

func BenchmarkMarshalArgs(b *testing.B) {
	args := upperArgs{Text: "hello world"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMarshalArgs(b *testing.B) {
	args := upperArgs{Text: "hello world"}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMarshal(buf[:0], args); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalStruct(b *testing.B) {
	v := benchValue()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalStructMsgpackV5(b *testing.B) {
	v := benchValue()
	v.Created = time.Time{} // msgpack's own time format is not comparable work
	b.ReportAllocs()
	for b.Loop() {
		if _, err := msgpack.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalMapAny(b *testing.B) {
	v := map[string]any{"endpoint": "tcp://127.0.0.1:4711", "identity": "465b1d832bc83802948e8a91d085832f", "n": 3}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalStruct(b *testing.B) {
	data := mustMarshal(b, benchValue())
	b.ReportAllocs()
	for b.Loop() {
		var v benchReply
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalStructMsgpackV5(b *testing.B) {
	v := benchValue()
	v.Created = time.Time{}
	data, err := msgpack.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v benchReply
		if err := msgpack.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalAny(b *testing.B) {
	data := mustMarshal(b, benchValue())
	b.ReportAllocs()
	for b.Loop() {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeArgs(b *testing.B) {
	data := mustMarshal(b, map[string]any{"text": "hello world"})
	b.ReportAllocs()
	for b.Loop() {
		var a upperArgs
		if err := DecodeArgs(data, &a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalHeaders(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalHeaders("0123456789abcdef0123456789abcdef", "1.2.0", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalHeaders(b *testing.B) {
	data, err := MarshalHeaders("0123456789abcdef0123456789abcdef", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalHeaders(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarshalLargeBytes encodes a 1 MiB []byte argument: the bytes
// should be copied once, into the output.
func BenchmarkMarshalLargeBytes(b *testing.B) {
	v := map[string]any{"payload": make([]byte, 1<<20)}
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMarshalLargeBytes(b *testing.B) {
	v := map[string]any{"payload": make([]byte, 1<<20)}
	buf := make([]byte, 0, 2<<20)
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMarshal(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalLargeBytes(b *testing.B) {
	data := mustMarshal(b, map[string]any{"payload": make([]byte, 1<<20)})
	b.SetBytes(1 << 20)
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Payload []byte `msgpack:"payload"`
		}
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}
