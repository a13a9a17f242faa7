package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)

	t.Run("pretty", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "echo.upper", `{"text": "hi"}`)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "\"HI\"\n", r.stdout)
		assert.Empty(t, r.stderr)
	})
	t.Run("json", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "--json", "echo.values")
		require.Equal(t, 0, r.code, r.stderr)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.Equal(t, map[string]any{
			"int": -3.0, "float": 1.5, "bytes": "cmF3AA==", "when": "2024-05-06T07:08:09Z",
			"price": "1.10", "id": "0b6e0c2e-2f7c-4d5f-9a37-6c1b0b0c2c51", "tags": []any{"a"},
			"nested": map[string]any{"list": []any{1.0, "two", nil, true}}, "unicode": "grüße <&>",
		}, v)
	})
	t.Run("pretty values", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "echo.values")
		require.Equal(t, 0, r.code, r.stderr)
		for _, want := range []string{
			`"bytes": b"raw\x00"`, `"when": datetime("2024-05-06T07:08:09Z")`, `"price": Decimal("1.10")`,
			`"id": UUID("0b6e0c2e-2f7c-4d5f-9a37-6c1b0b0c2c51")`, `"tags": set[`, `"int": -3`, `"unicode": "grüße <&>"`,
		} {
			assert.Contains(t, r.stdout, want)
		}
		assert.NotContains(t, r.stdout, "\x1b[", "no colours when not on a terminal")
	})
	t.Run("dump headers", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "-D", "--trace-id", "0123456789abcdef0123456789abcdef", "vecho.upper@1.2", `{"text": "hi"}`)
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(r.stdout, "\n")
		assert.True(t, strings.HasPrefix(lines[0], "REP from "+svc.Endpoint()+" in "), lines[0])
		assert.Contains(t, r.stdout, "\ntrace_id: \"0123456789abcdef0123456789abcdef\"\n")
		assert.Contains(t, r.stdout, "\nversion: \"1.2.0\"\n")
		assert.True(t, strings.HasSuffix(r.stdout, "\n\n\"HI\"\n"), r.stdout)
	})
	t.Run("dump headers json", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "-D", "--json", "echo.upper", `{"text": "hi"}`)
		require.Equal(t, 0, r.code, r.stderr)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.Equal(t, "REP", v["type"])
		assert.Equal(t, svc.Endpoint(), v["source"])
		assert.Equal(t, "HI", v["body"])
		assert.Len(t, v["headers"].(map[string]any)["trace_id"], 32)
	})
	t.Run("stdin", func(t *testing.T) {
		r := cli(t, `{"text": "from stdin"}`, "--registry", reg, "request", "echo.upper", "-")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "\"FROM STDIN\"\n", r.stdout)
	})
	t.Run("no params", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "--address", "echo", "lymph.status")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, svc.Endpoint())
	})
	t.Run("address endpoint", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "--address", svc.Endpoint(), "vecho.upper@1.2", `{"text": "x"}`)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "\"X\"\n", r.stdout)
	})
	t.Run("ack", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "echo.do_ack")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "ACK")
		r = cli(t, "", "--registry", reg, "request", "--json", "echo.do_ack")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "null\n", r.stdout)
	})
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"remote error", "", []string{"request", "echo.fail", `{"text": "no way"}`}, exitRemote,
			[]string{"remote error from " + svc.Endpoint() + ": Nope: no way", "trace_id"}},
		{"nack unknown method", "", []string{"request", "echo.nope"}, exitNack, []string{"NACK from", "echo.nope"}},
		{"nack bad arguments", "", []string{"request", "echo.upper", `{"txet": "x"}`}, exitNack, []string{"NACK"}},
		{"nack undeclared error", "", []string{"request", "echo.crash", `{"text": "x"}`}, exitNack, []string{"NACK"}},
		{"nack unknown version", "", []string{"request", "--address", svc.Endpoint(), "vecho.upper@3", `{"text": "x"}`}, exitNack, []string{"NACK"}},
		{"timeout", "", []string{"request", "--timeout", "0.2", "echo.sleep", `{"seconds": 0.5}`}, exitTimeout,
			[]string{"timeout: echo.sleep: no reply within 200ms"}},
		{"lookup failure", "", []string{"request", "nosuch.method"}, exitLookup,
			[]string{`lookup failure: no instance of "nosuch"`, "registry " + reg}},
		{"lookup failure version", "", []string{"request", "vecho.upper@2", `{"text": "x"}`}, exitLookup,
			[]string{"lookup failure", ">=2.0.0"}},
		{"not connected", "", []string{"request", "--address", "tcp://127.0.0.1:1", "echo.upper", `{"text": "x"}`}, exitLookup,
			[]string{"not connected"}},
		{"bad json", "", []string{"request", "echo.upper", `{"text": `}, exitUsage, []string{"PARAMS is not valid JSON"}},
		{"bad json on stdin", "{]", []string{"request", "echo.upper", "-"}, exitUsage, []string{"PARAMS on stdin is not valid JSON", "at byte 2"}},
		{"trailing json", "", []string{"request", "echo.upper", `{} {}`}, exitUsage, []string{"more data after the object"}},
		{"not an object", "", []string{"request", "echo.upper", `["x"]`}, exitUsage, []string{"must be a JSON object", "an array"}},
		{"bad subject", "", []string{"request", "upper", "{}"}, exitUsage, []string{`bad subject "upper"`}},
		{"bad subject dot", "", []string{"request", "echo.", "{}"}, exitUsage, []string{"bad subject"}},
		{"bad version", "", []string{"request", "echo.upper@one", "{}"}, exitUsage, []string{"bad version"}},
		{"bad address", "", []string{"request", "--address", "http://x:1", "echo.upper"}, exitUsage, []string{"bad address"}},
		{"bad endpoint", "", []string{"request", "--address", "tcp://nohost", "echo.upper"}, exitUsage, []string{"bad endpoint"}},
		{"bad timeout", "", []string{"request", "--timeout", "-1", "echo.upper"}, exitUsage, []string{"--timeout"}},
		{"bad flag", "", []string{"request", "--nope", "echo.upper"}, exitUsage, []string{"unknown flag: --nope"}},
		{"missing subject", "", []string{"request"}, exitUsage, []string{"arg(s)"}},
		{"bad N", "", []string{"request", "-N", "0", "echo.upper"}, exitUsage, []string{"-N and -C"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--registry", reg}, tc.args...)
			r := cli(t, tc.stdin, args...)
			require.Equal(t, tc.code, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			oneErrorLine(t, r, tc.want...)
			assert.Empty(t, r.stdout)
		})
	}

	t.Run("dump headers of a nack", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "-D", "echo.nope")
		require.Equal(t, exitNack, r.code)
		assert.True(t, strings.HasPrefix(r.stdout, "NACK from "+svc.Endpoint()), r.stdout)
		assert.Contains(t, r.stdout, "trace_id: ")
		oneErrorLine(t, r, "NACK")
	})
	t.Run("unknown registry", func(t *testing.T) {
		r := cli(t, "", "--registry", "etcd://x", "request", "echo.upper")
		require.Equal(t, exitUsage, r.code)
		oneErrorLine(t, r, "unknown registry scheme", "--registry")
	})
}

func TestParseParams(t *testing.T) {
	args, err := readParams(`{"i": 3, "f": 3.0, "e": 1e3, "big": 18446744073709551615, "neg": -2, "l": [1, {"x": 2.5}]}`, nil)
	require.NoError(t, err)
	// As Python's json.loads: integers stay integers.
	assert.Equal(t, map[string]any{
		"i": int64(3), "f": 3.0, "e": 1000.0, "big": uint64(18446744073709551615), "neg": int64(-2),
		"l": []any{int64(1), map[string]any{"x": 2.5}},
	}, args)
}
