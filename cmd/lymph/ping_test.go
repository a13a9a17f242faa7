package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPingStatus(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)

	t.Run("ping", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "ping", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Regexp(t, `^reply from `+svc.Endpoint()+`: seq=1 time=\d+\.\d\d ms\n$`, r.stdout)
	})
	t.Run("ping count", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "ping", "-n", "3", "--interval", "0.01", svc.Endpoint())
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 4)
		assert.Regexp(t, `^3 sent, 3 received, 0% lost; rtt min/avg/max = [\d.]+/[\d.]+/[\d.]+ ms$`, lines[3])
	})
	t.Run("ping json", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "ping", "--json", "--payload", "héllo", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		var v struct {
			Sent, Received int
			Pings          []pingResult
		}
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.Equal(t, 1, v.Received)
		assert.Equal(t, svc.Endpoint(), v.Pings[0].Endpoint)
		assert.Positive(t, v.Pings[0].RTTms)
	})
	t.Run("ping failure", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "ping", "tcp://127.0.0.1:1")
		assert.Equal(t, exitLookup, r.code)
		assert.Contains(t, r.stdout, "not connected")
		oneErrorLine(t, r, "not connected")
	})
	t.Run("status", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "status", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "endpoint: "+svc.Endpoint()+"\n")
		assert.Contains(t, r.stdout, "identity: "+svc.Identity()+"\n")
		assert.Regexp(t, `(?m)^rtt: +\d+\.\d\d ms$`, r.stdout)
	})
	t.Run("status json", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "status", "--json", svc.Endpoint())
		require.Equal(t, 0, r.code, r.stderr)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.Equal(t, svc.Endpoint(), v["endpoint"])
		assert.Equal(t, svc.Identity(), v["identity"])
		assert.Contains(t, v, "rtt_ms")
	})
	t.Run("versioned name", func(t *testing.T) {
		// The version picks the instance; it must not reach the builtin
		// interface, which would refuse it.
		r := cli(t, "", "--registry", reg, "status", "vecho@1.1")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "endpoint: "+svc.Endpoint()+"\n")
		r = cli(t, "", "--registry", reg, "ping", "vecho@1.2")
		require.Equal(t, 0, r.code, r.stderr)
		r = cli(t, "", "--registry", reg, "ping", "vecho@2")
		assert.Equal(t, exitLookup, r.code)
		oneErrorLine(t, r, "lookup failure", ">=2.0.0")
	})
	t.Run("status lookup failure", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "status", "nosuch")
		assert.Equal(t, exitLookup, r.code)
		oneErrorLine(t, r, "lookup failure")
	})
}
