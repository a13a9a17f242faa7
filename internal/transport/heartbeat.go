package transport

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// pingSubject is the method every lymph instance answers.
const pingSubject = "lymph.ping"

// The constant frames of a heartbeat ping, msgpack encoded by hand (this
// package knows nothing of msgpack): headers {"trace_id": nil, "version":
// nil} and body {"payload": ""}.
var (
	pingHeaders = []byte("\x82\xa8trace_id\xc0\xa7version\xc0")
	pingBody    = []byte("\x81\xa7payload\xa0")
)

// maxInboundPings bounds the ids of peers' pings remembered until we reply
// (to tell those replies from real activity), against a ping flood.
const maxInboundPings = 4096

// heartbeat sends lymph.ping to every peer with a connection record once
// per PingInterval, consumes the replies (keeping round-trip samples), and
// closes connections that stay unresponsive or idle too long.
type heartbeat struct {
	t *Transport

	mu       sync.Mutex
	pending  map[string]pendingPing // our ping id → where and when it went
	inbound  map[string]int64       // peers' ping ids → when received
	nInbound atomic.Int64           // len(inbound), read without the lock
}

type pendingPing struct {
	p    *peer
	sent int64
}

func newHeartbeat(t *Transport) *heartbeat {
	return &heartbeat{t: t, pending: make(map[string]pendingPing), inbound: make(map[string]int64)}
}

func (hb *heartbeat) run() {
	tick := time.NewTicker(hb.t.opts.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-hb.t.ctx.Done():
			return
		case <-tick.C:
			hb.tick()
		}
	}
}

// tick runs one round: close what stayed bad too long, forget what was
// closed long ago, re-dial dead connections, ping the rest.
func (hb *heartbeat) tick() {
	t := hb.t
	o := &t.opts
	t.peersMu.RLock()
	ps := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		ps = append(ps, p)
	}
	t.peersMu.RUnlock()

	now := t.now()
	for _, p := range ps {
		switch {
		case p.closed.Load():
			if now-p.closedAt.Load() > int64(o.IdleAfter) {
				hb.forget(p)
			}
		case o.CloseUnresponsiveAfter > 0 && now-p.lastHeard.Load() > int64(o.CloseUnresponsiveAfter):
			hb.closePeer(p, "unresponsive")
		case o.CloseIdleAfter > 0 && now-p.lastActivity.Load() > int64(o.CloseIdleAfter):
			hb.closePeer(p, "idle")
		case !p.connected():
			// The connection died (the peer restarted, say): dial in
			// the background, so the record recovers without a Send.
			p.mu.Lock()
			if !p.removed {
				p.startDial() //nolint:errcheck // a failure is recorded in p
			}
			p.mu.Unlock()
		default:
			hb.ping(p, now)
		}
	}
	hb.expire(now)
}

func (hb *heartbeat) ping(p *peer, now int64) {
	oc := p.out.Load()
	if oc == nil || oc.dead.Load() {
		return
	}
	id := NewID()
	hb.mu.Lock()
	hb.pending[id] = pendingPing{p: p, sent: now}
	hb.mu.Unlock()
	select {
	case oc.queue <- outMsg{id: id, typ: TypeREQ, subject: pingSubject, headers: pingHeaders, body: pingBody}:
		hb.t.stats.pingsSent.Add(1)
	default: // queue full: the peer has enough to chew on
		hb.mu.Lock()
		delete(hb.pending, id)
		hb.mu.Unlock()
	}
}

// expire forgets pings nobody answered in time and peers' pings we never
// answered.
func (hb *heartbeat) expire(now int64) {
	limit := int64(hb.t.opts.UnresponsiveAfter)
	hb.mu.Lock()
	for id, pp := range hb.pending {
		if now-pp.sent > limit {
			delete(hb.pending, id)
		}
	}
	for id, at := range hb.inbound {
		if now-at > limit {
			delete(hb.inbound, id)
		}
	}
	hb.nInbound.Store(int64(len(hb.inbound)))
	hb.mu.Unlock()
}

// closePeer closes p's connection for having been bad too long. The record
// stays, in StateClosed, until forgotten; a Send revives it.
func (hb *heartbeat) closePeer(p *peer, why string) {
	t := hb.t
	p.mu.Lock()
	p.closed.Store(true)
	p.closedAt.Store(t.now())
	oc := p.out.Load()
	p.mu.Unlock()
	if oc != nil {
		oc.die(fmt.Errorf("closed by heartbeat: %s", why))
	}
	t.log.Info("transport: closed connection to peer", slog.String("peer", p.endpoint), slog.String("why", why))
}

// forget removes a record that stayed closed, so that the table does not
// grow with every peer ever talked to. A Send racing with it sees
// p.removed and looks the peer up again.
func (hb *heartbeat) forget(p *peer) {
	t := hb.t
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed.Load() || p.dialing != nil {
		return
	}
	p.removed = true
	t.peersMu.Lock()
	if t.peers[p.endpoint] == p {
		delete(t.peers, p.endpoint)
	}
	t.peersMu.Unlock()
}

// takeReply consumes in if it is the reply to one of our pings.
func (hb *heartbeat) takeReply(in *Incoming) bool {
	hb.mu.Lock()
	pp, ok := hb.pending[in.Subject]
	if ok {
		delete(hb.pending, in.Subject)
	}
	hb.mu.Unlock()
	if !ok {
		return false
	}
	now := hb.t.now()
	pp.p.addRTT(time.Duration(now - pp.sent))
	// The peer we pinged is heard, whatever identity it answered from.
	pp.p.lastHeard.Store(now)
	hb.t.stats.pingReplies.Add(1)
	return true
}

// rememberInbound notes a peer's ping id, so that our reply to it is not
// taken for activity.
func (hb *heartbeat) rememberInbound(id string) {
	hb.mu.Lock()
	if len(hb.inbound) < maxInboundPings {
		hb.inbound[id] = hb.t.now()
		hb.nInbound.Store(int64(len(hb.inbound)))
	}
	hb.mu.Unlock()
}

// repliedInbound reports whether subject is the id of a peer's ping (so a
// REP with that subject is heartbeat chatter), forgetting it.
func (hb *heartbeat) repliedInbound(subject string) bool {
	if hb.nInbound.Load() == 0 {
		return false
	}
	hb.mu.Lock()
	_, ok := hb.inbound[subject]
	if ok {
		delete(hb.inbound, subject)
		hb.nInbound.Store(int64(len(hb.inbound)))
	}
	hb.mu.Unlock()
	return ok
}

// janitor runs instead of the heartbeat when it is disabled. It forgets
// peers that are not connected and could not be dialed for
// CloseUnresponsiveAfter: without it every endpoint ever sent to (every
// identity a hostile client made us reply to, say) would stay in the table.
func (t *Transport) janitor() {
	if t.opts.CloseUnresponsiveAfter < 0 {
		return
	}
	tick := time.NewTicker(t.opts.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		t.peersMu.RLock()
		ps := make([]*peer, 0, len(t.peers))
		for _, p := range t.peers {
			ps = append(ps, p)
		}
		t.peersMu.RUnlock()
		now := t.now()
		for _, p := range ps {
			p.mu.Lock()
			if !p.connected() && p.dialing == nil && p.dialErr != nil &&
				now-p.dialFailedAt > int64(t.opts.CloseUnresponsiveAfter) {
				p.removed = true
				t.peersMu.Lock()
				if t.peers[p.endpoint] == p {
					delete(t.peers, p.endpoint)
				}
				t.peersMu.Unlock()
			}
			p.mu.Unlock()
		}
	}
}
