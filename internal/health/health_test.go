package health

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeProber answers pings as told and records disconnects.
type fakeProber struct {
	mu           sync.Mutex
	answer       bool
	pings        map[string]int
	disconnected []string
}

func newFakeProber(answer bool) *fakeProber {
	return &fakeProber{answer: answer, pings: map[string]int{}}
}

func (f *fakeProber) Ping(endpoint string, timeout time.Duration, done func(ok bool)) {
	f.mu.Lock()
	f.pings[endpoint]++
	answer := f.answer
	f.mu.Unlock()
	go done(answer)
}

func (f *fakeProber) Disconnect(endpoint string) {
	f.mu.Lock()
	f.disconnected = append(f.disconnected, endpoint)
	f.mu.Unlock()
}

func (f *fakeProber) pingsTo(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pings[endpoint]
}

func TestStates(t *testing.T) {
	m := New(Config{UnresponsiveAfter: 50 * time.Millisecond, IdleAfter: time.Hour}, newFakeProber(true))
	assert.Equal(t, StateUnknown, m.State("tcp://a:1"))
	p := m.Peer("tcp://a:1")
	assert.Equal(t, StateResponsive, p.State())
	m.Down("tcp://a:1")
	assert.Equal(t, StateUnresponsive, p.State(), "a dead connection")
	m.Up("tcp://a:1")
	assert.Equal(t, StateResponsive, p.State())
	require.Eventually(t, func() bool { return p.State() == StateUnresponsive }, 5*time.Second, time.Millisecond, "silent past UnresponsiveAfter")
	m.Heard("tcp://a:1", true)
	assert.Equal(t, StateResponsive, p.State())
	m.Heard("tcp://unknown:1", true)
	assert.Equal(t, StateUnknown, m.State("tcp://unknown:1"), "senders we do not call get no record")
}

func TestStalledNeedsOutstandingCalls(t *testing.T) {
	m := New(Config{}, newFakeProber(true))
	p := m.Peer("tcp://a:1")
	assert.False(t, p.Stalled())
	p.Begin()
	require.Eventually(t, p.Stalled, 5*time.Second, time.Millisecond, "a call outstanding and nothing heard")
	m.Heard("tcp://a:1", true)
	assert.False(t, p.Stalled(), "heard again")
	p.End()
	assert.Zero(t, p.Outstanding())
}

// The loop pings instances in use, drops dead ones nobody waits on
// (without re-dialing them), and closes idle ones.
func TestRunPingsAndPrunes(t *testing.T) {
	prober := newFakeProber(true)
	m := New(Config{PingInterval: 5 * time.Millisecond, CloseIdleAfter: 200 * time.Millisecond}, prober)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	live := m.Peer("tcp://live:1")
	m.Peer("tcp://dead:1")
	busy := m.Peer("tcp://busy:1")
	busy.Begin()
	m.Down("tcp://dead:1")
	m.Down("tcp://busy:1")
	require.Eventually(t, func() bool { return prober.pingsTo("tcp://live:1") >= 3 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return m.Find("tcp://dead:1") == nil }, 5*time.Second, time.Millisecond, "a dead peer nobody waits on is forgotten")
	assert.Zero(t, prober.pingsTo("tcp://dead:1"), "no pings to a dead peer")
	assert.NotNil(t, m.Find("tcp://busy:1"), "kept while a call waits on it")
	require.Eventually(t, func() bool { return m.Find("tcp://live:1") == nil }, 5*time.Second, time.Millisecond, "idle: only heartbeats")
	prober.mu.Lock()
	assert.Contains(t, prober.disconnected, "tcp://live:1")
	assert.NotContains(t, prober.disconnected, "tcp://dead:1")
	prober.mu.Unlock()
	assert.Positive(t, live.rttStats().Samples)
	busy.End()
}

func TestPeersListsRecords(t *testing.T) {
	m := New(Config{}, newFakeProber(true))
	m.Peer("tcp://b:1").Begin()
	m.Peer("tcp://a:1")
	ps := m.Peers()
	require.Len(t, ps, 2)
	assert.Equal(t, "tcp://a:1", ps[0].Endpoint)
	assert.Equal(t, int64(1), ps[1].Outstanding)
	assert.Equal(t, "responsive", ps[0].State.String())
}
