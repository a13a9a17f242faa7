package transport

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// State is a peer's health, as lymph defines it.
type State int

// Peer states. StateUnknown is only returned (with false) by PeerState for
// a peer without a connection record.
const (
	StateUnknown State = iota
	// StateResponsive: connected and heard from recently.
	StateResponsive
	// StateUnresponsive: not connected, or nothing heard for
	// Options.UnresponsiveAfter. Requests should go elsewhere.
	StateUnresponsive
	// StateIdle: responsive, but only heartbeats for Options.IdleAfter.
	StateIdle
	// StateClosed: the connection was closed for having been unresponsive
	// or idle too long; the next Send to the peer dials again.
	StateClosed
)

var stateNames = [...]string{"unknown", "responsive", "unresponsive", "idle", "closed"}

// String returns the state's name as lymph writes it ("responsive", ...).
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "invalid"
	}
	return stateNames[s]
}

// PeerStatus describes one peer the Transport has a connection record for.
type PeerStatus struct {
	Endpoint     string
	State        State
	Connected    bool      // a live outgoing connection exists
	LastHeard    time.Time // last message of any kind from the peer
	LastActivity time.Time // last message to or from it other than heartbeats
	RTT          RTTStats  // heartbeat round trips
	DialError    error     // the last dial's error, if it failed
}

// RTTStats summarize the most recent heartbeat round-trip samples.
type RTTStats struct {
	Samples int // samples summarized, at most the last rttWindow
	Last    time.Duration
	Mean    time.Duration
	Median  time.Duration
	Max     time.Duration
}

const rttWindow = 64

// health is the part of a peer record the heartbeat maintains. Stamps are
// Transport.now() values.
type health struct {
	lastHeard    atomic.Int64
	lastActivity atomic.Int64
	closed       atomic.Bool  // closed by the health policy
	closedAt     atomic.Int64 // when closed was set
	removed      bool         // deleted from the peer table; guarded by peer.mu

	rttMu sync.Mutex
	rtt   [rttWindow]time.Duration
	rttN  int // samples ever recorded
}

func (h *health) reset(now int64) {
	h.lastHeard.Store(now)
	h.lastActivity.Store(now)
	h.closed.Store(false)
}

func (h *health) addRTT(d time.Duration) {
	h.rttMu.Lock()
	h.rtt[h.rttN%rttWindow] = d
	h.rttN++
	h.rttMu.Unlock()
}

func (h *health) rttStats() RTTStats {
	h.rttMu.Lock()
	n := min(h.rttN, rttWindow)
	if n == 0 {
		h.rttMu.Unlock()
		return RTTStats{}
	}
	s := RTTStats{Samples: n, Last: h.rtt[(h.rttN-1)%rttWindow]}
	samples := slices.Clone(h.rtt[:n])
	h.rttMu.Unlock()
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	s.Mean = sum / time.Duration(n)
	s.Median = samples[n/2]
	s.Max = samples[n-1]
	return s
}

// revive resets a record the health policy had closed, when it is used
// again. Called with p.mu held.
func (p *peer) revive() {
	if p.closed.Load() {
		p.reset(p.t.now())
	}
}

// connected reports whether p has a live outgoing connection.
func (p *peer) connected() bool {
	oc := p.out.Load()
	return oc != nil && !oc.dead.Load()
}

// state computes p's State at now.
func (p *peer) state(now int64) State {
	o := &p.t.opts
	switch {
	case p.closed.Load():
		return StateClosed
	case !p.connected():
		return StateUnresponsive
	case o.DisableHeartbeat:
		return StateResponsive
	case now-p.lastHeard.Load() > int64(o.UnresponsiveAfter):
		return StateUnresponsive
	case now-p.lastActivity.Load() > int64(o.IdleAfter):
		return StateIdle
	}
	return StateResponsive
}

// PeerState returns the State of the peer at endpoint, and false when the
// Transport has no record of it (it was never sent to, or was forgotten).
func (t *Transport) PeerState(endpoint string) (State, bool) {
	t.peersMu.RLock()
	p := t.peers[endpoint]
	t.peersMu.RUnlock()
	if p == nil {
		return StateUnknown, false
	}
	return p.state(t.now()), true
}

// Peers returns the status of every peer with a connection record, sorted
// by endpoint.
func (t *Transport) Peers() []PeerStatus {
	t.peersMu.RLock()
	ps := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		ps = append(ps, p)
	}
	t.peersMu.RUnlock()
	now := t.now()
	out := make([]PeerStatus, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		dialErr := p.dialErr
		p.mu.Unlock()
		out = append(out, PeerStatus{
			Endpoint:     p.endpoint,
			State:        p.state(now),
			Connected:    p.connected(),
			LastHeard:    t.epoch.Add(time.Duration(p.lastHeard.Load())),
			LastActivity: t.epoch.Add(time.Duration(p.lastActivity.Load())),
			RTT:          p.rttStats(),
			DialError:    dialErr,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}

// observe records a valid received message in its sender's health and
// reports whether the transport consumed it (a reply to our own ping).
// Heartbeat pings and their replies are heard but are not activity.
func (t *Transport) observe(in *Incoming) bool {
	chatter := false
	if t.hb != nil {
		switch {
		case in.Type == TypeREQ && in.Subject == pingSubject:
			chatter = true
			t.hb.rememberInbound(in.ID)
		case in.Type == TypeREP && t.hb.takeReply(in):
			return true
		}
	}
	t.peersMu.RLock()
	p := t.peers[in.Sender]
	t.peersMu.RUnlock()
	if p != nil {
		now := t.now()
		p.lastHeard.Store(now)
		if !chatter {
			p.lastActivity.Store(now)
		}
	}
	return false
}

// sent records a message queued for p as activity, unless it is heartbeat
// chatter (a ping, or the reply to a peer's ping).
func (t *Transport) sent(p *peer, m *outMsg) {
	if t.hb != nil {
		if m.typ == TypeREQ && m.subject == pingSubject {
			return
		}
		if m.typ == TypeREP && t.hb.repliedInbound(m.subject) {
			return
		}
	}
	p.lastActivity.Store(t.now())
}
