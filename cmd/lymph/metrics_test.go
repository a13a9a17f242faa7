package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --metrics serves the command's own Prometheus metrics while it runs.
func TestMetricsFlag(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	svc := startEcho(t, reg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	done := make(chan result, 1)
	go func() {
		done <- cli(t, "", "--registry", reg, "--metrics", addr, "request", "--timeout", "10", "--address", svc.Endpoint(), "echo.sleep", `{"seconds": 1}`)
	}()
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond, "the metrics are served while the request runs")
	assert.Contains(t, body, "lymph_transport_connections_out")
	r := <-done
	require.Equal(t, 0, r.code, r.stderr)

	r = cli(t, "", "--registry", reg, "--metrics", "not an address", "request", "echo.upper", `{"text": "x"}`)
	assert.NotEqual(t, 0, r.code)
	assert.True(t, strings.Contains(r.stderr, "--metrics"), r.stderr)
}
