// Package health keeps what a container knows of the instances it calls:
// how many of its calls each one has outstanding, when it was last heard
// from, heartbeat round trips, and whether its connection is up. The
// container feeds it (calls begun and ended, messages heard, connections
// up and down) and asks it which instance to prefer; the monitor's own
// loop pings the instances in use once a PingInterval (idle ones less and
// less often, down to once every 8 PingIntervals), through a Prober the
// container implements with its ordinary call machinery, and closes
// connections that stayed unresponsive or idle too long.
//
// The transport below knows nothing of this: it moves frames and reports
// connection events. Only instances this process calls get a record, and a
// record whose instance left (its connection died, or it stayed idle) is
// dropped, so the table stays as small as the set of instances in use.
package health

import (
	"context"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// State is a peer's health, as lymph defines it.
type State int

// Peer states.
const (
	// StateUnknown: no record (never called, or forgotten).
	StateUnknown State = iota
	// StateResponsive: heard from recently.
	StateResponsive
	// StateUnresponsive: its connection is down, or nothing was heard from
	// it for Config.UnresponsiveAfter. Calls go elsewhere first.
	StateUnresponsive
	// StateIdle: responsive, but only heartbeats for Config.IdleAfter.
	StateIdle
)

var stateNames = [...]string{"unknown", "responsive", "unresponsive", "idle"}

// String returns the state's name as lymph writes it.
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "invalid"
	}
	return stateNames[s]
}

// Config sets the monitor's timings; a zero field means its default
// (lymph's values for the first three).
type Config struct {
	PingInterval      time.Duration // 1 s
	UnresponsiveAfter time.Duration // 3 s
	IdleAfter         time.Duration // 10 s
	// CloseUnresponsiveAfter and CloseIdleAfter: the connection to a peer
	// unresponsive (30 s) or idle (60 s) this long is closed and its
	// record dropped; negative means never.
	CloseUnresponsiveAfter time.Duration
	CloseIdleAfter         time.Duration
	// DisablePings turns heartbeats off: peers are then responsive while
	// their connection is up.
	DisablePings bool
}

// Defaults of Config.
const (
	DefaultPingInterval           = time.Second
	DefaultUnresponsiveAfter      = 3 * time.Second
	DefaultIdleAfter              = 10 * time.Second
	DefaultCloseUnresponsiveAfter = 30 * time.Second
	DefaultCloseIdleAfter         = 60 * time.Second
)

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.PingInterval, DefaultPingInterval)
	def(&c.UnresponsiveAfter, DefaultUnresponsiveAfter)
	def(&c.IdleAfter, DefaultIdleAfter)
	def(&c.CloseUnresponsiveAfter, DefaultCloseUnresponsiveAfter)
	def(&c.CloseIdleAfter, DefaultCloseIdleAfter)
	return c
}

// Prober is what the monitor needs from its owner.
type Prober interface {
	// Ping sends a heartbeat to endpoint and calls done once, without
	// blocking, when the reply came (ok) or did not within timeout.
	Ping(endpoint string, timeout time.Duration, done func(ok bool))
	// Disconnect closes the connection to endpoint: the monitor dropped
	// its record.
	Disconnect(endpoint string)
}

// Monitor keeps the health records. Its methods are safe for concurrent
// use; the per-call ones (Peer, Begin, End, Heard) take no exclusive lock.
type Monitor struct {
	cfg    Config
	prober Prober
	epoch  time.Time

	mu    sync.RWMutex
	peers map[string]*Peer
	wake  chan struct{} // capacity 1: see poke
	sleep atomic.Int64  // how long Run sleeps this time
}

// New returns a monitor; Run drives its heartbeats.
func New(cfg Config, prober Prober) *Monitor {
	return &Monitor{cfg: cfg.withDefaults(), prober: prober, epoch: time.Now(), peers: map[string]*Peer{}, wake: make(chan struct{}, 1)}
}

// Config returns the monitor's timings, defaults filled in.
func (m *Monitor) Config() Config { return m.cfg }

func (m *Monitor) now() int64 { return int64(time.Since(m.epoch)) }

// Peer returns the record of endpoint, creating it: a call is about to go
// there.
func (m *Monitor) Peer(endpoint string) *Peer {
	m.mu.RLock()
	p := m.peers[endpoint]
	m.mu.RUnlock()
	if p != nil {
		return p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p = m.peers[endpoint]; p == nil {
		now := m.now()
		p = &Peer{m: m, endpoint: endpoint}
		p.lastHeard.Store(now)
		p.lastActivity.Store(now)
		m.peers[endpoint] = p
		m.poke() // its first heartbeat, without waiting out an idle sleep
	}
	return p
}

// Find returns the record of endpoint, or nil when it has none.
func (m *Monitor) Find(endpoint string) *Peer {
	m.mu.RLock()
	p := m.peers[endpoint]
	m.mu.RUnlock()
	return p
}

// Heard records a message from endpoint; activity is false for heartbeat
// chatter (a ping, or the reply to ours). Senders without a record (peers
// that only call us) are not tracked.
func (m *Monitor) Heard(endpoint string, activity bool) {
	if p := m.Find(endpoint); p != nil {
		p.Heard(activity)
	}
}

// Heard is Monitor.Heard for a record already at hand (the one a call was
// counted on), without the lookup.
func (p *Peer) Heard(activity bool) {
	now := p.m.now()
	p.lastHeard.Store(now)
	if activity {
		p.lastActivity.Store(now)
	}
}

// Down records that the connection to endpoint died: the peer is
// unresponsive until a new connection is up.
func (m *Monitor) Down(endpoint string) {
	if p := m.Find(endpoint); p != nil {
		p.downAt.Store(m.now())
		p.down.Store(true)
	}
}

// Up records a new connection to endpoint.
func (m *Monitor) Up(endpoint string) {
	if p := m.Find(endpoint); p != nil {
		p.lastHeard.Store(m.now())
		p.down.Store(false)
	}
}

// State returns endpoint's state; StateUnknown when it has no record.
func (m *Monitor) State(endpoint string) State {
	p := m.Find(endpoint)
	if p == nil {
		return StateUnknown
	}
	return p.State()
}

// Run pings and prunes until ctx ends. It wakes every PingInterval while
// some peer is in use, and only when the next idle peer's heartbeat is due
// otherwise (up to maxIdleBackoff PingIntervals): a process whose peers
// are all idle wakes rarely. A new record, or a call to an idle peer,
// wakes it at once.
func (m *Monitor) Run(ctx context.Context) {
	timer := time.NewTimer(m.cfg.PingInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
			timer.Stop()
		case <-timer.C:
		}
		wait := m.tick()
		m.sleep.Store(int64(wait))
		timer.Reset(wait)
	}
}

// poke wakes Run for a tick now if it sleeps longer than PingInterval
// (all peers idle); otherwise its next tick comes soon enough, as it
// always did.
func (m *Monitor) poke() {
	if m.sleep.Load() <= int64(m.cfg.PingInterval) {
		return
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// tick drops records that outlived their use, closes connections that
// stayed bad too long, and pings the rest. It returns how long Run may
// sleep before the next tick.
func (m *Monitor) tick() time.Duration {
	m.mu.RLock()
	ps := make([]*Peer, 0, len(m.peers))
	for _, p := range m.peers {
		ps = append(ps, p)
	}
	m.mu.RUnlock()
	now := m.now()
	c := &m.cfg
	wait := int64(maxIdleBackoff) * int64(c.PingInterval)
	for _, p := range ps {
		busy := p.outstanding.Load() > 0
		switch {
		case p.down.Load():
			// Nothing re-dials a dead peer by itself: the record goes once
			// no call waits on it; a new call makes a new one.
			if !busy && now-p.downAt.Load() >= int64(c.PingInterval) {
				m.drop(p, false)
			}
		case !busy && c.CloseUnresponsiveAfter > 0 && now-p.lastHeard.Load() > int64(c.CloseUnresponsiveAfter):
			m.drop(p, true)
		case !busy && c.CloseIdleAfter > 0 && now-p.lastActivity.Load() > int64(c.CloseIdleAfter):
			m.drop(p, true)
		case !c.DisablePings && m.pingDue(p, now):
			m.ping(p, now)
		}
		wait = min(wait, m.untilDue(p, now))
	}
	return time.Duration(max(wait, int64(time.Millisecond)))
}

// maxIdleBackoff caps the idle back-off: a peer with nothing to do is
// pinged at least once every maxIdleBackoff PingIntervals.
const maxIdleBackoff = 8

// pingDue reports whether p gets a heartbeat this tick. A peer in use (a
// call outstanding, or one begun since the last ping) is pinged every
// PingInterval. An idle one is pinged at doubling intervals, up to
// maxIdleBackoff PingIntervals: pinging 100 idle peers every second cost
// each side ~0.7 % of a core (measured: bench idle row), for knowledge
// nobody used, since a dead connection is seen at once by its reader and
// a frozen peer that gets a call again is Stalled within milliseconds. The
// first call to it brings the rate back to PingInterval; State allows an
// idle peer's longer silence.
func (m *Monitor) pingDue(p *Peer, now int64) bool {
	base := int64(m.cfg.PingInterval)
	last := p.lastPing.Load()
	if last == 0 || p.outstanding.Load() > 0 || p.lastActivity.Load() > last || p.pingFailed.Load() {
		p.interval.Store(base)
		return true
	}
	iv := max(p.interval.Load(), base)
	if now-last+base/2 < iv { // ticks come every base, give or take
		return false
	}
	p.interval.Store(min(2*iv, maxIdleBackoff*base))
	return true
}

// untilDue is how long until p needs a tick: PingInterval unless it is an
// idle peer in back-off (pingDue), whose next heartbeat is later.
func (m *Monitor) untilDue(p *Peer, now int64) int64 {
	base := int64(m.cfg.PingInterval)
	iv, last := p.interval.Load(), p.lastPing.Load()
	if m.cfg.DisablePings || iv <= base || last == 0 || p.down.Load() || p.outstanding.Load() > 0 {
		return base
	}
	return max(last+iv-now, base)
}

func (m *Monitor) ping(p *Peer, now int64) {
	if !p.pinging.CompareAndSwap(false, true) {
		return // the last one is still out
	}
	p.lastPing.Store(now)
	m.prober.Ping(p.endpoint, m.cfg.UnresponsiveAfter, func(ok bool) {
		if ok {
			p.addRTT(time.Duration(m.now() - now))
		}
		p.pingFailed.Store(!ok)
		p.pinging.Store(false)
	})
}

func (m *Monitor) drop(p *Peer, disconnect bool) {
	m.mu.Lock()
	if m.peers[p.endpoint] == p {
		delete(m.peers, p.endpoint)
	}
	m.mu.Unlock()
	if disconnect {
		m.prober.Disconnect(p.endpoint)
	}
}

// Status describes one peer with a record.
type Status struct {
	Endpoint     string
	State        State
	Outstanding  int64     // calls waiting for its reply
	LastHeard    time.Time // last message of any kind from it
	LastActivity time.Time // last message other than heartbeats
	RTT          RTTStats  // heartbeat round trips
}

// Peers returns every record, sorted by endpoint.
func (m *Monitor) Peers() []Status {
	m.mu.RLock()
	ps := make([]*Peer, 0, len(m.peers))
	for _, p := range m.peers {
		ps = append(ps, p)
	}
	m.mu.RUnlock()
	out := make([]Status, 0, len(ps))
	for _, p := range ps {
		out = append(out, Status{
			Endpoint:     p.endpoint,
			State:        p.State(),
			Outstanding:  p.outstanding.Load(),
			LastHeard:    m.epoch.Add(time.Duration(p.lastHeard.Load())),
			LastActivity: m.epoch.Add(time.Duration(p.lastActivity.Load())),
			RTT:          p.rttStats(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

// Peer is the record of one instance in use.
type Peer struct {
	m        *Monitor
	endpoint string

	outstanding  atomic.Int64
	lastHeard    atomic.Int64 // Monitor.now() stamps
	lastActivity atomic.Int64
	down         atomic.Bool
	downAt       atomic.Int64
	pinging      atomic.Bool
	lastPing     atomic.Int64 // Monitor.now() when the last ping went out; 0: never
	interval     atomic.Int64 // until the next ping (idle back-off); 0: PingInterval
	pingFailed   atomic.Bool  // the last ping got no reply in time

	rttMu sync.Mutex
	rtt   [rttWindow]time.Duration
	rttN  int
}

const rttWindow = 64

// Endpoint returns the peer's endpoint.
func (p *Peer) Endpoint() string { return p.endpoint }

// Begin counts a call sent to the peer; End counts its end, whatever it was.
func (p *Peer) Begin() {
	p.outstanding.Add(1)
	p.lastActivity.Store(p.m.now())
	if p.interval.Load() > int64(p.m.cfg.PingInterval) {
		p.m.poke() // in use again: back to heartbeats every PingInterval
	}
}

// BeginHeartbeat counts a heartbeat sent to the peer, ended by End: it is
// outstanding like a call, but not activity, so that a peer that only
// exchanges heartbeats becomes idle (and is pinged less, then closed).
func (p *Peer) BeginHeartbeat() { p.outstanding.Add(1) }

// End counts the end of a call counted by Begin.
func (p *Peer) End() { p.outstanding.Add(-1) }

// stallAfter is how long a peer with calls outstanding may stay silent
// before it counts as stalled. A peer that answers keeps being heard from
// (every reply counts), so this is many round trips even under load; a
// frozen or wedged one stops being heard at once.
const stallAfter = 40 * time.Millisecond

// Stalled reports whether the peer has calls outstanding and was not heard
// from for stallAfter: it is frozen, wedged, or cut off, whatever the
// heartbeat says yet. Callers should go elsewhere while another instance
// is not stalled.
func (p *Peer) Stalled() bool {
	return p.outstanding.Load() > 0 && p.m.now()-p.lastHeard.Load() > int64(stallAfter)
}

// Outstanding returns the calls waiting for the peer's reply.
func (p *Peer) Outstanding() int64 { return p.outstanding.Load() }

// State returns the peer's state now.
func (p *Peer) State() State {
	c := &p.m.cfg
	now := p.m.now()
	switch {
	case p.down.Load():
		return StateUnresponsive
	case c.DisablePings:
		return StateResponsive
	case p.pingFailed.Load() && p.lastHeard.Load() <= p.lastPing.Load():
		return StateUnresponsive // asked, and no word since
	case now-p.lastHeard.Load() > int64(c.UnresponsiveAfter)+p.idleAllowance():
		return StateUnresponsive
	case now-p.lastActivity.Load() > int64(c.IdleAfter):
		return StateIdle
	}
	return StateResponsive
}

// idleAllowance is how much longer than usual an idle peer may be silent:
// it is pinged less often (see pingDue).
func (p *Peer) idleAllowance() int64 {
	return max(p.interval.Load()-int64(p.m.cfg.PingInterval), 0)
}

func (p *Peer) addRTT(d time.Duration) {
	p.rttMu.Lock()
	p.rtt[p.rttN%rttWindow] = d
	p.rttN++
	p.rttMu.Unlock()
}

// RTTStats summarize the most recent heartbeat round trips.
type RTTStats struct {
	Samples int
	Last    time.Duration
	Mean    time.Duration
	Median  time.Duration
	Max     time.Duration
}

func (p *Peer) rttStats() RTTStats {
	p.rttMu.Lock()
	n := min(p.rttN, rttWindow)
	if n == 0 {
		p.rttMu.Unlock()
		return RTTStats{}
	}
	s := RTTStats{Samples: n, Last: p.rtt[(p.rttN-1)%rttWindow]}
	samples := slices.Clone(p.rtt[:n])
	p.rttMu.Unlock()
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	s.Mean, s.Median, s.Max = sum/time.Duration(n), samples[n/2], samples[n-1]
	return s
}
