package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// conn is one TCP connection, read through a readBuffer.
//
// It embeds the concrete *net.TCPConn, not the net.Conn interface: code that
// looks for TCPConn's own methods (net.Buffers.WriteTo uses writev only when
// it finds TCPConn's) would not see them behind an interface.
//
// zmq4 runs the ZMTP handshake through Read, under a zmtpLimit; after that
// the transport reads frames from r itself (msgReader) — the same buffered
// reader, since it may already hold the first message.
type conn struct {
	*net.TCPConn
	r     *readBuffer
	limit *zmtpLimit // non-nil during the handshake

	closeOnce sync.Once
	closeErr  error
}

// newConn wraps c with a read buffer, counting the buffer in held (may be
// nil) while the connection holds it.
func newConn(c *net.TCPConn, held *atomic.Int64) *conn {
	return &conn{TCPConn: c, r: newReadBuffer(c, held)}
}

// busyPoll makes reads busy-poll the connection, while gate allows and it
// is busy, for up to d before parking (see busypoll.go), taking slots from
// slots and counting polls in stats. It must be called from the reading
// goroutine, between reads; d <= 0 or no slots leave polling off.
func (c *conn) busyPoll(d time.Duration, slots *pollSlots, gate func() bool, stats *counters) {
	if !busyPollSupported || d <= 0 || slots.max <= 0 {
		c.r.poll = nil
		return
	}
	c.r.poll = &poller{slots: slots, budget: d, stats: stats, gate: gate}
}

// Read reads through the buffer and, during the handshake, through the
// frame-size limit.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.limit != nil && n > 0 {
		if lerr := c.limit.scan(p[:n]); lerr != nil {
			return 0, lerr
		}
	}
	return n, err
}

// Close closes the connection once; later calls return the first result.
func (c *conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.TCPConn.Close() })
	return c.closeErr
}

// errHandshakePanic reports a panic inside zmq4's handshake code.
var errHandshakePanic = errors.New("transport: zmq4 handshake panicked")

// handshake runs the ZMTP greeting and security handshake on c through
// zmq4.Open, as a socket of type typ with identity id, within timeout, and
// returns the identity the peer announced in its metadata.
//
// The deadline matters: zmq4 has none, so a peer that connects and says
// nothing would hold the goroutine (and, in zmq4's own accept loop, every
// other client) forever. The recover matters too: zmq4's metadata parser
// (Metadata.UnmarshalZMTP) slices past the end of a short property and
// panics, so a malformed READY from anyone who can connect would otherwise
// crash the process.
//
// With offer, it offers replies on this connection (shared.go); shared
// reports whether the peer offered them too.
func handshake(c *conn, sec zmq4.Security, typ zmq4.SocketType, id string, server, offer bool, timeout time.Duration) (peerID string, shared bool, err error) {
	c.limit = newZMTPLimit(handshakeMaxFrame)
	defer func() {
		c.limit = nil
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errHandshakePanic, r)
		}
	}()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", false, err
	}
	if offer {
		sec = offerShared{sec}
	}
	zc, err := zmq4.Open(c, sec, typ, zmq4.SocketIdentity(id), server, nil)
	if err != nil {
		// Every ZMTP peer sends its greeting at once; one that stays
		// silent until the deadline is most likely another protocol's
		// server waiting for its client to speak (an HTTP server does).
		var ne net.Error
		if c.limit.off == 0 && errors.As(err, &ne) && ne.Timeout() {
			return "", false, fmt.Errorf("%w within %v: not a ZMTP peer, or a stuck one", ErrNoGreeting, timeout.Round(time.Millisecond))
		}
		return "", false, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return "", false, err
	}
	return zc.Peer.Meta["Identity"], offer && offersShared(zc.Peer.Meta), nil
}

// ErrNoGreeting reports a peer that sent not one byte of its ZMTP greeting
// before the handshake's deadline (Options.DialTimeout, or
// HandshakeTimeout for a client that connected).
var ErrNoGreeting = errors.New("transport: peer sent no ZMTP greeting")

// notZMTP returns the NotZMTPError in a handshake's error, naming the peer,
// or nil when the peer's greeting was ZMTP's. zmq4 wraps it in three
// layers of its own, which say nothing more.
func notZMTP(err error, peer string, dialed bool) *NotZMTPError {
	var nz *NotZMTPError
	if !errors.As(err, &nz) {
		return nil
	}
	nz.Peer, nz.dialed = peer, dialed
	return nz
}
