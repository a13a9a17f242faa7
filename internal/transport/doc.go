// Package transport moves lymph messages between instances over ZeroMQ's
// wire protocol (ZMTP 3, TCP only), as docs/protocol.md describes: each instance
// receives everything at one ROUTER-type endpoint whose identity is its
// endpoint URL, and sends to each peer on one DEALER-type connection with
// the same identity. Two Transports agree in the handshake to carry replies
// back on the request's connection instead (shared.go, Reply).
//
// The transport moves frames and reports connection events; what a message
// means, heartbeats included, is decided above it. It knows the five message
// types (to count calls in progress for busy polling) but no subject.
//
// # Connection events and peer records
//
// Options.OnPeerUp is called when an outgoing connection is established;
// Options.OnPeerDown when one dies (EOF or RST, seen by its reader at once;
// a write error or WriteTimeout; Disconnect) and when a dial fails, never
// for what Close closes. Both run on transport goroutines and must not
// block.
//
// A peer's record (its connection, queue and buffers) lives only while it
// is useful: it is released when its connection dies or on Disconnect, and
// a failed dial is remembered only for Options.DialBackoff (so that a caller
// looping over a dead peer gets ErrNotConnected at once), then forgotten.
// An inbound handshake from a peer clears its remembered dial failure: the
// peer is evidently alive (a client restarted on a fixed endpoint). Nothing
// dials by itself; only Send does.
//
// # Queues, back pressure and Close
//
// Each peer has one writer and a queue of at most Options.SendQueue
// messages: a slice the writer swaps out whole per batch, costing memory in
// proportion to what is queued. A Send that finds the queue full waits for
// room until its context ends, then returns ErrQueueFull: nothing is
// dropped silently. Close stops new sends, places a barrier in every queue
// and waits (up to WriteTimeout) until each writer acknowledges it, having
// written everything Send accepted before Close.
//
// A Send that finds its connection idle — queue empty, nobody writing, the
// last write not part of concurrent traffic — and a message of at most 32
// KiB writes it itself, under the same write deadline, instead of waking
// the writer: one goroutine wake-up less per message one call at a time.
// Messages Send meanwhile queues wait for the writer, which the direct
// sender wakes when it is done, so order, back pressure and the barrier
// hold; under concurrent traffic the writer batches as before.
//
// # Memory per connection
//
// Read buffers (32 KiB) are borrowed from a pool and given back whenever a
// reader finds its socket empty and parks; write buffers are borrowed per
// batch. So an idle
// connection holds neither: what it costs is its reader goroutine (a small
// stack: the handshake runs on another goroutine, whose stack zmq4 grows to
// 8 KiB), its socket and a few small structs. Measured as server RSS with
// 2,000 idle connections: about 8 KiB per connection after the handshake
// (13.4 KiB before this design), about 7 KiB per silent connection still in
// its handshake. At most Options.MaxHandshakes (512 by default) handshakes
// run at once; connections accepted past the cap are reset at once.
//
// A message over Options.MaxMessageSize whose id, type and subject came
// within it is read past without storing its headers and body, and
// delivered with Incoming.TooLarge, the connection kept, so that the
// receiver can refuse it at once; beyond four times the limit the
// connection is closed.
//
// # Busy polling
//
// Off by default; Options.BusyPoll > 0 turns it on with that budget. The
// reader of the connection from peer X then polls its socket for up to the
// budget before parking, but only while calls are in progress with X: we
// sent X requests it has not answered, or X sent us requests we have not
// answered, or a call with X completed less than one budget ago (so that a
// sequential caller's next request, and the reply to it, are caught by the
// poll), and no more than four calls are (with more, messages keep coming
// and spinning would only take the CPU that makes the replies). Replies
// are REP, ACK, NACK and ERROR. The reader of a dialed connection whose
// peer sends its replies on it (shared.go) polls the same way. A
// connection whose messages
// come slowly stops polling after a few empty polls; a reader that parks
// gives its polling slot back first; at most half of GOMAXPROCS readers of
// one Transport poll at once, none with GOMAXPROCS 1; connections from
// Transports in this process are never polled. See busypoll.go.
//
// # Why not zmq4's sockets
//
// The package uses github.com/go-zeromq/zmq4 for the ZMTP handshake
// (greeting, NULL or PLAIN security, socket metadata) through zmq4.Open, and
// does the rest itself: accepting, framing, queueing, dialing. zmq4
// v0.17's ROUTER and DEALER sockets, measured, have these traps:
//
//   - Send on a DEALER without a live connection blocks for the socket
//     timeout (5 minutes by default); with WithAutomaticReconnect it gives
//     up after about 2.5 s and then Send returns nil while dropping every
//     message (writing to zero connections "succeeds"). Here each peer has
//     one connection whose death is seen at once (a reader gets EOF), Send
//     on a dead one dials again within its context, and a failed dial
//     returns ErrNotConnected.
//   - A ROUTER's receive queue is a channel of 10 that each connection's
//     goroutine writes to without select: with messages unread at Close,
//     those goroutines leak. Here each accepted connection is read by a
//     goroutine that calls the Handler itself; Close closes the connections
//     and waits for those goroutines.
//   - Its accept loop runs every handshake in turn, with no deadline: one
//     client that connects and says nothing stops all others. Here each
//     handshake runs on its own goroutine, under Options.HandshakeTimeout,
//     and at most Options.MaxHandshakes at once.
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
//     connections read through a buffer (readBuffer), and a peer's writer
//     frames every queued message into one batch (batchWriter: small
//     frames copied, frames of 8 KiB or more referenced in place) and
//     writes it with one write (one writev when it references big
//     frames). On a connection with concurrent calls a writer holding
//     under 16 KiB (batchYieldBytes) yields once before it writes, so that
//     messages about to be queued share the write; one call at a time
//     never waits, and its sender writes its message itself (outconn.go).
//
// Receivers validate what arrives: exactly five frames after the identity
// (six as a ROUTER sees them), UTF-8 id and subject, a known type, and a
// sender identity that is a tcp://host:port URL (checked once per
// connection; a bad one must not make anyone dial garbage). Bad messages
// are dropped, counted in Stats and logged at a limited rate.
package transport
