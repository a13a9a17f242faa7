package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// peer is the connection record of one peer endpoint we send to: its
// current outgoing connection, the dial in progress, and its health.
//
// There is at most one live outgoing connection per peer: a new one is
// dialed only once the current one is known dead, and it replaces it. So a
// restarted peer (same endpoint, new process) gets our messages once, on
// the new connection, never on a stale one as well.
type peer struct {
	t        *Transport
	endpoint string
	addr     string // host:port

	out atomic.Pointer[outConn] // current connection; nil or dead when none

	mu           sync.Mutex
	dialing      chan struct{} // closed when the running dial ends; nil if none
	dialErr      error         // last dial's error (wraps ErrNotConnected)
	dialFailedAt int64         // t.now() of dialErr

	health
}

func newPeer(t *Transport, endpoint, addr string) *peer {
	p := &peer{t: t, endpoint: endpoint, addr: addr}
	p.health.reset(t.now())
	return p
}

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
		p = newPeer(t, endpoint, addr)
		t.peers[endpoint] = p
	}
	return p, nil
}

// Send queues the five frames [id, type, subject, headers, body] for the peer at endpoint
// (tcp://host:port), to go out on the connection to it whose identity is
// t.Endpoint(). When there is no live connection it dials one first, within
// ctx and Options.DialTimeout. It never blocks beyond ctx, and never on
// another peer: each peer has its own bounded queue and writer.
//
// A nil error means queued, not delivered: a connection that dies takes its
// queue with it (the caller's own deadline covers that, as with ZeroMQ).
// headers and body are written later and must not be modified after Send.
//
// Errors: ErrNotConnected (the peer could not be dialed, or was just found
// dead: the next Send after Options.DialBackoff dials again), ErrQueueFull,
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
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, m.size(), t.opts.MaxMessageSize)
	}
	var p *peer
	var oc *outConn
	for {
		var err error
		if p, err = t.peer(endpoint); err != nil {
			return err
		}
		if oc, err = p.connection(ctx); err == nil {
			break
		}
		if err != errRemoved {
			return err
		}
	}
	if err := oc.enqueue(m); err != nil {
		return err
	}
	t.sent(p, &m)
	return nil
}

// errRemoved tells Send that the record it holds was just forgotten by the
// heartbeat, and to look the peer up again.
var errRemoved = errors.New("transport: peer record removed")

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
	p.revive()
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
	if err == nil { // dialed, and already dead again
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
	if p.dialErr != nil && t.now()-p.dialFailedAt < int64(t.opts.DialBackoff) {
		return nil, p.dialErr
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
// identity is our endpoint), installs the new connection, and closes done.
func (p *peer) dial(done chan struct{}) {
	t := p.t
	oc, err := p.connect()
	p.mu.Lock()
	if err != nil {
		t.stats.dialFailures.Add(1)
		p.dialErr = fmt.Errorf("%w: %s: %v", ErrNotConnected, p.endpoint, err)
		p.dialFailedAt = t.now()
	} else {
		t.stats.dialed.Add(1)
		p.dialErr = nil
		p.out.Store(oc)
	}
	p.dialing = nil
	p.mu.Unlock()
	close(done)
	if err != nil && !t.closed.Load() {
		t.log.Debug("transport: dial failed", slog.String("peer", p.endpoint), slog.Any("err", err))
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
	c := newConn(nc.(*net.TCPConn), outboundReadBuffer)
	if !t.track(c) {
		c.Close()
		return nil, ErrClosed
	}
	deadline, _ := ctx.Deadline()
	if _, err := handshake(c, t.clientSecurity(), zmq4.Dealer, t.endpoint, false, time.Until(deadline)); err != nil {
		t.untrack(c)
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	oc := &outConn{t: t, peer: p, c: c, queue: make(chan outMsg, t.opts.SendQueue), done: make(chan struct{})}
	t.stats.connsOut.Add(1)
	if !t.spawn(oc.readLoop) || !t.spawn(oc.writeLoop) {
		oc.die(ErrClosed)
		return nil, ErrClosed
	}
	return oc, nil
}
