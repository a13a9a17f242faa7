package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatTable(t *testing.T) {
	rows := []*row{
		{
			name:   "kill-9",
			res:    Result{Calls: 1000, OK: 990, Kinds: map[string]int64{kindTimeout: 8, kindNotConn: 1, kindWrong: 1}},
			ttf:    percentiles{n: 10, p50: 5 * time.Millisecond, p99: 1000 * time.Millisecond, max: 1002 * time.Millisecond},
			tput:   throughput{worst: 50, normal: 100, ratio: 0.5, ok: true},
			before: usage{rssKiB: 14 * 1024, fds: 12}, after: usage{rssKiB: 20 * 1024, fds: 13}, hasUsage: true,
			checks: []check{exact("wrong replies", 1, 0)},
		},
		{name: "partition", skipped: "needs root"},
		{name: "zk-down", err: errors.New("boom")},
	}
	got := formatTable(rows)
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	require.Len(t, lines, 5, got)
	for _, l := range lines {
		assert.Equal(t, len([]rune(lines[0])), len([]rune(l)), "aligned: %q", l)
	}
	cells := strings.Split(lines[2], "|")
	var trimmed []string
	for _, c := range cells[1 : len(cells)-1] {
		trimmed = append(trimmed, strings.TrimSpace(c))
	}
	assert.Equal(t, []string{"kill-9", "1000", "990", "8", "0", "1", "0", "0", "0", "0", "1", "0",
		"5.0ms/1000ms/1002ms", "50/100 (50%)", "14.0→20.0", "12→13", "FAIL"}, trimmed)
	assert.Contains(t, lines[3], "skipped")
	assert.Contains(t, lines[4], "ERROR")
}

func TestFormatDetails(t *testing.T) {
	rows := []*row{
		{name: "quiet", checks: []check{exact("hung calls", 0, 0)}},
		{name: "loud", notes: []string{"2 × kill -9"}, res: Result{Samples: map[string]string{kindTimeout: "no reply"}},
			checks: []check{exact("hung calls", 0, 0), exact("failed calls", 3, 0)}},
	}
	got := formatDetails(rows, false)
	assert.Equal(t, "loud:\n  2 × kill -9\n  a timeout error: no reply\n  failed calls 3 (target ≤ 0, limit ≤ 0): FAIL\n", got)
	assert.Contains(t, formatDetails(rows, true), "quiet:\n  hung calls 0 (target ≤ 0, limit ≤ 0): pass\n")
}

func TestRowVerdict(t *testing.T) {
	assert.Equal(t, pass, (&row{skipped: "not root"}).verdict())
	assert.Equal(t, fail, (&row{err: errors.New("x")}).verdict())
	assert.Equal(t, miss, (&row{checks: []check{{value: 2, target: 1, limit: 3}}}).verdict())
}
