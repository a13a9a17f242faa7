// Package transport moves lymph messages between instances over ZeroMQ's
// wire protocol (ZMTP 3, TCP only), as PROTOCOL.md describes: each instance
// receives everything at one ROUTER-type endpoint whose identity is its
// endpoint URL, and sends to each peer on one DEALER-type connection with
// the same identity.
//
// # Why not zmq4's sockets
//
// The package uses github.com/go-zeromq/zmq4 for the ZMTP handshake
// (greeting, NULL or PLAIN security, socket metadata) through zmq4.Open, and
// does the rest itself: accepting, framing, queueing, reconnecting. zmq4
// v0.17's ROUTER and DEALER sockets, measured, have these traps:
//
//   - Send on a DEALER without a live connection blocks for the socket
//     timeout (5 minutes by default); with WithAutomaticReconnect it gives
//     up after about 2.5 s and then Send returns nil while dropping every
//     message (writing to zero connections "succeeds"). Here each peer has
//     one connection whose death is seen at once (a reader gets EOF), Send
//     on a dead one re-dials within its context, and a failed dial returns
//     ErrNotConnected.
//   - A ROUTER's receive queue is a channel of 10 that each connection's
//     goroutine writes to without select: with messages unread at Close,
//     those goroutines leak. Here each accepted connection is read by a
//     goroutine that calls the Handler itself; Close closes the connections
//     and waits for those goroutines.
//   - Its accept loop runs every handshake in turn, with no deadline: one
//     client that connects and says nothing stops all others. Here each
//     handshake runs on its own goroutine, under Options.HandshakeTimeout.
//   - Reading a frame allocates whatever size its header declares, before
//     reading it: one 4 GiB header is an out-of-memory crash. Here frames
//     are parsed by msgReader against Options.MaxMessageSize, and during the
//     handshake (which zmq4 reads) zmtpLimit watches the byte stream and
//     fails the read before a too-large size reaches zmq4.
//   - Its metadata parser panics on a short property: the handshake runs
//     under recover.
//   - Its PLAIN server accepts any password; plainServer checks them.
//   - It reads each frame with two unbuffered reads and writes each frame
//     (or, with SendMulti, each message) with its own system call. Here
//     connections read through a bufio.Reader, and a peer's writer frames
//     every queued message into one buffer and flushes it once.
//
// A reader whose connection is busy polls it for up to Options.BusyPoll
// before it parks in the runtime's network poller (pollReader): between two
// processes on a VM the thread wake-up a parked reader pays per message was
// most of a call's latency.
//
// Receivers validate what arrives: exactly five frames after the identity
// (six as a ROUTER sees them), UTF-8 id and subject, a known type, and a
// sender identity that is a tcp://host:port URL (checked once per
// connection; a bad one must not make anyone dial garbage). Bad messages
// are dropped, counted in Stats and logged at a limited rate.
//
// Heartbeats follow lymph: every peer with a connection record gets a
// lymph.ping each PingInterval; its REP is consumed here and kept as a
// round-trip sample; the peer is unresponsive, idle or responsive by how
// recently it was heard from and active, and its connection is closed when
// it stays unresponsive or idle too long.
package transport
