package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/events"
)

func TestEmitAndSubscribe(t *testing.T) {
	dir := t.TempDir()
	url := "local://" + dir
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(t.Context(), []string{"subscribe", "--events", url, "-n", "2", "user.*"}, &stdout, &stderr, strings.NewReader(""))
	}()
	// The subscription's own queue appears when it is bound.
	require.Eventually(t, func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "queues"))
		for _, e := range entries {
			binds, _ := os.ReadDir(filepath.Join(dir, "queues", e.Name(), "bind"))
			if strings.HasPrefix(e.Name(), "_client-on_event-") && len(binds) > 0 {
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "subscribe never bound its queue (stderr: %s)", stderr.String())

	r := cli(t, "", "emit", "--events", url, "--trace-id", "cli-trace", "user.created", `{"id": 42, "name": "ann"}`)
	require.Equal(t, 0, r.code, r.stderr)
	r = cli(t, "", "emit", "--events", url, "user.deleted")
	require.Equal(t, 0, r.code, r.stderr)
	select {
	case code := <-done:
		require.Equal(t, 0, code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("subscribe did not exit after two events")
	}
	out := stdout.String()
	assert.Contains(t, out, "user.created: ")
	assert.Contains(t, out, "42")
	assert.Contains(t, out, "ann")
	assert.Contains(t, out, "user.deleted: ")
	entries, _ := os.ReadDir(filepath.Join(dir, "queues"))
	assert.Empty(t, entries, "the subscriber's queue is gone after it exits")
}

func TestEmitCarriesTraceAndDelay(t *testing.T) {
	bus, err := events.Open("memory:cli-emit")
	require.NoError(t, err)
	defer bus.Close()
	w, err := bus.NextEvent(context.Background(), events.Subscription{Queue: "t", Types: []string{"late.one"}})
	require.NoError(t, err)
	r := cli(t, "", "emit", "--events", "memory:cli-emit", "--trace-id", "tr-9", "--delay", "0.05", "late.one", `{"n": 1}`)
	require.Equal(t, 0, r.code, r.stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := w.Wait(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tr-9", ev.TraceID())
	assert.EqualValues(t, 1, ev.Body.(map[string]any)["n"], "JSON integers travel as integers")
}

func TestEmitBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"emit", "--events", "memory:x", "a.b", "{not json"},
		{"emit", "--events", "memory:x", "a.*"},
		{"emit", "--events", "memory:x", "--delay", "-1", "a.b"},
		{"emit", "--events", "nope:", "a.b"},
	} {
		r := cli(t, "", args...)
		assert.NotEqual(t, 0, r.code, "%v", args)
		oneErrorLine(t, r)
	}
}
