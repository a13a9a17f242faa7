package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// peer is the connection record of one peer endpoint we send to: its
// current outgoing connection, or the dial in progress, or the last dial's
// failure.
//
// A record lives only as long as it is useful: it is forgotten when its
// connection dies, when Disconnect is called, when an inbound connection
// shows the peer alive again after a failed dial, and DialBackoff after a
// failed dial. Nothing dials by itself: only Send does. So a departed peer
// costs nothing after its connection dies, and no peer that nobody calls is
// ever dialed.
//
// There is at most one live outgoing connection per peer: a new one is
// dialed only once the current one is known dead. So a restarted peer
// (same endpoint, new process) gets our messages once, on the new
// connection, never on a stale one as well.
type peer struct {
	t        *Transport
	endpoint string
	addr     string // host:port

	out atomic.Pointer[outConn] // current connection; nil when none

	mu           sync.Mutex
	dialing      chan struct{} // closed when the running dial ends; nil if none
	dialErr      error         // last dial's error (wraps ErrNotConnected)
	dialFailedAt time.Time     // when dialErr was set
	forgetTimer  *time.Timer   // forgets the record DialBackoff after dialErr
	removed      bool          // deleted from the table: look the peer up again
}

// PeerStatus describes one peer the Transport has a connection record for.
type PeerStatus struct {
	Endpoint  string
	Connected bool  // a live outgoing connection exists
	Queued    int   // messages waiting to be written to it
	DialError error // the last dial's error, while it is remembered
}

// errRemoved tells Send that the record it holds was just forgotten, and to
// look the peer up again.
var errRemoved = errors.New("transport: peer record removed")

// peer returns the record of endpoint, creating it on first use.
func (t *Transport) peer(endpoint string) (*peer, error) {
	t.peersMu.RLock()
	p := t.peers[endpoint]
	t.peersMu.RUnlock()
	if p != nil {
		return p, nil
	}
	addr, err := splitEndpoint(endpoint, false)
	if err != nil {
		return nil, err
	}
	t.peersMu.Lock()
	defer t.peersMu.Unlock()
	if p = t.peers[endpoint]; p == nil {
		p = &peer{t: t, endpoint: endpoint, addr: addr}
		t.peers[endpoint] = p
	}
	return p, nil
}

// lookup returns the record of endpoint, or nil.
func (t *Transport) lookup(endpoint string) *peer {
	t.peersMu.RLock()
	p := t.peers[endpoint]
	t.peersMu.RUnlock()
	return p
}

// removeLocked deletes p from the table. Called with p.mu held.
func (p *peer) removeLocked() {
	if p.removed {
		return
	}
	p.removed = true
	if p.forgetTimer != nil {
		p.forgetTimer.Stop()
		p.forgetTimer = nil
	}
	t := p.t
	t.peersMu.Lock()
	if t.peers[p.endpoint] == p {
		delete(t.peers, p.endpoint)
	}
	t.peersMu.Unlock()
}

// lost is called when oc, one of p's connections, died: the record is
// forgotten unless a newer connection or a dial is under way.
func (p *peer) lost(oc *outConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out.Load() == oc {
		p.out.Store(nil)
	}
	if p.out.Load() == nil && p.dialing == nil {
		p.removeLocked()
	}
}

// forgetFailed forgets the record after a failed dial, once DialBackoff is
// over, unless it was used since.
func (p *peer) forgetFailed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out.Load() == nil && p.dialing == nil && p.dialErr != nil {
		p.removeLocked()
	}
}

// Send queues the five frames [id, type, subject, headers, body] for the
// peer at endpoint (tcp://host:port), to go out on the connection to it
// whose identity is t.Endpoint(). When there is no live connection it dials
// one first, within ctx and Options.DialTimeout. When the peer's queue is
// full (Options.SendQueue) it waits for room until ctx ends. It never waits
// on another peer: each peer has its own bounded queue and writer.
//
// A nil error means queued, not delivered: a connection that dies takes its
// queue with it (Options.OnPeerDown tells when). headers and body are
// written later and must not be modified after Send.
//
// Errors: ErrNotConnected (the peer could not be dialed, or its connection
// died before the message was queued: surely not sent; within
// Options.DialBackoff of a failed dial it is returned without dialing),
// ErrQueueFull (ctx ended while the queue stayed full: surely not sent),
// ErrClosed, ErrBadEndpoint, ErrTooLarge, or ctx.Err().
func (t *Transport) Send(ctx context.Context, endpoint string, id, typ, subject string, headers, body []byte) error {
	if t.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m := outMsg{id: id, typ: typ, subject: subject, headers: headers, body: body}
	if m.size() > t.opts.MaxMessageSize {
		return t.tooLarge(&m)
	}
	oc, err := t.connection(ctx, endpoint)
	if err != nil {
		return err
	}
	if err := oc.enqueue(ctx, &m); err != nil {
		if err != errConnDead {
			return err
		}
		if err := t.resend(ctx, endpoint, &m); err != nil {
			return err
		}
	}
	if t.polling() {
		if g := t.gauges.get(endpoint); g != nil {
			g.sent(typ)
		}
	}
	return nil
}

// tooLarge is Send's ErrTooLarge, out of line (see enqueue).
//
//go:noinline
func (t *Transport) tooLarge(m *outMsg) error {
	return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, m.size(), t.opts.MaxMessageSize)
}

// resend retries a message whose connection was found dead at enqueue
// (the peer just restarted, say): it was not queued, so it is tried once
// more on a new connection.
//
//go:noinline
func (t *Transport) resend(ctx context.Context, endpoint string, m *outMsg) error {
	oc, err := t.connection(ctx, endpoint)
	if err != nil {
		return err
	}
	if err := oc.enqueue(ctx, m); err != nil {
		if err == errConnDead {
			return fmt.Errorf("%w: %s: connection lost", ErrNotConnected, endpoint)
		}
		return err
	}
	return nil
}

// connection returns the live connection to endpoint, dialing when there
// is none.
func (t *Transport) connection(ctx context.Context, endpoint string) (*outConn, error) {
	for {
		p, err := t.peer(endpoint)
		if err != nil {
			return nil, err
		}
		oc, err := p.connection(ctx)
		if err != errRemoved {
			return oc, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// connection returns the live connection to p, dialing when there is none.
// Concurrent callers share one dial.
func (p *peer) connection(ctx context.Context) (*outConn, error) {
	if oc := p.out.Load(); oc != nil && !oc.dead.Load() {
		return oc, nil
	}
	t := p.t
	p.mu.Lock()
	if p.removed {
		p.mu.Unlock()
		return nil, errRemoved
	}
	if oc := p.out.Load(); oc != nil && !oc.dead.Load() {
		p.mu.Unlock()
		return oc, nil
	}
	ch, err := p.startDial()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}

	select {
	case <-ch:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if oc := p.out.Load(); oc != nil && !oc.dead.Load() {
		return oc, nil
	}
	if t.closed.Load() {
		return nil, ErrClosed
	}
	p.mu.Lock()
	err = p.dialErr
	p.mu.Unlock()
	if err == nil {
		// Dialed, and already dead again (or Disconnect): not dialing
		// once more, or a peer that accepts and hangs up at once would
		// be dialed in a loop until ctx ends.
		err = fmt.Errorf("%w: %s: connection lost", ErrNotConnected, p.endpoint)
	}
	return nil, err
}

// startDial starts dialing p unless a dial is running (it returns that
// one's channel) or failed less than DialBackoff ago (it returns its
// error: a caller looping over a dead peer must not hammer it with
// connects). Called with p.mu held.
func (p *peer) startDial() (chan struct{}, error) {
	t := p.t
	if p.dialing != nil {
		return p.dialing, nil
	}
	if p.dialErr != nil && time.Since(p.dialFailedAt) < t.opts.DialBackoff {
		return nil, p.dialErr
	}
	if p.forgetTimer != nil {
		p.forgetTimer.Stop()
		p.forgetTimer = nil
	}
	ch := make(chan struct{})
	p.dialing = ch
	if !t.spawn(func() { p.dial(ch) }) {
		p.dialing = nil
		return nil, ErrClosed
	}
	return ch, nil
}

// dial connects to the peer (TCP, then the ZMTP handshake as a DEALER whose
// identity is our endpoint), installs the new connection, closes done, and
// starts the connection's reader and writer.
func (p *peer) dial(done chan struct{}) {
	t := p.t
	oc, err := p.connect()
	p.mu.Lock()
	switch {
	case err != nil:
		t.stats.dialFailures.Add(1)
		switch nz, ok := err.(*NotZMTPError); {
		case ok:
			p.dialErr = nz // names the peer, and matches ErrNotConnected
		case errors.Is(err, ErrNoGreeting): // wraps nothing else
			p.dialErr = fmt.Errorf("%w: %s: %w", ErrNotConnected, p.endpoint, err)
		default:
			p.dialErr = fmt.Errorf("%w: %s: %v", ErrNotConnected, p.endpoint, err)
		}
		p.dialFailedAt = time.Now()
		if !p.removed && !t.closed.Load() {
			p.forgetTimer = time.AfterFunc(t.opts.DialBackoff, p.forgetFailed)
		}
	case p.removed: // Disconnect while dialing: nobody wants it
		p.mu.Unlock()
		oc.die(errDisconnected)
		p.mu.Lock()
		oc = nil
	default:
		t.stats.dialed.Add(1)
		p.dialErr = nil
		p.out.Store(oc)
	}
	p.dialing = nil
	dialErr := p.dialErr
	p.mu.Unlock()
	close(done)
	if err != nil {
		if !t.closed.Load() {
			t.log.Debug("transport: dial failed", slog.String("peer", p.endpoint), slog.Any("err", err))
			if f := t.opts.OnPeerDown; f != nil {
				f(p.endpoint, dialErr)
			}
		}
		return
	}
	if oc == nil {
		return
	}
	if f := t.opts.OnPeerUp; f != nil && !t.closed.Load() {
		f(p.endpoint)
	}
	if !t.spawn(oc.readLoop) {
		oc.die(ErrClosed)
	}
}

func (p *peer) connect() (*outConn, error) {
	t := p.t
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	c := newConn(nc.(*net.TCPConn), &t.stats.readBufs)
	if !t.track(c) {
		c.Close()
		return nil, ErrClosed
	}
	deadline, _ := ctx.Deadline()
	_, shared, err := handshake(c, t.clientSecurity(), zmq4.Dealer, t.endpoint, false, !t.opts.SeparateReplies, time.Until(deadline))
	if err != nil {
		t.untrack(c)
		c.Close()
		c.r.drop()
		if nz := notZMTP(err, p.endpoint, true); nz != nil {
			// Someone else's server on a lymph endpoint (a stale
			// registry entry, a port reused): say so loudly, since every
			// call to it fails.
			t.rlog.warn("not-zmtp-out", "transport: peer does not speak ZMTP",
				slog.String("peer", p.endpoint), slog.String("got", strconv.Quote(string(nz.Got))))
			return nil, nz
		}
		if errors.Is(err, ErrNoGreeting) {
			t.rlog.warn("no-greeting-out", "transport: peer sent no ZMTP greeting",
				slog.String("peer", p.endpoint), slog.Any("err", err))
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	t.stats.connsOut.Add(1)
	return newOutConn(t, p, c, shared), nil
}

// peerAlive is called when an inbound connection from endpoint completed
// its handshake: the peer is evidently alive, so a remembered dial failure
// must not refuse our replies to it (a client restarted on a fixed
// endpoint would otherwise miss them for DialBackoff).
func (t *Transport) peerAlive(endpoint string) {
	p := t.lookup(endpoint)
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.dialErr != nil && p.dialing == nil && p.out.Load() == nil {
		p.removeLocked()
	}
	p.mu.Unlock()
}

// errDisconnected is the reason OnPeerDown gets for Disconnect.
var errDisconnected = errors.New("transport: disconnected")

// Disconnect closes the outgoing connection to endpoint, if any, and
// forgets its record: messages still queued for it are dropped (counted in
// Stats.Dropped.Unsent) and OnPeerDown is called. The next Send to
// endpoint dials again. It is safe for endpoints the Transport does not
// know.
func (t *Transport) Disconnect(endpoint string) {
	p := t.lookup(endpoint)
	if p == nil {
		return
	}
	p.mu.Lock()
	oc := p.out.Load()
	p.removeLocked()
	p.mu.Unlock()
	if oc != nil {
		oc.die(errDisconnected)
	}
}

// Connected reports whether a live outgoing connection to endpoint exists.
func (t *Transport) Connected(endpoint string) bool {
	p := t.lookup(endpoint)
	if p == nil {
		return false
	}
	oc := p.out.Load()
	return oc != nil && !oc.dead.Load()
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
	out := make([]PeerStatus, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		dialErr := p.dialErr
		p.mu.Unlock()
		s := PeerStatus{Endpoint: p.endpoint, DialError: dialErr}
		if oc := p.out.Load(); oc != nil && !oc.dead.Load() {
			s.Connected = true
			s.Queued = oc.queued()
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Endpoint < out[j].Endpoint })
	return out
}
