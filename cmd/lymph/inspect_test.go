package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspect(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)

	t.Run("text", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "inspect", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		// lymph's layout: "rpc name(params)", the help indented and wrapped
		// at 70 columns, a blank line.
		assert.Contains(t, r.stdout, "rpc echo.upper(text)\n    Upper returns the text in upper case.\n\n")
		assert.Contains(t, r.stdout, "rpc echo.fail(text)\n    Fail always raises the declared error Nope, with the text as its\n    message. This help text is long enough to be wrapped at seventy\n    columns.\n\n")
		assert.Contains(t, r.stdout, "rpc echo.do_ack()\n\n")
		assert.Contains(t, r.stdout, "rpc vecho.upper@1.2.0(text)\n")
		assert.Contains(t, r.stdout, "rpc lymph.ping@0.16.0(payload)\n")
		// Sorted by name.
		assert.Less(t, strings.Index(r.stdout, "echo.do_ack"), strings.Index(r.stdout, "echo.upper"))
		assert.Less(t, strings.Index(r.stdout, "echo.upper"), strings.Index(r.stdout, "lymph.inspect"))
	})
	t.Run("json by endpoint", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "inspect", "--json", svc.Endpoint())
		require.Equal(t, 0, r.code, r.stderr)
		var methods []methodInfo
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &methods), r.stdout)
		byName := map[string]methodInfo{}
		for _, m := range methods {
			byName[m.Name+"@"+deref(m.Version)] = m
		}
		assert.Equal(t, []string{"text"}, byName["echo.upper@"].Params)
		assert.Equal(t, "Upper returns the text in upper case.", byName["echo.upper@"].Help)
		assert.Equal(t, []string{}, byName["echo.do_ack@"].Params)
		assert.Contains(t, byName, "vecho.upper@1.2.0")
		assert.Contains(t, byName, "lymph.status@0.16.0")
	})
	t.Run("versioned name", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "inspect", "vecho@1.1")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "rpc vecho.upper@1.2.0(text)")
	})
	t.Run("errors", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "inspect", "nosuch")
		assert.Equal(t, exitLookup, r.code)
		oneErrorLine(t, r, "lookup failure")
		r = cli(t, "", "--registry", reg, "inspect", "tcp://127.0.0.1:1")
		assert.Equal(t, exitLookup, r.code)
		oneErrorLine(t, r, "not connected")
		r = cli(t, "", "--registry", reg, "inspect", "ftp://x")
		assert.Equal(t, exitUsage, r.code)
		oneErrorLine(t, r, "bad address")
		r = cli(t, "", "--registry", reg, "inspect")
		assert.Equal(t, exitUsage, r.code)
	})
}
