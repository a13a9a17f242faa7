package codec_test

import (
	"fmt"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
)

type UpperArgs struct {
	Text string `msgpack:"text"`
}

func Example() {
	// A reply with a datetime, as a Python lymph service would see it.
	body, _ := codec.Marshal(map[string]any{
		"at": time.Date(2024, 1, 31, 13, 45, 0, 0, time.FixedZone("", 3600)),
	})
	fmt.Printf("% x\n", body)

	var reply any
	_ = codec.Unmarshal(body, &reply)
	fmt.Println(reply.(map[string]any)["at"].(time.Time).UTC())
	// Output:
	// 81 a2 61 74 82 a8 5f 5f 74 79 70 65 5f 5f a8 64 61 74 65 74 69 6d 65 a1 5f b8 32 30 32 34 2d 30 31 2d 33 31 54 31 33 3a 34 35 3a 30 30 2b 30 31 30 30
	// 2024-01-31 12:45:00 +0000 UTC
}

func ExampleDecodeArgs() {
	body, _ := codec.Marshal(map[string]any{"txt": "foo"})
	var args UpperArgs
	err := codec.DecodeArgs(body, &args)
	fmt.Println(err)
	// Output: unexpected argument "txt"
}
