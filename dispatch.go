package lymph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/internal/transport"
)

// nilBody is msgpack nil: the body of ACK and NACK.
var nilBody = []byte{0xc0}

// headerNackReason is the reply header that says why a request was
// refused. Python lymph ignores unknown headers, so the wire stays lymph's
// (NACK, body nil); Go callers read it.
const headerNackReason = "nack_reason"

// Reasons of a NACK. Only reasonStopping and reasonOverloaded
// (overload.go) are acted on by callers: such a request did no work, so it
// is sent to another instance. reasonDeadline is in deadline.go.
const (
	reasonStopping  = "stopping"
	reasonTooLarge  = "too large"
	reasonUnknown   = "unknown interface, method or version"
	reasonBadArgs   = "bad arguments"
	reasonBadHeader = "undecodable headers"
	reasonFailed    = "failed"
	// What the caller reads of a failure (the error's text stays in the
	// server's log: it may hold what callers should not see).
	reasonUndeclared = reasonFailed + ": the method returned an error it did not declare"
	reasonPanicked   = reasonFailed + ": the method panicked"
	reasonNoReply    = "the raw method returned without replying"
	reasonRefused    = "refused by the method"
)

// handle receives every valid message from the transport's receive loop. It
// must not block: requests are served on worker goroutines, and replies to
// our own requests go to their waiting call.
func (c *Container) handle(in transport.Incoming) {
	if in.Type != TypeRequest {
		c.pending.deliver(c, in)
		return
	}
	c.monitor.Heard(in.Sender, in.Subject != pingSubject)
	switch c.admit(in.Subject) {
	case admitted:
		c.workers.run(in)
		return
	case overloaded:
		c.refuseOverloaded(in)
		return
	}
	// Draining: say so at once, so that the caller goes elsewhere instead
	// of waiting out its deadline. Once even refusals are over, the
	// transport is about to close and nothing can answer.
	if c.refusals.enter() {
		// A go statement with arguments, not a closure: a closure would
		// capture in by reference (it is over 128 bytes) and move it to
		// the heap on every call of handle.
		go c.refuseStoppingCounted(in)
	}
}

// refuseStoppingCounted is refuseStopping for a refusal counted in.
func (c *Container) refuseStoppingCounted(in transport.Incoming) {
	defer c.refusals.leave()
	c.refuseStopping(in)
}

// serveCounted serves a request counted in by the requests gate.
func (c *Container) serveCounted(in transport.Incoming) {
	defer c.requests.leave()
	defer c.release(in.Subject) // the in-flight limit (overload.go)
	c.serve(in)
}

// serve answers one request: lymph's dispatcher.
func (c *Container) serve(in transport.Incoming) {
	arrived := time.Now()
	req, err := incomingMessage(in)
	if in.TooLarge {
		c.metrics.count(in.Subject, metricBadRequest)
		c.refuseMessage(req, reasonTooLarge, nil)
		return
	}
	if err != nil {
		c.metrics.count(in.Subject, metricBadRequest)
		c.refuseMessage(req, reasonBadHeader, err)
		return
	}
	ifaceName, methodName, ok := splitSubject(req.Subject)
	if !ok {
		c.refuseMessage(req, reasonUnknown+": the subject is not interface.method", nil)
		return
	}
	inst := c.lookupInterface(ifaceName, req.Version())
	if inst == nil {
		c.metrics.count(req.Subject, metricUnknown)
		c.refuseMessage(req, unknownInterface(ifaceName, req.Version()), nil)
		return
	}
	m := inst.methods[methodName]
	if m == nil {
		c.metrics.count(req.Subject, metricUnknown)
		c.refuseMessage(req, fmt.Sprintf("%s: %s has no method %q", reasonUnknown, ifaceName, methodName), nil)
		return
	}
	ctx := context.Context(&requestContext{Context: c.serveCtx, req: req})
	if req.hasTimeout {
		// The caller's deadline (deadline.go): work it has given up on is
		// not started, and the method's context ends just after it.
		if req.timeout <= 0 {
			c.refuseLate(req)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = withCallerDeadline(ctx, arrived, req.timeout)
		defer cancel()
	}
	if !m.enterMethod() {
		c.metrics.count(req.Subject, metricOverloaded)
		c.nack(req, reasonOverloaded)
		return
	}
	defer m.leaveMethod()
	c.metrics.count(req.Subject, metricRequest)
	switch m.kind {
	case kindRPC:
		c.serveRPC(ctx, inst, m, req)
		if c.serverChain == nil { // interceptors may keep the request
			req.releaseBody()
		}
	case kindRaw:
		c.serveRaw(ctx, inst, m, req) // its ReplyChannel holds the request
	}
}

// incomingMessage decodes a message's headers and makes sure it has a trace
// id: a request without one gets a new one, which its reply carries.
// Only trace_id and version are read; the other headers are decoded if
// the method asks for them.
func incomingMessage(in transport.Incoming) (*Message, error) {
	msg := &Message{}
	msg.setFrom(&in)
	h, err := codec.PeekRequest(in.Headers)
	if h.TraceID == "" {
		h.TraceID = transport.NewID()
	}
	msg.known, msg.traceID, msg.version = true, h.TraceID, h.Version
	msg.timeout, msg.hasTimeout = h.Timeout, h.HasTimeout
	return msg, err
}

func (c *Container) serveRPC(ctx context.Context, inst *installed, m *method, req *Message) {
	args, err := m.decodeArgs(ctx, req.body)
	if err != nil {
		c.metrics.count(req.Subject, metricBadRequest)
		c.refuseMessage(req, reasonBadArgs+": "+err.Error(), err)
		return
	}
	if req.hasTimeout && ctx.Err() != nil && c.serveCtx.Err() == nil {
		c.refuseLate(req)
		return
	}
	if c.serverChain != nil {
		c.intercept(ctx, inst, m, req, args)
		return
	}
	c.runRPC(ctx, inst, m, req, args)
}

// runRPC calls an rpc method and sends its reply.
func (c *Container) runRPC(ctx context.Context, inst *installed, m *method, req *Message, args []reflect.Value) Outcome {
	out, perr := c.invoke(req, m, args)
	if perr != nil {
		c.metrics.count(req.Subject, metricError)
		c.nack(req, reasonPanicked)
		return Outcome{Kind: OutcomePanic, Reason: reasonFailed, Err: perr}
	}
	if errv := out[len(out)-1]; !errv.IsNil() {
		c.metrics.count(req.Subject, metricError)
		return c.replyError(ctx, req, inst, m, errv.Interface().(error))
	}
	var body any
	if m.result {
		body = out[0].Interface()
	}
	headers, encoded, release, err := codec.MarshalReply(req.TraceID(), inst.version, body)
	if err != nil {
		c.metrics.count(req.Subject, metricError)
		c.refuseMessage(req, reasonFailed, err)
		return Outcome{Kind: OutcomeNack, Reason: reasonFailed, Err: err}
	}
	c.transmitOwned(req, TypeReply, headers, encoded, release)
	return Outcome{}
}

// replyError sends a declared error as ERROR and anything else as NACK.
func (c *Container) replyError(ctx context.Context, req *Message, inst *installed, m *method, err error) Outcome {
	for _, d := range m.raises {
		if typ, message, ok := d.match(err); ok {
			body, _ := codec.Marshal(errorBody{Type: typ, Message: message})
			c.sendReply(req, TypeError, inst.version, nil, body)
			return Outcome{Kind: OutcomeError, ErrorType: typ, Err: err}
		}
	}
	level := slog.LevelError
	switch {
	case errors.Is(err, context.Canceled) && c.serveCtx.Err() != nil:
		level = slog.LevelInfo // cut short by Stop, as Stop said
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		level = slog.LevelInfo // the caller's deadline passed: it has timed out already
	}
	c.logger.Log(ctx, level, "method failed with an undeclared error", "subject", req.Subject, "trace_id", req.TraceID(), "error", err)
	if level == slog.LevelError {
		c.reportError(ContextWithTraceID(context.Background(), req.TraceID()), ErrorReport{Subject: req.Subject, TraceID: req.TraceID(), Err: err})
	}
	c.nack(req, reasonUndeclared)
	return Outcome{Kind: OutcomeNack, Reason: reasonFailed, Err: err}
}

func (c *Container) serveRaw(ctx context.Context, inst *installed, m *method, req *Message) {
	args, err := m.decodeArgs(ctx, req.body)
	if err != nil {
		c.metrics.count(req.Subject, metricBadRequest)
		c.refuseMessage(req, reasonBadArgs+": "+err.Error(), err)
		return
	}
	if req.hasTimeout && ctx.Err() != nil && c.serveCtx.Err() == nil {
		c.refuseLate(req)
		return
	}
	if c.serverChain != nil {
		c.intercept(ctx, inst, m, req, args)
		return
	}
	c.runRaw(ctx, inst, m, req, args)
}

// runRaw calls a raw method and answers for it if it did not.
func (c *Container) runRaw(ctx context.Context, inst *installed, m *method, req *Message, args []reflect.Value) Outcome {
	ch := &ReplyChannel{ctx: ctx, c: c, req: req, version: inst.version}
	args[argCtx] = reflect.ValueOf(ch) // the channel takes the context's place
	_, perr := c.invoke(req, m, args)
	if perr != nil {
		c.metrics.count(req.Subject, metricError)
	}
	// lymph's dispatcher: a raw method that did not answer gets a NACK.
	if ch.claim() {
		if perr != nil {
			c.nack(req, reasonPanicked)
		} else {
			c.nack(req, reasonNoReply)
		}
	}
	if perr != nil {
		return Outcome{Kind: OutcomePanic, Reason: reasonFailed, Err: perr}
	}
	return ch.outcome()
}

// invoke calls the method, turning a panic into a logged failure: one bad
// request must not take the process down.
func (c *Container) invoke(req *Message, m *method, args []reflect.Value) (out []reflect.Value, perr error) {
	defer func() {
		if r := recover(); r != nil {
			perr = fmt.Errorf("lymph: %s panicked: %v", req.Subject, r)
			stack := debug.Stack()
			c.logger.Error("method panicked", "subject", req.Subject, "trace_id", req.TraceID(),
				"panic", fmt.Sprint(r), "stack", string(stack))
			c.reportError(ContextWithTraceID(context.Background(), req.TraceID()), ErrorReport{
				Subject: req.Subject, TraceID: req.TraceID(), Err: fmt.Errorf("panic: %v", r), Panic: r, Stack: stack})
		}
	}()
	if m.kind != kindRaw && !m.hasCtx {
		args = args[argCtx:] // the receiver takes the context's slot
	}
	args[0] = m.recv
	return m.fn.Call(args), nil
}

// The slots of the argument list decodeArgs builds.
const (
	argRecv = iota // the receiver, set by invoke
	argCtx         // the context, or the ReplyChannel of a raw method
	argKw          // the keyword arguments, if the method takes them
)

// callFrame is one request's argument list, with the context it passes
// held as a context.Context: a reflect.Value of the interface type itself
// is assignable to the method's parameter at a glance, where one of the
// context's concrete type made every call check the type's methods
// against the interface, twice.
type callFrame struct {
	args [argKw + 1]reflect.Value
	ctx  context.Context
}

// decodeArgs builds the argument list: a slot for the receiver, the
// context (or the ReplyChannel, for raw methods), then the keyword
// arguments if the method takes them.
func (m *method) decodeArgs(ctx context.Context, body []byte) ([]reflect.Value, error) {
	f := &callFrame{ctx: ctx}
	args := f.args[:argKw]
	args[argCtx] = reflect.ValueOf(&f.ctx).Elem()
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

// refuseStopping NACKs a request that came while the container drains:
// the caller learns at once, and that the request did no work. Not worth a
// warning: peers' heartbeat pings arrive this way all the time.
func (c *Container) refuseStopping(in transport.Incoming) {
	req, _ := incomingMessage(in)
	c.logger.Debug("request refused: container is stopping", "subject", req.Subject, "source", req.Source, "trace_id", req.TraceID())
	c.nack(req, reasonStopping)
}

// refuseLate NACKs a request whose caller's deadline has passed; counted,
// not logged: the caller has moved on, and under load there are many.
func (c *Container) refuseLate(req *Message) {
	c.metrics.count(req.Subject, metricDeadline)
	c.nack(req, reasonDeadline)
}

// refuseMessage NACKs a request and logs why.
func (c *Container) refuseMessage(req *Message, reason string, err error) {
	c.logger.Warn("request refused", "reason", reason, "subject", req.Subject, "source", req.Source,
		"trace_id", req.TraceID(), "error", err)
	c.nack(req, reason)
}

// unknownInterface is the reason for a request to an interface (or a
// version of it) this container does not serve.
func unknownInterface(name, version string) string {
	if version != "" {
		return fmt.Sprintf("%s: no interface %q with a version %s", reasonUnknown, name, version)
	}
	return fmt.Sprintf("%s: no interface %q", reasonUnknown, name)
}

// nack refuses req, saying why in the reason header. A NACK carries the
// trace id and the reason, no version, as lymph's dispatcher sends it.
func (c *Container) nack(req *Message, reason string) {
	headers, err := codec.Marshal(map[string]any{codec.HeaderTraceID: req.TraceID(), headerNackReason: reason})
	if err != nil {
		return // a string map always encodes
	}
	c.transmit(req, TypeNack, headers, nilBody)
}

// sendReply answers req with a reply of another type than NACK.
func (c *Container) sendReply(req *Message, typ, version string, extra map[string]any, body []byte) {
	if typ == TypeNack {
		c.nack(req, reasonRefused)
		return
	}
	headers, err := codec.MarshalHeaders(req.TraceID(), version, extra)
	if err != nil {
		c.logger.Error("cannot encode reply headers", "subject", req.Subject, "trace_id", req.TraceID(), "error", err)
		c.nack(req, reasonFailed)
		return
	}
	c.transmit(req, typ, headers, body)
}

// transmit sends an encoded reply to req's sender.
func (c *Container) transmit(req *Message, typ string, headers, body []byte) {
	c.transmitOwned(req, typ, headers, body, nil)
}

// transmitOwned is transmit for a reply whose buffer release gives back
// once it is written (codec.MarshalReply).
func (c *Container) transmitOwned(req *Message, typ string, headers, body []byte, release func()) {
	if typ == TypeNack {
		// Counted before the send, so a caller that saw the NACK sees it
		// counted too.
		c.metrics.count(req.Subject, metricNack)
	}
	tr := c.tr.Load()
	// A full queue makes Send wait for room: back pressure, never a reply
	// dropped. The transport bounds the wait (a peer that stops reading for
	// its WriteTimeout loses its connection, and a dial its DialTimeout).
	if err := tr.Reply(context.Background(), req.route, req.Source, transport.NewID(), typ, req.ID, headers, body, release); err != nil {
		c.logger.Warn("cannot send reply", "type", typ, "subject", req.Subject, "to", req.Source,
			"trace_id", req.TraceID(), "error", err)
	}
}
