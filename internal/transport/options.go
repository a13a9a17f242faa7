package transport

import (
	"log/slog"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxMessageSize   = 4 << 20
	DefaultSendQueue        = 1024
	DefaultDialTimeout      = 3 * time.Second
	DefaultDialBackoff      = 100 * time.Millisecond
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	DefaultMaxHandshakes    = 512
)

// Options configure a Transport. The zero value of every field but Endpoint
// means its default.
type Options struct {
	// Endpoint is where to listen, "tcp://host:port", and (with the real
	// port when port is 0, and AdvertiseHost's host when set) the socket
	// identity peers see and reply to. Use an address peers can reach,
	// or set AdvertiseHost: the identity is their reply address.
	Endpoint string

	// AdvertiseHost, when not empty, replaces Endpoint's host in the
	// endpoint the Transport is known by (Endpoint: its socket identity,
	// where peers reply), with the bound port: the address peers reach it
	// at when it binds one they cannot use, such as 0.0.0.0. An IPv6
	// address is given without brackets.
	AdvertiseHost string

	// Logger receives the transport's logs; nil means slog.Default().
	// Records caused by peers' input are rate-limited.
	Logger *slog.Logger

	// Handler is called for every valid message received, including
	// oversized ones (Incoming.TooLarge). It is called from the
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
	// message, sent or received. Nothing over it is ever allocated: a
	// received message over it is read past and delivered with
	// Incoming.TooLarge, and a peer that announces more than four times
	// it (or more than it before the headers) is disconnected. Default
	// 4 MiB.
	MaxMessageSize int64

	// SendQueue bounds each peer's outgoing queue, in messages (the
	// high-water mark): a Send that finds it full waits for room until
	// its context ends, then returns ErrQueueFull. The queue costs memory
	// in proportion to what it holds, not to this bound. Default 1024.
	SendQueue int

	// OnPeerDown, when not nil, is called each time the outgoing
	// connection to endpoint dies (the peer closed it or reset it, a write
	// failed or timed out, Disconnect) and each time a dial to endpoint
	// fails, with the reason. Not for connections closed by Close. It is
	// called from a transport goroutine (the connection's reader, which
	// sees a peer's exit at once) and must not block.
	OnPeerDown func(endpoint string, err error)

	// OnPeerUp, when not nil, is called each time a new outgoing
	// connection to endpoint is established, before any OnPeerDown for
	// it. It is called from a transport goroutine and must not block.
	OnPeerUp func(endpoint string)

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
	// Close waits as long for each peer's queue to be written out.
	// Default 5 s.
	WriteTimeout time.Duration

	// MaxHandshakes caps the accepted connections still in their ZMTP
	// handshake: one accepted past it is closed at once (and counted in
	// Stats.HandshakeRefusals), so that a flood of silent connections
	// costs bounded memory. 0 means DefaultMaxHandshakes (512); negative
	// means no cap.
	MaxHandshakes int

	// Credentials, when not nil, makes accepted connections use the ZMTP
	// PLAIN mechanism and accept only these user names and passwords.
	// Nil means the NULL mechanism (no authentication).
	Credentials map[string]string

	// BusyPoll, when positive, turns busy polling on: the reader of a
	// connection with calls in progress polls it for up to BusyPoll for
	// the next message before it parks, trading CPU for latency on
	// sequential calls (see busypoll.go; 200 µs is a good budget). 0 (the
	// default) or negative never polls. Connections from transports in
	// this process are never polled, nor any when GOMAXPROCS is 1.
	BusyPoll time.Duration

	// SeparateReplies turns replies on the request's connection off
	// (shared.go): the Transport neither offers nor accepts it, and
	// replies, as lymph does, on a connection of its own to each caller.
	SeparateReplies bool

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
	if o.MaxHandshakes == 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
	return o
}
