package lymph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/internal/transport"
)

// recordingWaiter reports each completion on a channel.
type recordingWaiter struct {
	id  string
	out chan<- expiry
}

type expiry struct {
	id  string
	err error
}

func (w recordingWaiter) complete(_ transport.Incoming, err error) {
	w.out <- expiry{w.id, err}
}

// TestPendingClock checks the table's one clock: it expires the call
// with the earliest deadline even when that call came after others, with
// the timeout error of that call; it leaves taken calls alone; it sets
// itself for the next deadline; and it is off once the table is empty or
// failed.
func TestPendingClock(t *testing.T) {
	p := pendingCalls{calls: map[string]pendingCall{}}
	peer := health.New(health.Config{DisablePings: true}, nil).Peer("tcp://127.0.0.1:1")
	out := make(chan expiry, 4)
	add := func(id string, timeout time.Duration) time.Time {
		deadline := time.Now().Add(timeout)
		p.add(id, pendingCall{w: recordingWaiter{id, out}, peer: peer, subject: "svc." + id, deadline: deadline, timeout: timeout})
		return deadline
	}
	long := add("long", time.Hour)
	p.mu.Lock()
	assert.Equal(t, long, p.wake, "the first deadline sets the clock")
	p.mu.Unlock()
	add("taken", 10*time.Millisecond) // earlier: the clock moves to it
	add("short", 20*time.Millisecond)
	_, ok := p.take("taken")
	require.True(t, ok)

	got := <-out
	assert.Equal(t, "short", got.id, "the taken call is not expired, the short one is")
	require.ErrorIs(t, got.err, ErrTimeout)
	assert.Contains(t, got.err.Error(), "svc.short: no reply within 20ms")
	p.mu.Lock()
	assert.Equal(t, long, p.wake, "after a sweep the clock is set for the earliest call left")
	_, stillWaiting := p.calls["long"]
	p.mu.Unlock()
	assert.True(t, stillWaiting)
	assert.Equal(t, int64(1), peer.Outstanding(), "an expired call's count on its peer ends")

	p.failAll(ErrNotRunning)
	got = <-out
	assert.Equal(t, "long", got.id)
	require.ErrorIs(t, got.err, ErrNotRunning)
	p.mu.Lock()
	assert.True(t, p.wake.IsZero(), "a failed table has no clock set")
	p.mu.Unlock()
	select {
	case e := <-out:
		t.Fatalf("completed twice: %v", e)
	default:
	}
}

// TestPendingClockExpiresPastDeadlines: a call whose deadline had already
// passed when it went into the table (resend after a slow refusal) is
// expired at once, and calls due together are expired by one sweep.
func TestPendingClockExpiresPastDeadlines(t *testing.T) {
	p := pendingCalls{calls: map[string]pendingCall{}}
	peer := health.New(health.Config{DisablePings: true}, nil).Peer("tcp://127.0.0.1:1")
	out := make(chan expiry, 3)
	past := time.Now().Add(-time.Second)
	for _, id := range []string{"a", "b", "c"} {
		p.add(id, pendingCall{w: recordingWaiter{id, out}, peer: peer, subject: "svc.m", deadline: past, timeout: time.Millisecond})
	}
	seen := map[string]bool{}
	for range 3 {
		e := <-out
		require.ErrorIs(t, e.err, ErrTimeout)
		seen[e.id] = true
	}
	assert.Len(t, seen, 3)
	p.mu.Lock()
	assert.Empty(t, p.calls)
	p.mu.Unlock()
}
