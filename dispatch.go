package lymph

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// nilBody is msgpack nil: the body of ACK and NACK.
var nilBody = []byte{0xc0}

// handle receives every valid message from the transport's receive loop. It
// must not block: requests are served on their own goroutine, and replies
// to our own requests go to their waiting Future.
func (c *Container) handle(in transport.Incoming) {
	if in.Type != TypeRequest {
		c.pending.deliver(c, in)
		return
	}
	c.inflightMu.Lock()
	if c.draining {
		if !c.silent {
			c.refusals.Add(1)
			go func() {
				defer c.refusals.Done()
				c.refuseStopping(in)
			}()
		}
		c.inflightMu.Unlock()
		return
	}
	c.inflight.Add(1)
	c.inflightMu.Unlock()
	c.workers.run(in)
}

// serveCounted serves a request counted in inflight.
func (c *Container) serveCounted(in transport.Incoming) {
	defer c.inflight.Done()
	c.serve(in)
}

// serve answers one request: lymph's dispatcher.
func (c *Container) serve(in transport.Incoming) {
	req, err := incomingMessage(in)
	if err != nil {
		c.metrics.count(in.Subject, metricBadRequest)
		c.refuseMessage(req, "undecodable headers", err)
		return
	}
	ifaceName, methodName, ok := splitSubject(req.Subject)
	if !ok {
		c.refuseMessage(req, "malformed subject", nil)
		return
	}
	inst := c.lookupInterface(ifaceName, req.Version())
	if inst == nil {
		c.metrics.count(req.Subject, metricUnknown)
		c.refuseMessage(req, "unknown interface or version", nil)
		return
	}
	m := inst.methods[methodName]
	if m == nil {
		c.metrics.count(req.Subject, metricUnknown)
		c.refuseMessage(req, "unknown method", nil)
		return
	}
	c.metrics.count(req.Subject, metricRequest)
	ctx := WithTraceID(c.serveCtx, req.TraceID())
	switch m.kind {
	case kindRPC:
		c.serveRPC(ctx, inst, m, req)
	case kindRaw:
		c.serveRaw(ctx, inst, m, req)
	}
}

// incomingMessage decodes a message's headers and makes sure it has a trace
// id: a request without one gets a new one, which its reply carries.
// Only trace_id and version are read; the other headers are decoded if
// the method asks for them.
func incomingMessage(in transport.Incoming) (*Message, error) {
	msg := &Message{}
	msg.setFrom(&in)
	traceID, version, err := codec.PeekHeaders(in.Headers)
	if traceID == "" {
		traceID = transport.NewID()
	}
	msg.known, msg.traceID, msg.version = true, traceID, version
	return msg, err
}

func (c *Container) serveRPC(ctx context.Context, inst *installed, m *method, req *Message) {
	args, err := m.decodeArgs(ctx, req.body)
	if err != nil {
		c.metrics.count(req.Subject, metricBadRequest)
		c.refuseMessage(req, "bad arguments", err)
		return
	}
	out, panicked := c.invoke(req, m, args)
	if panicked {
		c.metrics.count(req.Subject, metricError)
		c.sendReply(req, TypeNack, "", nil, nilBody)
		return
	}
	if errv := out[len(out)-1]; !errv.IsNil() {
		c.metrics.count(req.Subject, metricError)
		c.replyError(req, inst, m, errv.Interface().(error))
		return
	}
	var body any
	if m.result {
		body = out[0].Interface()
	}
	headers, encoded, err := codec.MarshalMessage(req.TraceID(), inst.version, body)
	if err != nil {
		c.metrics.count(req.Subject, metricError)
		c.refuseMessage(req, "cannot encode the result", err)
		return
	}
	c.transmit(req, TypeReply, headers, encoded)
}

// replyError sends a declared error as ERROR and anything else as NACK.
func (c *Container) replyError(req *Message, inst *installed, m *method, err error) {
	for _, d := range m.raises {
		if typ, message, ok := d.match(err); ok {
			body, _ := codec.Marshal(errorBody{Type: typ, Message: message})
			c.sendReply(req, TypeError, inst.version, nil, body)
			return
		}
	}
	c.logger.Error("method failed with an undeclared error", "subject", req.Subject, "trace_id", req.TraceID(), "error", err)
	c.sendReply(req, TypeNack, "", nil, nilBody)
}

func (c *Container) serveRaw(ctx context.Context, inst *installed, m *method, req *Message) {
	ch := &ReplyChannel{ctx: ctx, c: c, req: req, version: inst.version}
	args, err := m.decodeArgs(ctx, req.body)
	if err != nil {
		c.metrics.count(req.Subject, metricBadRequest)
		c.refuseMessage(req, "bad arguments", err)
		return
	}
	args[0] = reflect.ValueOf(ch) // the channel takes the context's place
	if _, panicked := c.invoke(req, m, args); panicked {
		c.metrics.count(req.Subject, metricError)
	}
	// lymph's dispatcher: a raw method that did not answer gets a NACK.
	_ = ch.Nack(true)
}

// invoke calls the method, turning a panic into a logged failure: one bad
// request must not take the process down.
func (c *Container) invoke(req *Message, m *method, args []reflect.Value) (out []reflect.Value, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			c.logger.Error("method panicked", "subject", req.Subject, "trace_id", req.TraceID(),
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return m.fn.Call(args[m.firstArg():]), false
}

// decodeArgs builds the argument list: slot 0 is always the context (or the
// ReplyChannel, for raw methods), then the keyword arguments if the method
// takes them.
func (m *method) decodeArgs(ctx context.Context, body []byte) ([]reflect.Value, error) {
	args := make([]reflect.Value, 1, 2)
	args[0] = reflect.ValueOf(ctx)
	if m.argType == nil {
		// lymph would reject keyword arguments a method does not take.
		if err := codec.DecodeArgs(body, &struct{}{}); err != nil {
			return nil, err
		}
		return args, nil
	}
	ptr := reflect.New(m.argType)
	if err := codec.DecodeArgs(body, ptr.Interface()); err != nil {
		return nil, err
	}
	if m.argPtr {
		return append(args, ptr), nil
	}
	return append(args, ptr.Elem()), nil
}

// firstArg is where the method's own parameters start in the slice
// decodeArgs builds.
func (m *method) firstArg() int {
	if m.kind == kindRaw || m.hasCtx {
		return 0
	}
	return 1
}

// refuseStopping NACKs a request that came while the container stops: the
// caller learns at once instead of timing out. Not worth a warning: peers'
// heartbeat pings arrive this way all the time.
func (c *Container) refuseStopping(in transport.Incoming) {
	req, _ := incomingMessage(in)
	c.logger.Debug("request refused: container is stopping", "subject", req.Subject, "source", req.Source, "trace_id", req.TraceID())
	c.sendReply(req, TypeNack, "", nil, nilBody)
}

// refuseMessage NACKs a request and logs why: the caller learns only that it
// was refused, the log says why.
func (c *Container) refuseMessage(req *Message, reason string, err error) {
	c.logger.Warn("request refused", "reason", reason, "subject", req.Subject, "source", req.Source,
		"trace_id", req.TraceID(), "error", err)
	c.sendReply(req, TypeNack, "", nil, nilBody)
}

// sendReply answers req. A NACK carries only the trace id, as lymph's
// dispatcher sends it; other replies carry the interface's version too.
func (c *Container) sendReply(req *Message, typ, version string, extra map[string]any, body []byte) {
	var headers []byte
	var err error
	if typ == TypeNack {
		headers, err = codec.Marshal(map[string]any{"trace_id": req.TraceID()})
	} else {
		headers, err = codec.MarshalHeaders(req.TraceID(), version, extra)
	}
	if err != nil {
		c.logger.Error("cannot encode reply headers", "subject", req.Subject, "trace_id", req.TraceID(), "error", err)
		headers, err = codec.Marshal(map[string]any{"trace_id": req.TraceID()})
		if err != nil {
			return
		}
		typ, body = TypeNack, nilBody
	}
	c.transmit(req, typ, headers, body)
}

// transmit sends an encoded reply to req's sender.
func (c *Container) transmit(req *Message, typ string, headers, body []byte) {
	if typ == TypeNack {
		// Counted before the send, so a caller that saw the NACK sees it
		// counted too.
		c.metrics.count(req.Subject, metricNack)
	}
	tr := c.tr.Load()
	// The transport only waits when it must dial the caller, and bounds that
	// wait itself (its DialTimeout).
	if err := tr.Send(context.Background(), req.Source, transport.NewID(), typ, req.ID, headers, body); err != nil {
		c.logger.Warn("cannot send reply", "type", typ, "subject", req.Subject, "to", req.Source,
			"trace_id", req.TraceID(), "error", err)
	}
}
