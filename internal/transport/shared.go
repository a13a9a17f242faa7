package transport

import (
	"context"
	"strings"

	"github.com/go-zeromq/zmq4"
)

// Replies on the request's connection.
//
// lymph sends each reply on a connection of the replier's own, dialed to
// the caller's endpoint: two connections per pair of instances, and every
// message a TCP segment that the other side must acknowledge with a
// segment of its own, since nothing travels back on that connection to
// carry the acknowledgement. Two lymph-go transports agree, in the ZMTP
// handshake, to send replies back on the connection the request came in
// on instead: the dialer offers it in its metadata, the acceptor offers it
// in its own, and a connection on which both offered is shared. Peers that
// do not offer it (Python lymph, libzmq, an older lymph-go) ignore the
// property and are answered the lymph way.
//
// Only replies take the shared connection: a connection is trusted for
// what it asked, not as a route to whatever identity it claims, so a
// client announcing another instance's endpoint still cannot receive that
// instance's traffic. Requests to a peer go, as before, on the connection
// we dialed to it.

// sharedKey and sharedValue are the metadata property of the offer. zmq4
// sends application metadata as "X-" + the lower-cased key.
const (
	sharedKey   = "lymph-replies"
	sharedValue = "same-connection"
)

// offerShared wraps a security mechanism to add the offer to the metadata
// it sends (NULL's READY, PLAIN's INITIATE or READY).
type offerShared struct{ zmq4.Security }

func (s offerShared) Handshake(c *zmq4.Conn, server bool) error {
	c.Meta[sharedKey] = sharedValue
	return s.Security.Handshake(c, server)
}

// offersShared reports whether the peer's metadata carries the offer.
// Property names are case-insensitive (zmq4 title-cases them).
func offersShared(meta zmq4.Metadata) bool {
	for k, v := range meta {
		if strings.EqualFold(k, "X-"+sharedKey) && v == sharedValue {
			return true
		}
	}
	return false
}

// Route is the way back to the sender of a message received on a shared
// connection (Incoming.Route): the connection itself. It is nil for
// messages from peers that did not agree to share.
type Route struct{ oc *outConn }

// Reply sends a reply to a message received from endpoint: on route, the
// connection the message came in on, when it is shared and alive, else
// the lymph way, like Send (dialing endpoint if need be). Its errors are
// Send's. release, when not nil, is called once headers and body are
// written, or could not be: their buffer may then be reused. (It is not
// called for a reply that is dropped unwritten, or sent the lymph way.)
func (t *Transport) Reply(ctx context.Context, route *Route, endpoint string, id, typ, subject string, headers, body []byte, release func()) error {
	if route == nil || route.oc.dead.Load() {
		return t.Send(ctx, endpoint, id, typ, subject, headers, body)
	}
	m := outMsg{id: id, typ: typ, subject: subject, headers: headers, body: body, release: release}
	err := t.closedErr(ctx)
	if err == nil && m.size() > t.opts.MaxMessageSize {
		err = t.tooLarge(&m)
	}
	if err != nil {
		if typ != TypeREQ {
			decFloor(&route.oc.calls) // the call ends, unanswered; enqueue ends the answered ones
		}
		return err
	}
	if err := route.oc.enqueue(ctx, &m); err != nil {
		if err != errConnDead {
			return err
		}
		// The caller's connection closed: if the caller lives on (its
		// connection timed out, say), the lymph way still reaches it.
		return t.Send(ctx, endpoint, id, typ, subject, headers, body)
	}
	if t.polling() {
		if g := t.gauges.get(endpoint); g != nil {
			g.sent(typ)
		}
	}
	t.stats.sharedReplies.Add(1)
	return nil
}

// closedErr is ErrClosed once the Transport is closing, else ctx's error.
func (t *Transport) closedErr(ctx context.Context) error {
	if t.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}
