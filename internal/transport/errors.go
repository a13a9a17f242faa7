package transport

import "errors"

// ErrNotConnected reports that a peer could not be dialed, or that its
// connection is known to be dead and re-dialing it failed (or is backing off).
var ErrNotConnected = errors.New("transport: peer not connected")

// ErrQueueFull reports that the peer's outgoing queue is at its high-water
// mark (Options.SendQueue): the peer is slower than we send, or stuck.
var ErrQueueFull = errors.New("transport: peer send queue full")

// ErrClosed reports an operation on a closed Transport.
var ErrClosed = errors.New("transport: closed")

// ErrBadEndpoint reports an endpoint that is not a tcp://host:port URL.
var ErrBadEndpoint = errors.New("transport: bad endpoint")

// ErrTooLarge reports a message larger than Options.MaxMessageSize.
var ErrTooLarge = errors.New("transport: message too large")
