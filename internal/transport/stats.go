package transport

import "sync/atomic"

// Stats are a Transport's counters since Listen.
type Stats struct {
	// MessagesIn counts valid messages received (oversized ones included).
	MessagesIn uint64
	// MessagesOut counts messages written to peers' connections.
	MessagesOut uint64
	// BytesIn and BytesOut count the frame contents of those messages
	// (ZMTP framing and the sender's identity not included).
	BytesIn, BytesOut uint64
	// Dropped counts messages not delivered, by reason.
	Dropped DropStats
	// ConnectionsIn and ConnectionsOut are the connections open now:
	// accepted ones (peers sending to us) and dialed ones (us to peers).
	ConnectionsIn, ConnectionsOut int64
	// Accepted and Dialed count connections that completed the handshake;
	// DialFailures and HandshakeFailures those that did not.
	Accepted, Dialed, DialFailures, HandshakeFailures uint64
	// Handshaking is the number of accepted connections in their handshake
	// now; HandshakeRefusals counts connections closed at once because
	// Options.MaxHandshakes were already running.
	Handshaking       int64
	HandshakeRefusals uint64
	// QueueWaits counts Sends that found their peer's queue full and waited
	// for room (back pressure); QueueFull those of them whose context ended
	// first (they returned ErrQueueFull).
	QueueWaits, QueueFull uint64
	// ReadBuffers is the number of read buffers connections hold now: a
	// connection holds one only while it has unread bytes or is reading,
	// not while its reader waits for the peer, so idle connections cost
	// none.
	ReadBuffers int64
	// Oversized counts messages over MaxMessageSize that were read past and
	// delivered with Incoming.TooLarge, the connection kept.
	Oversized uint64
	// BusyPolls counts reads that busy-polled a busy connection before
	// parking (Options.BusyPoll); EmptyBusyPolls those of them that found
	// nothing within the budget, CPU spent for nothing.
	BusyPolls, EmptyBusyPolls uint64
	// Flushes counts the batches writers flushed: one write system call
	// each unless a batch outgrew the 32 KiB write buffer. MessagesOut /
	// Flushes is the messages that shared a write.
	Flushes uint64
	// Shared is the connections open now, either way, on which the peer
	// agreed to carry replies back (shared.go); SharedReplies counts the
	// replies sent on them.
	Shared        int64
	SharedReplies uint64
}

// DropStats counts dropped messages by reason.
type DropStats struct {
	BadFrames   uint64 // not exactly five frames (six with the identity)
	BadUTF8     uint64 // id or subject not valid UTF-8
	UnknownType uint64 // type not REQ, REP, ACK, NACK or ERROR
	BadIdentity uint64 // sender identity not a UTF-8 tcp://host:port URL
	TooLarge    uint64 // far over MaxMessageSize, or before the headers: the connection is closed
	NoHandler   uint64 // received while Options.Handler is nil
	Closed      uint64 // received while the transport was closing
	Unsent      uint64 // queued for a peer whose connection then died
}

// counters are the live, atomic form of Stats.
type counters struct {
	in, out                                        atomic.Uint64
	bytesIn, bytesOut                              atomic.Uint64
	dropped                                        [numDropReasons]atomic.Uint64
	unsent                                         atomic.Uint64
	connsIn, connsOut                              atomic.Int64
	accepted, dialed, dialFailures, handshakeFails atomic.Uint64
	handshaking                                    atomic.Int64
	handshakeRefusals, queueWaits, queueFull       atomic.Uint64
	oversized                                      atomic.Uint64
	readBufs                                       atomic.Int64
	busyPolls, emptyBusyPolls                      atomic.Uint64
	flushes                                        atomic.Uint64
	shared                                         atomic.Int64
	sharedReplies                                  atomic.Uint64
}

func (c *counters) snapshot() Stats {
	d := func(r dropReason) uint64 { return c.dropped[r].Load() }
	return Stats{
		MessagesIn:  c.in.Load(),
		MessagesOut: c.out.Load(),
		BytesIn:     c.bytesIn.Load(),
		BytesOut:    c.bytesOut.Load(),
		Dropped: DropStats{
			BadFrames:   d(dropBadFrames),
			BadUTF8:     d(dropBadUTF8),
			UnknownType: d(dropUnknownType),
			BadIdentity: d(dropBadIdentity),
			TooLarge:    d(dropTooLarge),
			NoHandler:   d(dropNoHandler),
			Closed:      d(dropClosed),
			Unsent:      c.unsent.Load(),
		},
		ConnectionsIn:     c.connsIn.Load(),
		ConnectionsOut:    c.connsOut.Load(),
		Accepted:          c.accepted.Load(),
		Dialed:            c.dialed.Load(),
		DialFailures:      c.dialFailures.Load(),
		HandshakeFailures: c.handshakeFails.Load(),
		Handshaking:       c.handshaking.Load(),
		HandshakeRefusals: c.handshakeRefusals.Load(),
		QueueWaits:        c.queueWaits.Load(),
		QueueFull:         c.queueFull.Load(),
		Oversized:         c.oversized.Load(),
		ReadBuffers:       c.readBufs.Load(),
		BusyPolls:         c.busyPolls.Load(),
		EmptyBusyPolls:    c.emptyBusyPolls.Load(),
		Flushes:           c.flushes.Load(),
		Shared:            c.shared.Load(),
		SharedReplies:     c.sharedReplies.Load(),
	}
}
