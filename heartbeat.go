package lymph

import (
	"context"
	"time"

	"github.com/lymphgo/lymph/internal/transport"
)

// pingSubject is the builtin method every lymph instance answers, and the
// heartbeat's request.
const pingSubject = builtinName + ".ping"

// The constant frames of a heartbeat ping: headers {"trace_id": nil,
// "version": nil} and body {"payload": ""}, as lymph sends them.
var (
	pingHeaders = []byte("\x82\xa8trace_id\xc0\xa7version\xc0")
	pingBody    = []byte("\x81\xa7payload\xa0")
)

// prober sends the health monitor's heartbeats through the container's own
// pending table, like any call; only their replies are not activity.
type prober struct{ c *Container }

// Ping implements health.Prober.
func (p prober) Ping(endpoint string, timeout time.Duration, done func(ok bool)) {
	c := p.c
	tr := c.tr.Load()
	if tr == nil || !c.currentPhase().calling() {
		done(false)
		return
	}
	id := transport.NewID()
	call := &pingCall{done: done}
	c.pending.add(id, pendingCall{w: call, peer: c.monitor.Peer(endpoint), subject: pingSubject, deadline: time.Now().Add(timeout), timeout: timeout})
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tr.Send(ctx, endpoint, id, TypeRequest, pingSubject, pingHeaders, pingBody); err != nil {
		if _, ok := c.pending.take(id); ok {
			done(false)
		}
		return
	}
	c.pending.markSent(id)
}

// Disconnect implements health.Prober.
func (p prober) Disconnect(endpoint string) {
	if tr := p.c.tr.Load(); tr != nil {
		tr.Disconnect(endpoint)
	}
}

// pingCall waits for a heartbeat's reply.
type pingCall struct{ done func(ok bool) }

func (p *pingCall) complete(in transport.Incoming, err error) {
	p.done(err == nil && in.Type == TypeReply)
}

// lostReplyGrace is how long calls sent to a peer whose connection died
// still wait for their replies. lymph's replies travel on another
// connection than its requests (the peer's own, to us), so a peer that
// answered and then closed can have its last replies still on their way
// when our connection to it reports the end. A Go peer's replies share the
// request's connection: when it closes that one, there is nothing to wait
// for.
const lostReplyGrace = 50 * time.Millisecond

// peerDown is the transport's report that the connection to endpoint died:
// no new call goes there, and the calls waiting on it fail a moment later
// rather than at their deadlines.
func (c *Container) peerDown(endpoint string, err error) {
	c.monitor.Down(endpoint)
	ids := c.pending.sentTo(endpoint)
	if len(ids) == 0 {
		return
	}
	grace := lostReplyGrace
	if transport.RepliesRead(err) {
		grace = 0 // the replies shared the connection, and came before its end
	}
	time.AfterFunc(grace, func() {
		c.pending.fail(ids, err)
		c.logger.Debug("connection lost; failed the calls waiting on it", "peer", endpoint, "calls", len(ids), "error", err)
	})
}
