package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Handler handles one event. A returned error, or a panic, is a failure:
// the event is retried while the subscription's Retry lasts, then dropped
// and logged, as lymph does. ctx ends when the subscription stops.
type Handler func(ctx context.Context, ev *Event) error

// Subscription declares a handler's queue and behaviour: lymph's
// @event(*types, sequential, queue_name, active, once, broadcast, retry).
type Subscription struct {
	// Queue is the queue name: "<interface>-<handler>" in lymph. Broadcast
	// and Once append "-<uuid4>".
	Queue string
	// Types are the binding patterns ("foo", "foo.*", "foo.#", "#").
	Types []string
	// Sequential handles one event at a time (per instance).
	Sequential bool
	// Once handles one event, then unsubscribes; the queue is private
	// and auto-deleted.
	Once bool
	// Broadcast gives every instance every event: a private, auto-deleted
	// queue per instance.
	Broadcast bool
	// Inactive declares the queue and its bindings but does not consume
	// (lymph's active=False).
	Inactive bool
	// Retry is how many times a failed event is re-delivered (lymph's
	// retry; 0: dropped on the first failure).
	Retry int
	// Concurrency bounds the events handled at once (non-sequential); it
	// is also the prefetch. 0 means the Bus's default.
	Concurrency int
}

// queueName returns the queue the subscription consumes: Queue, plus
// "-<uuid4>" for Broadcast and Once, as lymph names them.
func (s Subscription) queueName() string {
	if s.Once || s.Broadcast {
		return s.Queue + "-" + uuid.NewString()
	}
	return s.Queue
}

// Option configures Open and New.
type Option func(*options)

type options struct {
	logger      *slog.Logger
	concurrency int
}

// WithLogger sends the Bus's logs to l instead of slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithConcurrency sets the default Subscription.Concurrency (64).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

func buildOptions(opts []Option) options {
	o := options{logger: slog.Default(), concurrency: 64}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.concurrency < 1 {
		o.concurrency = 1
	}
	return o
}

// Bus is lymph's event system on one Backend: emit, subscribe, wait for the
// next event. All methods are safe for concurrent use.
type Bus struct {
	backend Backend
	opts    options
	log     *slog.Logger
	stats   stats
	limiter rateLimiter

	mu     sync.Mutex
	subs   map[*Subscriber]struct{}
	closed bool
}

// New returns a Bus on backend; Close closes the backend.
func New(backend Backend, opts ...Option) *Bus {
	o := buildOptions(opts)
	return &Bus{backend: backend, opts: o, log: o.logger, subs: map[*Subscriber]struct{}{}}
}

// Backend returns the bus's backend.
func (b *Bus) Backend() Backend { return b.backend }

// EmitOption configures one Emit.
type EmitOption func(*emitOptions)

type emitOptions struct {
	delay   time.Duration
	headers map[string]any
	source  string
	traceID string
}

// Delay delivers the event after d (lymph's emit(..., delay=seconds)).
func Delay(d time.Duration) EmitOption { return func(o *emitOptions) { o.delay = d } }

// WithHeaders adds headers to the event (lymph's emit_event headers=).
func WithHeaders(h map[string]any) EmitOption {
	return func(o *emitOptions) {
		if o.headers == nil {
			o.headers = map[string]any{}
		}
		for k, v := range h {
			o.headers[k] = v
		}
	}
}

// WithSource sets the event's source, the emitting container's identity.
func WithSource(identity string) EmitOption { return func(o *emitOptions) { o.source = identity } }

// WithTraceID sets the event's trace_id header.
func WithTraceID(id string) EmitOption { return func(o *emitOptions) { o.traceID = id } }

// Emit publishes an event of type eventType with body payload. It returns
// nil only when the backend confirmed it: unlike Python lymph's emit, which
// fires and forgets, a lost event is an error.
func (b *Bus) Emit(ctx context.Context, eventType string, payload any, opts ...EmitOption) error {
	var o emitOptions
	for _, opt := range opts {
		opt(&o)
	}
	headers := map[string]any{}
	for k, v := range o.headers {
		headers[k] = v
	}
	if o.traceID != "" {
		headers[HeaderTraceID] = o.traceID
	} else if _, ok := headers[HeaderTraceID]; !ok {
		headers[HeaderTraceID] = nil // as Python lymph sends outside a trace
	}
	if payload == nil {
		payload = map[string]any{}
	}
	return b.Publish(ctx, &Event{Type: eventType, Body: payload, Source: o.source, Headers: headers}, o.delay)
}

// Publish publishes ev as it is, after delay.
func (b *Bus) Publish(ctx context.Context, ev *Event, delay time.Duration) error {
	if b.isClosed() {
		return ErrClosed
	}
	if delay < 0 {
		delay = 0
	}
	msg, err := Marshal(ev)
	if err != nil {
		return err
	}
	if err := b.backend.Publish(ctx, ev.Type, msg, delay); err != nil {
		b.stats.add(ev.Type, func(c *Counts) { c.EmitFailed++ })
		return fmt.Errorf("events: emit %s: %w", ev.Type, err)
	}
	b.stats.add(ev.Type, func(c *Counts) { c.Emitted++ })
	return nil
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Subscribe declares the subscription's queue and bindings and, unless
// Inactive, starts handling its events with h. The queue exists when
// Subscribe returns, so an event emitted after that reaches it.
func (b *Bus) Subscribe(ctx context.Context, s Subscription, h Handler) (*Subscriber, error) {
	if s.Queue == "" {
		return nil, errors.New("events: subscription without a queue name")
	}
	if s.Once && s.Broadcast {
		return nil, fmt.Errorf("events: %s: once and broadcast exclude each other", s.Queue)
	}
	if len(s.Types) == 0 {
		return nil, fmt.Errorf("events: %s: no event types", s.Queue)
	}
	for _, p := range s.Types {
		if err := CheckPattern(p); err != nil {
			return nil, err
		}
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = b.opts.concurrency
	}
	if s.Sequential || s.Once {
		conc = 1
	}
	q := Queue{Name: s.queueName(), Patterns: append([]string(nil), s.Types...), AutoDelete: s.Once || s.Broadcast, Prefetch: conc}
	if s.Sequential && !s.Once {
		// One at a time, but a few waiting so the broker's round trip is
		// not paid per event.
		q.Prefetch = 16
	}
	sub := &Subscriber{bus: b, spec: s, queue: q, handler: h, done: make(chan struct{}), ready: make(chan struct{})}
	sub.ctx, sub.cancel = context.WithCancel(context.Background())
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		sub.cancel()
		return nil, ErrClosed
	}
	b.subs[sub] = struct{}{}
	b.mu.Unlock()

	if s.Inactive {
		if err := b.backend.Declare(ctx, q); err != nil {
			sub.forget()
			return nil, fmt.Errorf("events: declare %s: %w", q.Name, err)
		}
		close(sub.done)
		close(sub.ready)
		return sub, nil
	}
	sub.jobs = make(chan job, q.Prefetch)
	for range conc {
		sub.wg.Add(1)
		go sub.work()
	}
	c, err := b.backend.Consume(ctx, q, sub.deliver)
	if err != nil {
		sub.stopOnce.Do(func() {}) // nothing to stop
		close(sub.jobs)
		sub.wg.Wait()
		sub.forget()
		sub.cancel()
		close(sub.ready)
		return nil, fmt.Errorf("events: subscribe %s: %w", q.Name, err)
	}
	sub.mu.Lock()
	sub.consumer = c
	sub.mu.Unlock()
	close(sub.ready)
	return sub, nil
}

// Close stops every subscriber (handlers still running get 10 s, then
// their context is cancelled: see Subscriber.Stop) and closes the backend.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*Subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range subs {
		_ = s.Stop(ctx)
	}
	return b.backend.Close()
}

// Subscriber is a running Subscription.
type Subscriber struct {
	bus     *Bus
	spec    Subscription
	queue   Queue
	handler Handler
	jobs    chan job
	wg      sync.WaitGroup

	ctx    context.Context // ends when the subscriber stops: handlers see it
	cancel context.CancelFunc

	mu       sync.Mutex
	consumer Consumer
	stopping bool
	onceDone bool
	stopOnce sync.Once
	done     chan struct{}
	ready    chan struct{} // closed when Subscribe has set consumer (or failed)
}

type job struct {
	d  Delivery
	ev *Event
}

// Queue returns the name of the queue the subscriber consumes.
func (s *Subscriber) Queue() string { return s.queue.Name }

// Done is closed when the subscriber stopped (after a Once subscription's
// event, or Stop).
func (s *Subscriber) Done() <-chan struct{} { return s.done }

func (s *Subscriber) forget() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
}

// deliver runs on the backend's consumer goroutine: it decodes (refusing bad
// input there, so that it never reaches a handler) and queues the job. The
// jobs channel holds Prefetch jobs, as many as can be outstanding, so the
// send never blocks the backend's reading.
func (s *Subscriber) deliver(d Delivery) {
	s.mu.Lock()
	stopping := s.stopping || s.onceDone
	if s.spec.Once && !stopping {
		s.onceDone = true
	}
	s.mu.Unlock()
	if stopping {
		_ = d.Reject(true)
		return
	}
	ev, err := s.decode(d)
	if err != nil {
		s.bus.stats.add("", func(c *Counts) { c.Rejected++ })
		s.bus.limiter.log(s.bus.log, "events: rejecting a message that is not a lymph event", "queue", s.queue.Name, "error", err)
		_ = d.Reject(false)
		if s.spec.Once {
			s.mu.Lock()
			s.onceDone = false
			s.mu.Unlock()
		}
		return
	}
	s.jobs <- job{d: d, ev: ev}
}

func (s *Subscriber) decode(d Delivery) (*Event, error) {
	if ct := d.ContentType(); ct != ContentType {
		return nil, fmt.Errorf("%w: content type %q, want %q", ErrBadEvent, ct, ContentType)
	}
	return Unmarshal(d.Body())
}

func (s *Subscriber) work() {
	defer s.wg.Done()
	for j := range s.jobs {
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			// Not started: back to the queue for another instance.
			_ = j.d.Reject(true)
			continue
		}
		s.handle(j)
		if s.spec.Once {
			go func() { _ = s.Stop(context.Background()) }()
		}
	}
}

func (s *Subscriber) handle(j job) {
	ev, stats := j.ev, &s.bus.stats
	err := s.call(ev)
	if err == nil {
		stats.add(ev.Type, func(c *Counts) { c.Handled++ })
		if aerr := j.d.Ack(); aerr != nil {
			s.bus.log.Warn("events: ack failed; the event will come again", "queue", s.queue.Name, "type", ev.Type, "error", aerr)
		}
		return
	}
	stats.add(ev.Type, func(c *Counts) { c.Failed++ })
	if s.ctx.Err() != nil {
		// Stopped under the handler: back to the queue, not to the floor.
		_ = j.d.Reject(true)
		return
	}
	retry := s.spec.Retry
	if n, ok := ev.RetryCount(); ok {
		retry = n
	}
	retry--
	if retry >= 0 {
		cp := *ev
		cp.Headers = make(map[string]any, len(ev.Headers)+1)
		for k, v := range ev.Headers {
			cp.Headers[k] = v
		}
		cp.Headers[HeaderRetryCount] = retry
		msg, merr := Marshal(&cp)
		// Counted before the copy can be handled, so that metrics never
		// show the copy's fate before its retry.
		stats.add(ev.Type, func(c *Counts) { c.Retried++ })
		if merr == nil {
			ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
			merr = s.bus.backend.Retry(ctx, s.queue.Name, msg)
			cancel()
		}
		if merr != nil {
			// lymph would lose it; put the original back instead.
			stats.add(ev.Type, func(c *Counts) { c.Retried-- })
			s.bus.log.Warn("events: retry publish failed; requeueing", "queue", s.queue.Name, "type", ev.Type, "error", merr)
			_ = j.d.Reject(true)
			return
		}
		s.bus.limiter.log(s.bus.log, "events: handler failed; retrying", "queue", s.queue.Name, "type", ev.Type, "retries_left", retry, "trace_id", ev.TraceID(), "error", err)
	} else {
		stats.add(ev.Type, func(c *Counts) { c.Dropped++ })
		s.bus.limiter.log(s.bus.log, "events: handler failed; dropping the event", "queue", s.queue.Name, "type", ev.Type, "trace_id", ev.TraceID(), "error", err)
	}
	_ = j.d.Reject(false)
}

// call runs the handler, turning a panic into an error.
func (s *Subscriber) call(ev *Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("events: handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return s.handler(s.ctx, ev)
}

// Stop stops consuming: no new event is handed to the handler, events
// received but not started go back to the queue, handlers running get until
// ctx ends (then their context is cancelled; an event whose handler fails
// then goes back to the queue). Stopping twice is not an error.
func (s *Subscriber) Stop(ctx context.Context) error {
	var err error
	// A once handler may stop its subscriber before Subscribe returned.
	<-s.ready
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		c := s.consumer
		s.mu.Unlock()
		if c == nil { // inactive
			s.cancel()
			s.forget()
			return
		}
		err = c.Cancel()
		close(s.jobs)
		finished := make(chan struct{})
		go func() { s.wg.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-ctx.Done():
			s.cancel()
			<-finished
		}
		s.cancel()
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		s.forget()
		close(s.done)
	})
	return err
}

// Waiter waits for the next event of a once subscription (lymph's
// get_next_event).
type Waiter struct {
	sub *Subscriber
	ch  chan *Event
}

// NextEvent subscribes once (a private auto-deleted queue named after
// s.Queue) and returns a Waiter for the first matching event. The queue is
// bound when NextEvent returns, so an event emitted after that is seen.
func (b *Bus) NextEvent(ctx context.Context, s Subscription) (*Waiter, error) {
	s.Once, s.Broadcast, s.Inactive = true, false, false
	w := &Waiter{ch: make(chan *Event, 1)}
	sub, err := b.Subscribe(ctx, s, func(_ context.Context, ev *Event) error {
		w.ch <- ev
		return nil
	})
	if err != nil {
		return nil, err
	}
	w.sub = sub
	return w, nil
}

// Wait returns the event, or ctx's error; either way the subscription
// ends (lymph's EventHandlerTimeout unsubscribes too).
func (w *Waiter) Wait(ctx context.Context) (*Event, error) {
	defer w.Stop()
	select {
	case ev := <-w.ch:
		return ev, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stop gives up waiting.
func (w *Waiter) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = w.sub.Stop(ctx)
}
