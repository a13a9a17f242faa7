package codec

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type upperArgs struct {
	Text string `msgpack:"text"`
}

type searchArgs struct {
	Query  string    `msgpack:"query"`
	Limit  int       `msgpack:"limit,omitempty"`
	Cursor *string   `msgpack:"cursor"`
	Since  time.Time `msgpack:"since" lymph:"optional"`
	Tags   []string  `msgpack:"tags"`
	Ignore string    `msgpack:"-"`
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := Marshal(v)
	require.NoError(t, err)
	return b
}

func TestDecodeArgs(t *testing.T) {
	t.Run("struct", func(t *testing.T) {
		var a upperArgs
		require.NoError(t, DecodeArgs(mustMarshal(t, map[string]any{"text": "foo"}), &a))
		assert.Equal(t, upperArgs{Text: "foo"}, a)
	})
	t.Run("optional fields may be missing, and keep their presets", func(t *testing.T) {
		a := searchArgs{Limit: 10}
		require.NoError(t, DecodeArgs(mustMarshal(t, map[string]any{"query": "q", "tags": []string{"x"}}), &a))
		assert.Equal(t, searchArgs{Query: "q", Limit: 10, Tags: []string{"x"}}, a)
	})
	t.Run("all fields", func(t *testing.T) {
		since := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		var a searchArgs
		body := map[string]any{"query": "q", "limit": 5, "cursor": "c", "since": since, "tags": nil}
		require.NoError(t, DecodeArgs(mustMarshal(t, body), &a))
		require.NotNil(t, a.Cursor)
		assert.Equal(t, "c", *a.Cursor)
		assert.Equal(t, 5, a.Limit)
		assert.True(t, since.Equal(a.Since))
		assert.Nil(t, a.Tags)
	})
	t.Run("nil argument counts as given", func(t *testing.T) {
		a := upperArgs{Text: "preset"}
		require.NoError(t, DecodeArgs(mustMarshal(t, map[string]any{"text": nil}), &a))
		assert.Equal(t, upperArgs{}, a)
	})
	t.Run("no arguments", func(t *testing.T) {
		var a struct{}
		require.NoError(t, DecodeArgs(nil, &a))
		require.NoError(t, DecodeArgs([]byte{0x80}, &a))
		require.NoError(t, DecodeArgs([]byte{0xc0}, &a))
	})
	t.Run("map of any", func(t *testing.T) {
		var m map[string]any
		require.NoError(t, DecodeArgs(mustMarshal(t, map[string]any{"payload": "", "n": 1}), &m))
		assert.Equal(t, map[string]any{"payload": "", "n": int8(1)}, m, "integers in any keep their wire width")
	})
	t.Run("typed map", func(t *testing.T) {
		m := map[string]int{"keep": 1}
		require.NoError(t, DecodeArgs(mustMarshal(t, map[string]any{"a": 2}), &m))
		assert.Equal(t, map[string]int{"keep": 1, "a": 2}, m)
	})
	t.Run("nested maps are lenient", func(t *testing.T) {
		var a struct {
			Inner inner `msgpack:"inner"`
		}
		body := map[string]any{"inner": map[string]any{"count": 1, "unknown": true}}
		require.NoError(t, DecodeArgs(mustMarshal(t, body), &a))
		assert.Equal(t, 1, a.Inner.Count)
	})
	t.Run("more than 64 fields", func(t *testing.T) {
		fields := make([]reflect.StructField, 70)
		for i := range fields {
			fields[i] = reflect.StructField{Name: "F" + string(rune('A'+i/26)) + string(rune('a'+i%26)), Type: reflect.TypeFor[int]()}
		}
		typ := reflect.StructOf(fields)
		body := map[string]int{}
		for _, f := range fields[:69] {
			body[SnakeCase(f.Name)] = 1
		}
		err := DecodeArgs(mustMarshal(t, body), reflect.New(typ).Interface())
		var ae *ArgsError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, MissingArg, ae.Kind)
		assert.Equal(t, SnakeCase(fields[69].Name), ae.Arg)
	})
}

func TestDecodeArgsErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		target any
		kind   ArgsErrorKind
		arg    string
		msg    string
	}{
		{"missing", mustMarshal(t, map[string]any{}), &upperArgs{}, MissingArg, "text", `missing argument "text"`},
		{"missing from empty body", nil, &upperArgs{}, MissingArg, "text", `missing argument "text"`},
		{"missing from nil body", []byte{0xc0}, &upperArgs{}, MissingArg, "text", `missing argument "text"`},
		{"missing one of several", mustMarshal(t, map[string]any{"query": "q"}), &searchArgs{}, MissingArg, "tags", `missing argument "tags"`},
		{"unexpected", mustMarshal(t, map[string]any{"txt": "foo"}), &upperArgs{}, UnexpectedArg, "txt", `unexpected argument "txt"`},
		{"skipped field is unexpected", mustMarshal(t, map[string]any{"query": "q", "tags": nil, "Ignore": 1}), &searchArgs{}, UnexpectedArg, "Ignore", `unexpected argument "Ignore"`},
		{"wrong type", mustMarshal(t, map[string]any{"text": 1}), &upperArgs{}, InvalidArg, "text", `argument "text": want a string, got an integer`},
		{"wrong type nested", mustMarshal(t, map[string]any{"query": "q", "tags": []any{"a", 2}}), &searchArgs{}, InvalidArg, "tags", `argument "tags[1]": want a string, got an integer`},
		{"wrong type in map", mustMarshal(t, map[string]any{"a": "x"}), &map[string]int{}, InvalidArg, "a", `argument "a": want an integer, got a string`},
		{"bad lymph value", mustMarshal(t, map[string]any{"query": "q", "tags": nil, "since": map[string]any{"__type__": "datetime", "_": "yesterday"}}), &searchArgs{}, InvalidArg, "since", `argument "since": invalid datetime "yesterday"`},
		{"given twice", unhex(t, "82 a4 "+hexOf("text")+" a1 78 a4 "+hexOf("text")+" a1 79"), &upperArgs{}, InvalidArg, "text", `argument "text": given twice`},
		{"not a map", mustMarshal(t, []any{"foo"}), &upperArgs{}, MalformedArgs, "", "malformed arguments: arguments must be a map"},
		{"a string", mustMarshal(t, "foo"), &map[string]any{}, MalformedArgs, "", "malformed arguments: arguments must be a map"},
		{"int keys", mustMarshal(t, map[int]int{1: 1}), &upperArgs{}, MalformedArgs, "", "malformed arguments: argument names must be text"},
		{"truncated", mustMarshal(t, map[string]any{"text": "foo"})[:5], &upperArgs{}, MalformedArgs, "", "malformed arguments"},
		{"truncated value", mustMarshal(t, map[string]any{"text": "foo"})[:8], &upperArgs{}, MalformedArgs, "", "unexpected end of data"},
		{"trailing bytes", append(mustMarshal(t, map[string]any{"text": "foo"}), 0), &upperArgs{}, MalformedArgs, "", "1 bytes after the arguments"},
		{"other ext", unhex(t, "d4 01 00"), &upperArgs{}, MalformedArgs, "", "extension type 1 at byte 1"},
		{"nested document not a map", unhex(t, "d4 65 01"), &upperArgs{}, MalformedArgs, "", "arguments must be a map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeArgs(tt.body, tt.target)
			var ae *ArgsError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.kind, ae.Kind)
			assert.Equal(t, tt.arg, ae.Arg)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestDecodeArgsBadTargets(t *testing.T) {
	for _, target := range []any{nil, upperArgs{}, (*upperArgs)(nil), new(int), new([]any), new(map[int]any), new(time.Time)} {
		err := DecodeArgs([]byte{0x80}, target)
		require.Error(t, err, "%T", target)
		var ae *ArgsError
		assert.False(t, errors.As(err, &ae), "a programming error, not the caller's: %v", err)
	}
}

func TestArgNames(t *testing.T) {
	type Base struct {
		ID int `msgpack:"id"`
	}
	type withEmbedded struct {
		Base
		Name      string
		FirstName string
		HTTPCode  int
		Tagged    int `msgpack:"TaggedName"`
		skip      int
	}
	assert.Equal(t, []string{"text"}, ArgNames(reflect.TypeFor[upperArgs]()))
	assert.Equal(t, []string{"text"}, ArgNames(reflect.TypeFor[*upperArgs]()))
	assert.Equal(t, []string{"query", "limit", "cursor", "since", "tags"}, ArgNames(reflect.TypeFor[searchArgs]()))
	assert.Equal(t, []string{"id", "name", "first_name", "http_code", "TaggedName"}, ArgNames(reflect.TypeFor[withEmbedded]()),
		"untagged fields are snake_case, as method names; a tag names a field as written")
	assert.Empty(t, ArgNames(reflect.TypeFor[struct{}]()))
	assert.Nil(t, ArgNames(reflect.TypeFor[map[string]any]()))
	assert.Nil(t, ArgNames(reflect.TypeFor[int]()))
	assert.Nil(t, ArgNames(reflect.TypeFor[time.Time]()))
}

func TestArgsErrorKindString(t *testing.T) {
	assert.Equal(t, "missing argument", MissingArg.String())
	assert.Equal(t, "ArgsErrorKind(9)", ArgsErrorKind(9).String())
}

// TestDecodeArgsNeverPanics: vmihailenco/msgpack panicked when a value did
// not fit a field of a non-empty interface type; a caller must get an
// ArgsError, not crash the service.
func TestDecodeArgsNeverPanics(t *testing.T) {
	var target struct {
		S fmtStringer `msgpack:"s"`
	}
	err := DecodeArgs(mustMarshal(t, map[string]any{"s": 1}), &target)
	var ae *ArgsError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, `argument "s": want a value implementing codec.fmtStringer, got int8`, err.Error())

	var v struct{ S fmtStringer }
	assert.Error(t, Unmarshal([]byte("\x93000"), &v))
}
