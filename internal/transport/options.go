package transport

import (
	"log/slog"
	"time"
)

// Defaults of Options; the heartbeat ones are lymph's.
const (
	DefaultMaxMessageSize         = 4 << 20
	DefaultSendQueue              = 1024
	DefaultDialTimeout            = 3 * time.Second
	DefaultDialBackoff            = 100 * time.Millisecond
	DefaultHandshakeTimeout       = 5 * time.Second
	DefaultWriteTimeout           = 5 * time.Second
	DefaultPingInterval           = 1 * time.Second
	DefaultUnresponsiveAfter      = 3 * time.Second
	DefaultIdleAfter              = 10 * time.Second
	DefaultCloseUnresponsiveAfter = 30 * time.Second
	DefaultCloseIdleAfter         = 60 * time.Second
	DefaultBusyPoll               = 200 * time.Microsecond
)

// Options configure a Transport. The zero value of every field but Endpoint
// means its default.
type Options struct {
	// Endpoint is where to listen, "tcp://host:port", and (with the real
	// port when port is 0) the socket identity peers see and reply to. Use
	// an address peers can reach: the identity is their reply address.
	Endpoint string

	// Logger receives the transport's logs; nil means slog.Default().
	// Records caused by peers' input are rate-limited.
	Logger *slog.Logger

	// Handler is called for every valid message received, except replies
	// to the transport's own heartbeat pings. It is called from the
	// goroutine that reads the sender's connection: calls for messages on
	// one connection are sequential and in order, calls for messages on
	// different connections may run concurrently. It must be cheap and
	// must not block (hand the message off), since that connection is not
	// read meanwhile; it may call Send, but a Send that must dial waits up
	// to its context. It is never called after Close has returned; Close
	// waits for running calls. Nil drops every message (a send-only
	// transport).
	Handler func(in Incoming)

	// MaxMessageSize bounds the total bytes of the five frames of one
	// message, sent or received. A peer that announces a bigger frame is
	// disconnected before anything is allocated for it. Default 4 MiB.
	MaxMessageSize int64

	// SendQueue is each peer's outgoing queue length (the high-water mark):
	// Send returns ErrQueueFull when it is full. Default 1024.
	SendQueue int

	// DialTimeout bounds connecting to a peer: TCP connect plus ZMTP
	// handshake. Default 3 s.
	DialTimeout time.Duration

	// DialBackoff is how long after a failed dial Send fails at once with
	// ErrNotConnected instead of dialing the same peer again. Default 100 ms.
	DialBackoff time.Duration

	// HandshakeTimeout bounds the ZMTP handshake of an accepted
	// connection, so that a client that connects and says nothing is
	// dropped. Default 5 s.
	HandshakeTimeout time.Duration

	// WriteTimeout is how long a write to a peer may block (the peer not
	// reading) before its connection is closed; the next Send re-dials.
	// Default 5 s.
	WriteTimeout time.Duration

	// DisableHeartbeat turns the lymph.ping heartbeats off. Peers are then
	// responsive while connected, unresponsive otherwise, and never closed
	// for being idle or unresponsive; one that cannot be dialed for
	// CloseUnresponsiveAfter is forgotten.
	DisableHeartbeat bool

	// PingInterval is how often every known peer gets a lymph.ping.
	// Default 1 s.
	PingInterval time.Duration
	// UnresponsiveAfter: a peer heard nothing from for this long is
	// unresponsive. Default 3 s.
	UnresponsiveAfter time.Duration
	// IdleAfter: a peer with only heartbeats for this long is idle.
	// Default 10 s.
	IdleAfter time.Duration
	// CloseUnresponsiveAfter: the connection to a peer unresponsive this
	// long is closed and the peer forgotten until the next Send. Default
	// 30 s; negative means never.
	CloseUnresponsiveAfter time.Duration
	// CloseIdleAfter: the same for a peer idle this long. Default 60 s;
	// negative means never.
	CloseIdleAfter time.Duration

	// Credentials, when not nil, makes accepted connections use the ZMTP
	// PLAIN mechanism and accept only these user names and passwords.
	// Nil means the NULL mechanism (no authentication).
	Credentials map[string]string

	// BusyPoll is how long the reader of a busy connection polls it for
	// the next message before it parks, trading a little CPU for much
	// less latency (see pollReader). Connections from transports in this
	// process are never polled, nor any on a one-CPU machine. Default
	// 200 µs; negative never polls.
	BusyPoll time.Duration

	// Username and Password, when Username is not empty, make outgoing
	// connections authenticate with PLAIN; otherwise they use NULL.
	Username, Password string
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.DialBackoff, DefaultDialBackoff)
	def(&o.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.PingInterval, DefaultPingInterval)
	def(&o.UnresponsiveAfter, DefaultUnresponsiveAfter)
	def(&o.IdleAfter, DefaultIdleAfter)
	def(&o.CloseUnresponsiveAfter, DefaultCloseUnresponsiveAfter)
	def(&o.CloseIdleAfter, DefaultCloseIdleAfter)
	def(&o.BusyPoll, DefaultBusyPoll)
	return o
}
