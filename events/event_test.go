package events

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// msgpack by hand, as Python writes it.
func mpStr(s string) []byte { return append([]byte{0xa0 | byte(len(s))}, s...) }
func mpBin(s string) []byte { return append([]byte{0xc4, byte(len(s))}, s...) }

func TestUnmarshalLymphsWay(t *testing.T) {
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		data    []byte
		typ     string
		body    any
		headers map[string]any
		source  string
	}{
		{"full", cat([]byte{0x84}, mpStr("type"), mpStr("a.b"), mpStr("headers"), []byte{0x81}, mpStr("trace_id"), mpStr("t"),
			mpStr("body"), []byte{0x81}, mpStr("k"), []byte{0x01}, mpStr("source"), mpStr("src")),
			"a.b", map[string]any{"k": int8(1)}, map[string]any{"trace_id": "t"}, "src"},
		{"missing body and headers", cat([]byte{0x81}, mpStr("type"), mpStr("x")), "x", map[string]any{}, map[string]any{}, ""},
		{"nil headers, nil body stays nil, nil source", cat([]byte{0x84}, mpStr("type"), mpStr("x"), mpStr("headers"), []byte{0xc0},
			mpStr("body"), []byte{0xc0}, mpStr("source"), []byte{0xc0}), "x", nil, map[string]any{}, ""},
		{"Python 2: keys and text as bin", cat([]byte{0x83}, mpBin("type"), mpBin("x"), mpBin("body"), []byte{0x80}, mpBin("source"), mpBin("s2")),
			"x", map[string]any{}, map[string]any{}, "s2"},
		{"unknown keys ignored", cat([]byte{0x82}, mpStr("type"), mpStr("x"), mpStr("extra"), []byte{0x01}), "x", map[string]any{}, map[string]any{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev, err := Unmarshal(c.data)
			require.NoError(t, err)
			assert.Equal(t, c.typ, ev.Type)
			assert.Equal(t, c.body, ev.Body)
			assert.Equal(t, c.headers, ev.Headers)
			assert.Equal(t, c.source, ev.Source)
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	ev := &Event{Type: "a.b", Body: map[string]any{"n": 1}, Source: "s", Headers: map[string]any{"trace_id": "t", "retry_count": 2}}
	b, err := Marshal(ev)
	require.NoError(t, err)
	got, err := Unmarshal(b)
	require.NoError(t, err)
	n, ok := got.RetryCount()
	assert.True(t, ok)
	assert.Equal(t, 2, n)
	assert.Equal(t, "t", got.TraceID())
	var body struct {
		N int `msgpack:"n"`
	}
	require.NoError(t, got.Decode(&body))
	assert.Equal(t, 1, body.N)
	var wrong struct {
		M int `msgpack:"m"`
	}
	assert.Error(t, got.Decode(&wrong), "a body that does not fit the struct is an error, as for RPC arguments")
}

// FuzzUnmarshal: bytes from the broker never panic, and what decodes
// encodes again.
func FuzzUnmarshal(f *testing.F) {
	good, _ := Marshal(&Event{Type: "a.b", Body: map[string]any{"k": []any{1, "x", nil}}, Headers: map[string]any{"trace_id": "t"}})
	f.Add(good)
	f.Add([]byte{0x93, 1, 2, 3})
	f.Add([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xc7, 0x01, 0x65, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Unmarshal(data)
		if err != nil {
			return
		}
		if _, err := Marshal(ev); err != nil && CheckType(ev.Type) == nil {
			t.Fatalf("decoded but cannot encode again: %v", err)
		}
	})
}
