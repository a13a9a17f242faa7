package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
)

// reportCount reads "(#req=N)" off the report line that starts with label.
func reportCount(t *testing.T, report, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `.*\(#req=(\d+)\)$`).FindStringSubmatch(report)
	require.NotNil(t, m, "no %q line with a count in:\n%s", label, report)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func TestLoad(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	startEcho(t, reg)

	r := cli(t, "", "--registry", reg, "request", "-N", "200", "-C", "8", "echo.upper", `{"text": "hi"}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr, "no progress bar when stderr is not a terminal")
	out := r.stdout
	assert.True(t, strings.HasPrefix(out, "sending 200 requests, concurrency 8\n"), out)
	for _, line := range []string{
		"Requests per second:", "Mean time per request:", "Timeout rate:", "Error rate:", "Total time:", "Percentiles:",
		"  0.0 %", " 50.0 %", " 90.0 %", " 95.0 %", " 99.0 %", " 99.9 %", "100.0 %",
	} {
		assert.Contains(t, out, "\n"+line, "report line %q", line)
	}
	assert.Regexp(t, `(?m)^Requests per second: +\d+\.\d\d Hz  \(#req=200\)$`, out)
	assert.Regexp(t, `(?m)^Mean time per request: +\d+\.\d\d ms  \(stddev=\d+\.\d\d\)$`, out)
	assert.Regexp(t, `(?m)^100\.0 % +\d+\.\d\d ms \(max\)$`, out)
	ok, timeouts, errs := reportCount(t, out, "Requests per second:"), reportCount(t, out, "Timeout rate:"), reportCount(t, out, "Error rate:")
	assert.Equal(t, 200, ok+timeouts+errs)
	assert.Equal(t, 200, ok)
}

func TestLoadFailures(t *testing.T) {
	t.Parallel()
	reg := memoryRegistry(t)
	startEcho(t, reg)

	t.Run("a failed warm-up stops the run", func(t *testing.T) {
		r := cli(t, "", "--registry", reg, "request", "-N", "10", "-C", "3", "echo.fail", `{"text": "x"}`)
		require.Equal(t, exitRemote, r.code, r.stderr)
		oneErrorLine(t, r, "warm-up request failed", "remote error")
		assert.NotContains(t, r.stdout, "Requests per second")
	})
}

func TestLoadCounts(t *testing.T) {
	// Every 5th request times out and every 7th fails otherwise: the
	// report's counts must add up, and the first failure that is not a
	// timeout decides the exit code.
	var n atomic.Int64
	call := func(ctx context.Context, args any) (*lymph.Message, error) {
		switch i := n.Add(1); {
		case i%5 == 0:
			return nil, lymph.ErrTimeout
		case i%7 == 0:
			return nil, errNope.New("x")
		}
		return &lymph.Message{Type: lymph.TypeReply}, nil
	}
	res := loadTest(context.Background(), 100, 7, call, nil, nil)
	assert.Equal(t, 100, res.sent())
	assert.Equal(t, 20, res.timeouts)
	assert.Equal(t, 12, res.errors) // the 14 multiples of 7, less 35 and 70
	assert.Len(t, res.timings, 68)
	assert.Equal(t, exitRemote, exitCode(&loadError{failed: 32, sent: 100, err: res.firstErr}))

	n.Store(0)
	onlyTimeouts := func(ctx context.Context, args any) (*lymph.Message, error) {
		if n.Add(1)%2 == 0 {
			return nil, lymph.ErrTimeout
		}
		return &lymph.Message{Type: lymph.TypeReply}, nil
	}
	res = loadTest(context.Background(), 10, 2, onlyTimeouts, nil, nil)
	assert.Equal(t, 5, res.timeouts)
	assert.Equal(t, exitTimeout, exitCode(res.firstErr))

	// Interrupted: stop early, count only what was answered.
	ctx, cancel := context.WithCancel(context.Background())
	n.Store(0)
	cancelling := func(c context.Context, args any) (*lymph.Message, error) {
		if n.Add(1) == 10 {
			cancel()
			return nil, c.Err()
		}
		return &lymph.Message{Type: lymph.TypeReply}, nil
	}
	res = loadTest(ctx, 1000, 1, cancelling, nil, nil)
	assert.Equal(t, 9, res.sent())
}

func TestReport(t *testing.T) {
	ts := make([]time.Duration, 0, 1000)
	for i := 1; i <= 1000; i++ {
		ts = append(ts, time.Duration(i)*time.Millisecond)
	}
	var b bytes.Buffer
	printReport(&b, &loadResult{requested: 1010, timings: ts, timeouts: 6, errors: 4, total: 2 * time.Second})
	want := `
Requests per second:     500.00 Hz  (#req=1000)
Mean time per request:   500.50 ms  (stddev=288.67)
Timeout rate:              0.59 %   (#req=6)
Error rate:                0.40 %   (#req=4)
Total time:                2.00 s

Percentiles:
  0.0 %       1.00 ms (min)
 50.0 %     501.00 ms
 90.0 %     901.00 ms
 95.0 %     951.00 ms
 97.0 %     971.00 ms
 98.0 %     981.00 ms
 99.0 %     991.00 ms
 99.5 %     996.00 ms
 99.9 %    1000.00 ms
100.0 %    1000.00 ms (max)
`
	assert.Equal(t, want, b.String())

	b.Reset()
	printReport(&b, &loadResult{requested: 3, timeouts: 3, total: time.Second})
	assert.Contains(t, b.String(), "Requests per second:       0.00 Hz  (#req=0)\n")
	assert.Contains(t, b.String(), "Timeout rate:            100.00 %   (#req=3)\n")
	assert.Contains(t, b.String(), "Percentiles: n/a (no successful request)\n")
}

func TestProgressBar(t *testing.T) {
	var b syncBuffer
	bar := startProgress(&b, 10)
	for range 5 {
		bar.add()
	}
	time.Sleep(150 * time.Millisecond)
	bar.stop()
	out := b.String()
	assert.Contains(t, out, "] ")
	assert.Contains(t, out, "5/10")
	assert.True(t, strings.HasSuffix(out, "\r\x1b[K"), "the bar is cleared: %q", out)

	var nilBar *progressBar // what a run off a terminal has
	nilBar.add()
	nilBar.stop()
}
