package main

import (
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
)

func TestUseColor(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm")
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()

	assert.False(t, isTerminal(f), "a file is not a terminal")
	assert.False(t, isTerminal(w), "a pipe is not a terminal")
	assert.False(t, useColor(w, false, false), "plain when piped")
	assert.True(t, useColor(w, true, false), "--color forces it")
	assert.False(t, useColor(w, true, true), "--no-color wins")

	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		assert.True(t, isTerminal(tty))
		assert.True(t, useColor(tty, false, false))
		t.Setenv("NO_COLOR", "1")
		assert.False(t, useColor(tty, false, false), "NO_COLOR")
		t.Setenv("NO_COLOR", "")
		t.Setenv("TERM", "dumb")
		assert.False(t, useColor(tty, false, false), "TERM=dumb")
	}
	t.Setenv("NO_COLOR", "1")
	assert.True(t, useColor(w, true, false), "--color beats NO_COLOR")
}

func TestColorFlag(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	startEcho(t, reg)
	r := cli(t, "", "--color", "--registry", reg, "request", "echo.upper", `{"text": "hi"}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "\x1b[32m\"HI\"\x1b[0m\n", r.stdout)

	r = cli(t, "", "--color", "--no-color", "--registry", reg, "discover")
	assert.Equal(t, exitUsage, r.code)
}

func TestPretty(t *testing.T) {
	p := &printer{}
	assert.Equal(t, "{}", p.pretty(map[string]any{}))
	assert.Equal(t, "[]", p.pretty([]any{}))
	assert.Equal(t, "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"b\": {\n    \"c\": true\n  }\n}",
		p.pretty(map[string]any{"b": map[string]any{"c": true}, "a": []any{int64(1), nil}}))
	assert.Equal(t, "{\n  1: \"int key\"\n}", p.pretty(map[any]any{int64(1): "int key"}))
	assert.Equal(t, `date("2024-05-06")`, p.pretty(lymph.Date{Year: 2024, Month: 5, Day: 6}))
	assert.Equal(t, `b"\xff"`, p.pretty([]byte{0xff}))
	assert.Equal(t, "NaN", p.pretty(math.NaN()))
	for f, want := range map[float64]string{3: "3.0", -0.25: "-0.25", 1e16: "1e+16", 123456789012345.6: "123456789012345.6", 1e-5: "1e-05", 0: "0.0"} {
		assert.Equal(t, want, p.pretty(f), "Python's repr of %g", f)
	}
	assert.Equal(t, "0.1", p.pretty(float32(0.1)), "a float32's shortest digits")

	colored := &printer{color: true}
	assert.Equal(t, "\x1b[33mnull\x1b[0m", colored.pretty(nil))
}

func TestJSONValue(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 500, time.FixedZone("", 3600))
	assert.Equal(t, map[string]any{
		"1":    "int key",
		"t":    "2024-05-06T07:08:09.0000005+01:00",
		"nan":  "NaN",
		"inf":  "-Inf",
		"set":  []any{"x"},
		"list": []any{"a", int64(2)},
	}, jsonValue(map[any]any{
		int64(1): "int key", "t": when, "nan": math.NaN(), "inf": math.Inf(-1),
		"set": lymph.Set{"x"}, "list": []any{"a", int64(2)},
	}))
}

func TestWrapText(t *testing.T) {
	assert.Nil(t, wrapText("", 70))
	assert.Equal(t, []string{"one two", "three"}, wrapText("one  two\nthree", 8))
	assert.Equal(t, []string{"para one", "", "para two"}, wrapText("para one\n\npara two", 70))
}

func TestHelp(t *testing.T) {
	root := newRootCmd(io.Discard, io.Discard, nil)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		assert.NotEmpty(t, c.Example, "%s has no example", c.CommandPath())
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		r := cli(t, "", args...)
		assert.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stdout, "Usage:")
		assert.Contains(t, r.stdout, "Example")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	r := cli(t, "", "request", "--help")
	assert.Contains(t, r.stdout, "Exit codes:\n  0    success\n")
	assert.Contains(t, r.stdout, "Requests per second")
}
