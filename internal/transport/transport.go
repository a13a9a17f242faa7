package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Transport is one lymph instance's messaging endpoint: a ROUTER-type
// listener at Endpoint that receives everything (requests and replies), and
// one DEALER-type connection per peer, identity Endpoint, for sending.
type Transport struct {
	opts     Options
	endpoint string
	log      *slog.Logger
	rlog     *rateLog
	ln       *net.TCPListener
	stats    counters

	slots  pollSlots // busy-polling slots; max 0 when polling is off
	gauges gauges    // calls in progress per peer, while polling

	ctx    context.Context // cancelled by Close; bounds dials
	cancel context.CancelFunc
	closed atomic.Bool
	once   sync.Once
	wg     sync.WaitGroup // every goroutine the transport started

	mu      sync.Mutex
	closing bool
	conns   map[*conn]struct{}    // every open connection, for Close
	routes  map[*outConn]struct{} // every live route (shared.go), for Close's flush

	peersMu sync.RWMutex
	peers   map[string]*peer
}

// Listen binds a Transport at opts.Endpoint and starts receiving. A port of
// 0 picks a free port; Endpoint then returns the real one, which is also the
// socket identity. ctx bounds only the call; Close stops the Transport.
func Listen(ctx context.Context, opts Options) (*Transport, error) {
	o := opts.withDefaults()
	addr, err := splitEndpoint(o.Endpoint, true)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", o.Endpoint, err)
	}
	// Bind first, name later: with port 0 the identity must carry the
	// port the kernel picked, or peers' replies would go nowhere.
	host, _, _ := net.SplitHostPort(addr)
	if o.AdvertiseHost != "" {
		host = o.AdvertiseHost
	}
	port := l.Addr().(*net.TCPAddr).Port
	endpoint := tcpScheme + net.JoinHostPort(host, strconv.Itoa(port))
	if _, err := splitEndpoint(endpoint, false); err != nil {
		l.Close()
		return nil, fmt.Errorf("transport: advertised host %q: %w", o.AdvertiseHost, err)
	}
	t := &Transport{
		opts:     o,
		endpoint: endpoint,
		log:      o.Logger,
		rlog:     newRateLog(o.Logger, time.Second),
		ln:       l.(*net.TCPListener),
		conns:    make(map[*conn]struct{}),
		routes:   make(map[*outConn]struct{}),
		peers:    make(map[string]*peer),
	}
	if o.BusyPoll > 0 && busyPollSupported {
		// GOMAXPROCS, not NumCPU: it follows the cgroup CPU quota, so
		// a one-CPU container on a big node does not poll.
		t.slots.max = pollerLimit(runtime.GOMAXPROCS(0))
	}
	endpoints.Store(t.endpoint, struct{}{})
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.log = t.log.With(slog.String("endpoint", t.endpoint))
	t.spawn(t.acceptLoop)
	return t, nil
}

// Endpoint returns the endpoint the Transport is known by: where it
// listens (or Options.AdvertiseHost), with the real port. It is also its
// socket identity.
func (t *Transport) Endpoint() string { return t.endpoint }

// ListenAddr returns the address the Transport is bound to, host:port.
func (t *Transport) ListenAddr() string { return t.ln.Addr().String() }

// Stats returns a snapshot of the Transport's counters.
func (t *Transport) Stats() Stats { return t.stats.snapshot() }

// Close stops the Transport: Send fails with ErrClosed from then on;
// everything Send accepted before is written out (waiting at most
// WriteTimeout for slow peers); then it closes the listener and every
// connection, waits for running Handler calls and for every goroutine it
// started, and returns. OnPeerDown is not called for the connections it
// closes. Later calls return nil at once.
func (t *Transport) Close() error {
	var err error
	t.once.Do(func() {
		t.closed.Store(true) // no new sends
		t.flushOutgoing(t.opts.WriteTimeout)
		t.mu.Lock()
		t.closing = true
		conns := make([]*conn, 0, len(t.conns))
		for c := range t.conns {
			conns = append(conns, c)
		}
		t.mu.Unlock()
		t.cancel()
		if e := t.ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
			err = e
		}
		for _, c := range conns {
			c.Close()
		}
		t.wg.Wait()
		// Stop the timers that would forget failed dials. (Each record's
		// lock is taken after the table's is released: the order
		// elsewhere is record, then table.)
		t.peersMu.RLock()
		ps := make([]*peer, 0, len(t.peers))
		for _, p := range t.peers {
			ps = append(ps, p)
		}
		t.peersMu.RUnlock()
		for _, p := range ps {
			p.mu.Lock()
			if p.forgetTimer != nil {
				p.forgetTimer.Stop()
			}
			p.mu.Unlock()
		}
		endpoints.Delete(t.endpoint)
	})
	return err
}

// flushOutgoing places a barrier in every connection's queue and waits, up
// to limit, until each writer has acknowledged it: everything Send accepted
// before Close is written out (a container's Stop sends its last replies
// just before closing). A barrier, not a count of queued messages: the
// writer closes it only when it has found the queue empty after writing,
// so no other traffic can make it pass early. Send checks t.closed under
// each connection's lock, so nothing is queued behind a barrier.
func (t *Transport) flushOutgoing(limit time.Duration) {
	t.peersMu.RLock()
	conns := make([]*outConn, 0, len(t.peers))
	for _, p := range t.peers {
		if oc := p.out.Load(); oc != nil {
			conns = append(conns, oc)
		}
	}
	t.peersMu.RUnlock()
	t.mu.Lock()
	for oc := range t.routes {
		conns = append(conns, oc)
	}
	t.mu.Unlock()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	barriers := make([]<-chan struct{}, len(conns))
	for i, oc := range conns {
		barriers[i] = oc.flush()
	}
	for _, b := range barriers {
		select {
		case <-b:
		case <-timer.C:
			return
		}
	}
}

// spawn runs f in a goroutine that Close waits for; it returns false, and
// runs nothing, once the Transport is closing.
func (t *Transport) spawn(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// track registers c to be closed by Close; it returns false once the
// Transport is closing (the caller closes c).
func (t *Transport) track(c *conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// newRoute makes the route of an accepted shared connection, tracked for
// Close's flush; nil once the Transport is closing.
func (t *Transport) newRoute(c *conn) *Route {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return nil
	}
	oc := newOutConn(t, nil, c, true)
	t.routes[oc] = struct{}{}
	return &Route{oc: oc}
}

func (t *Transport) forgetRoute(oc *outConn) {
	t.mu.Lock()
	delete(t.routes, oc)
	t.mu.Unlock()
}

// polling reports whether busy polling is on.
func (t *Transport) polling() bool { return t.slots.max > 0 }

// acceptLoop accepts connections and serves each on its own goroutine, so
// that one slow or silent client never holds up the others (zmq4's own
// accept loop runs every handshake in turn, without a deadline).
func (t *Transport) acceptLoop() {
	for {
		nc, err := t.ln.AcceptTCP()
		if err != nil {
			if t.closed.Load() {
				return
			}
			// Out of file descriptors and the like: wait a little
			// rather than spin.
			t.rlog.warn("accept", "transport: accept failed", slog.Any("err", err))
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		// Each connection in its handshake costs a goroutine and zmq4's
		// buffers until it speaks or times out: cap them, so that a
		// flood of silent connections costs bounded memory.
		if max := t.opts.MaxHandshakes; max > 0 && t.stats.handshaking.Load() >= int64(max) {
			t.stats.handshakeRefusals.Add(1)
			nc.SetLinger(0) // an RST: no TIME_WAIT kept for a refused flood
			nc.Close()
			t.rlog.warn("handshake-cap", "transport: too many connections in handshake; refused one",
				slog.Int("max", max), slog.String("remote", nc.RemoteAddr().String()))
			continue
		}
		c := newConn(nc, &t.stats.readBufs)
		if !t.track(c) {
			c.Close()
			return
		}
		t.stats.handshaking.Add(1)
		if !t.spawn(func() { t.serveInbound(c) }) {
			t.stats.handshaking.Add(-1)
			t.untrack(c)
			c.Close()
			return
		}
	}
}

// serveInbound runs the handshake of an accepted connection, then hands it
// to readInbound.
func (t *Transport) serveInbound(c *conn) {
	id, shared, err := handshake(c, t.serverSecurity(), zmq4.Router, t.endpoint, true, !t.opts.SeparateReplies, t.opts.HandshakeTimeout)
	t.stats.handshaking.Add(-1)
	if err != nil {
		t.stats.handshakeFails.Add(1)
		if !t.closed.Load() {
			if nz := notZMTP(err, c.RemoteAddr().String(), false); nz != nil {
				err = nz // an HTTP client on our port, say: zmq4's wrapping adds nothing
			}
			t.rlog.warn("handshake-in", "transport: handshake with client failed",
				slog.String("remote", c.RemoteAddr().String()), slog.Any("err", err))
		}
		t.endInbound(c)
		return
	}
	t.stats.accepted.Add(1)
	// Read on a fresh goroutine: this one's stack grew to 8 KiB inside
	// zmq4's handshake and would keep it for the connection's life (it
	// was most of an idle connection's cost); the reader's stays small.
	if !t.spawn(func() { t.readInbound(c, id, shared) }) {
		t.endInbound(c)
	}
}

// endInbound releases an accepted connection. Called by its reader.
func (t *Transport) endInbound(c *conn) {
	c.r.drop()
	c.Close()
	t.untrack(c)
}

// readInbound reads an accepted connection's messages, after its
// handshake, until it fails. A shared one gets a route for the replies.
func (t *Transport) readInbound(c *conn, id string, shared bool) {
	defer t.endInbound(c)
	t.stats.connsIn.Add(1)
	defer t.stats.connsIn.Add(-1)

	// The identity is per connection: check it once. A bad one does not
	// close the connection (a libzmq peer would just reconnect); each of
	// its messages is dropped and counted.
	sender, senderOK := id, validSender(id)
	if senderOK {
		t.peerAlive(sender)
	}
	var route *Route
	if shared && senderOK {
		route = t.newRoute(c)
	}
	var calls *atomic.Int64
	if route != nil {
		calls = &route.oc.calls
	}
	err := t.readMessages(c, sender, senderOK, route, calls)
	if route != nil {
		route.oc.die(err)
	}
}

// readMessages delivers the messages read from c, sent by sender (valid
// or not: the messages of a bad one are dropped), each with route, until
// reading fails, and returns why. It reads accepted connections and shared
// dialed ones. calls, when not nil, is the shared connection's count of
// calls in progress (outConn.calls): a request read adds one, a reply
// read ends one.
func (t *Transport) readMessages(c *conn, sender string, senderOK bool, route *Route, calls *atomic.Int64) error {
	var g *callGauge
	// A peer in this process shares our Ps: polling for it would take
	// the CPU its reply needs (measured: in-process echo went from 41k
	// to 31k calls/s).
	if t.polling() && senderOK && !listening(sender) {
		g = t.gauges.acquire(sender)
		defer t.gauges.release(sender)
		budget := t.opts.BusyPoll
		c.busyPoll(budget, &t.slots, func() bool { return g.active(budget) }, &t.stats)
	}
	mr := newMsgReader(c.r, t.opts.MaxMessageSize)
	for {
		var in Incoming
		reason, err := mr.read(&in)
		if err != nil {
			t.readFailed(c, sender, reason, err)
			return err
		}
		if reason == dropNone && !senderOK {
			reason = dropBadIdentity
		}
		if reason != dropNone {
			t.drop(reason, sender)
			continue
		}
		in.Sender, in.Route = sender, route
		t.stats.in.Add(1)
		t.stats.bytesIn.Add(uint64(len(in.ID) + len(in.Type) + len(in.Subject) + len(in.Headers) + len(in.Body)))
		if in.TooLarge {
			t.stats.oversized.Add(1)
			t.rlog.warn("oversized", "transport: message over MaxMessageSize read past",
				slog.String("sender", logSafe(sender)), slog.String("subject", logSafe(in.Subject)),
				slog.Int64("limit", t.opts.MaxMessageSize))
		}
		if g != nil {
			g.received(in.Type)
		}
		if calls != nil {
			if in.Type == TypeREQ {
				calls.Add(1)
			} else {
				decFloor(calls)
			}
		}
		t.deliver(in)
	}
}

// readFailed accounts for an inbound connection that cannot be read further.
func (t *Transport) readFailed(c *conn, sender string, reason dropReason, err error) {
	if reason == dropTooLarge {
		t.drop(reason, sender)
		return
	}
	if t.closed.Load() || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	t.rlog.warn("read", "transport: reading from peer failed",
		slog.String("sender", logSafe(sender)), slog.String("remote", c.RemoteAddr().String()), slog.Any("err", err))
}

// drop counts and logs (rate-limited) a message that is not delivered.
func (t *Transport) drop(reason dropReason, sender string) {
	t.stats.dropped[reason].Add(1)
	if reason == dropClosed || reason == dropNoHandler {
		return
	}
	t.rlog.warn(reason.String(), "transport: dropped message",
		slog.String("reason", reason.String()), slog.String("sender", logSafe(sender)))
}

// deliver hands a valid message to the Handler.
func (t *Transport) deliver(in Incoming) {
	if t.closed.Load() {
		t.stats.dropped[dropClosed].Add(1)
		return
	}
	if t.opts.Handler == nil {
		t.stats.dropped[dropNoHandler].Add(1)
		return
	}
	t.opts.Handler(in)
}

// logSafe shortens peer-controlled text for a log record.
func logSafe(s string) string {
	const max = 80
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
