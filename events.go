package lymph

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/lymphgo/lymph/events"
)

// Event is one lymph event as a handler receives it: Type, Body (decode it
// with Decode, as RPC arguments are decoded), Source and Headers.
type Event = events.Event

// EmitOption configures one Emit: WithDelay, or the events package's options.
type EmitOption = events.EmitOption

// WithDelay delivers an emitted event after d (lymph's emit(..., delay=));
// the default is at once.
func WithDelay(d time.Duration) EmitOption { return events.Delay(d) }

// EventOptions are lymph's @event keyword arguments.
type EventOptions struct {
	// Sequential handles one event at a time per instance.
	Sequential bool
	// QueueName replaces the method's snake_case name in the queue name
	// "<interface>-<name>".
	QueueName string
	// Inactive declares the queue and its bindings without consuming
	// (lymph's active=False).
	Inactive bool
	// Once handles one event, then unsubscribes (a private queue).
	Once bool
	// Broadcast gives every instance every event (a private queue each).
	Broadcast bool
	// Retry is how many times a failed event is re-delivered.
	Retry int
}

// handlerDecl is one declared event handler, kept in installConfig.
type handlerDecl struct {
	method string
	types  []string
	opts   EventOptions
	task   bool
}

// WithHandler declares the Go method (by its Go name) as a handler of events
// of the given types (RabbitMQ topic patterns: "a.*" one word, "a.#" zero or
// more): lymph's @lymph.event(*types). The method's shape is
//
//	func (s *T) M(ctx context.Context, ev *lymph.Event) error
//
// ctx carries the event's trace id and ends when the container stops; a
// returned error or a panic is a failure (retried while Retry lasts, then
// dropped and logged). The queue is "<interface>-<snake_case method>", as
// lymph names it, so Go and Python instances of one service share it.
//
// Why an install option and not a naming convention: handlers need their
// event types and options, which a method name cannot carry, and lymph's
// Python declares them beside the method too; the method stays out of RPC.
//
// By default a method handles no events. A method the service does not
// have, or no event types, is an error from Install.
func WithHandler(method string, types ...string) InstallOption {
	return WithHandlerOptions(method, EventOptions{}, types...)
}

// WithHandlerOptions is WithHandler with lymph's @event options
// (WithHandler's are the zero EventOptions: shared queue, concurrent, no
// retry).
func WithHandlerOptions(method string, o EventOptions, types ...string) InstallOption {
	return installOption(func(c *installConfig) {
		c.handlers = append(c.handlers, handlerDecl{method: method, types: types, opts: o})
	})
}

// WithTask declares the Go method as a task (lymph's @lymph.task): it handles
// events of type "lymph.tasks.<interface>.<snake_case method>" in worker
// containers (WithWorker), on the queue "<interface>.worker-<method>". Its
// shape is func (s *T) M(ctx context.Context, ev *lymph.Event) error; lymph
// calls the Python side with the body as keyword arguments, so decode the
// body with ev.Decode(&args). Queue it with Container.ApplyTask. By
// default a method is no task; a method the service does not have is an
// error from Install.
func WithTask(method string, o EventOptions) InstallOption {
	return installOption(func(c *installConfig) {
		c.handlers = append(c.handlers, handlerDecl{method: method, opts: o, task: true})
	})
}

// WithEvents selects the events backend by URL: "amqp://user:pass@host:5672/vhost"
// (RabbitMQ in lymph's layout), "local:" (the embedded default: the
// processes of one machine, no broker) or "memory:" (this process). Without
// it, $LYMPH_EVENTS, else "local:". An empty url is an error.
func WithEvents(url string) ContainerOption {
	if url == "" {
		return badContainerOption("WithEvents: the URL is empty")
	}
	return containerOption(func(c *config) { c.events.url = url })
}

// WithEventBus uses an open events.Bus (e.g. lymphtest's) instead of
// opening WithEvents' URL; the container does not close it. A nil bus is
// an error.
func WithEventBus(b *events.Bus) ContainerOption {
	if b == nil {
		return badContainerOption("WithEventBus: the bus is nil")
	}
	return containerOption(func(c *config) { c.events.bus = b })
}

// WithWorker makes the container a worker (lymph worker): its task handlers
// consume, its event handlers do not. The default is not a worker: event
// handlers consume, task handlers do not.
func WithWorker() ContainerOption { return containerOption(func(c *config) { c.events.worker = true }) }

// eventsConfig is the container's events configuration (in config).
type eventsConfig struct {
	url    string
	bus    *events.Bus
	worker bool
}

// eventsState is the container's event side (in Container).
type eventsState struct {
	mu       sync.Mutex
	bus      *events.Bus
	own      bool
	handlers []boundHandler
	subs     []*events.Subscriber
	started  bool
	stopped  bool
}

type boundHandler struct {
	iface string
	decl  handlerDecl
	fn    func(context.Context, *Event) error
}

var (
	typeOfEventPtr = reflect.TypeFor[*Event]()
	typeOfEventCtx = reflect.TypeFor[context.Context]()
	typeOfEventErr = reflect.TypeFor[error]()
)

// installEvents checks and records the handlers an Install declared; it
// subscribes them now if the container already runs.
func (c *Container) installEvents(svc any, cfg *installConfig) error {
	if len(cfg.handlers) == 0 {
		return nil
	}
	v := reflect.ValueOf(svc)
	var bound []boundHandler
	for _, d := range cfg.handlers {
		m := v.MethodByName(d.method)
		if !m.IsValid() {
			return fmt.Errorf("lymph: cannot install %T: no exported method %q to handle events", svc, d.method)
		}
		t := m.Type()
		if t.NumIn() != 2 || t.In(0) != typeOfEventCtx || t.In(1) != typeOfEventPtr || t.NumOut() != 1 || t.Out(0) != typeOfEventErr {
			return fmt.Errorf("lymph: cannot install %T: event handler %s must be func(context.Context, *lymph.Event) error, is %s", svc, d.method, t)
		}
		if !d.task && len(d.types) == 0 {
			return fmt.Errorf("lymph: cannot install %T: event handler %s has no event types", svc, d.method)
		}
		if d.opts.Once && d.opts.Broadcast {
			return fmt.Errorf("lymph: cannot install %T: event handler %s: once and broadcast exclude each other", svc, d.method)
		}
		fn := m.Interface().(func(context.Context, *Event) error)
		bound = append(bound, boundHandler{iface: cfg.name, decl: d, fn: fn})
	}
	c.ev.mu.Lock()
	c.ev.handlers = append(c.ev.handlers, bound...)
	started := c.ev.started
	c.ev.mu.Unlock()
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, h := range bound {
			if err := c.subscribeHandler(ctx, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventBus returns the container's bus, opening it on first use (so a
// container that neither handles nor emits events never opens one).
func (c *Container) eventBus() (*events.Bus, error) {
	c.ev.mu.Lock()
	defer c.ev.mu.Unlock()
	if c.ev.stopped || !c.ev.started {
		return nil, ErrNotRunning
	}
	if c.ev.bus != nil {
		return c.ev.bus, nil
	}
	if c.cfg.events.bus != nil {
		c.ev.bus = c.cfg.events.bus
		return c.ev.bus, nil
	}
	url := c.cfg.events.url
	if url == "" {
		url = strings.TrimSpace(os.Getenv(events.EnvVar))
	}
	if url == "" {
		url = events.DefaultURL
	}
	b, err := events.Open(url, events.WithLogger(c.logger))
	if err != nil {
		return nil, fmt.Errorf("lymph: events: %w", err)
	}
	c.ev.bus, c.ev.own = b, true
	return b, nil
}

// startEvents subscribes the declared handlers; Start calls it last.
func (c *Container) startEvents(ctx context.Context) error {
	c.ev.mu.Lock()
	c.ev.started = true
	hs := append([]boundHandler(nil), c.ev.handlers...)
	c.ev.mu.Unlock()
	for _, h := range hs {
		if err := c.subscribeHandler(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

func (c *Container) subscribeHandler(ctx context.Context, h boundHandler) error {
	worker := c.cfg.events.worker
	if h.decl.task != worker {
		return nil // tasks consume only in workers, events only outside them (lymph's should_start)
	}
	bus, err := c.eventBus()
	if err != nil {
		return err
	}
	name := h.decl.opts.QueueName
	if name == "" {
		name = snakeCase(h.decl.method)
	}
	s := events.Subscription{
		Queue: h.iface + "-" + name, Types: h.decl.types,
		Sequential: h.decl.opts.Sequential, Once: h.decl.opts.Once, Broadcast: h.decl.opts.Broadcast,
		Inactive: h.decl.opts.Inactive, Retry: h.decl.opts.Retry,
	}
	if h.decl.task {
		s.Queue = h.iface + ".worker-" + name
		s.Types = []string{TaskType(h.iface, h.decl.method)}
	}
	sub, err := bus.Subscribe(ctx, s, c.eventHandler(h.fn))
	if err != nil {
		return fmt.Errorf("lymph: events: %w", err)
	}
	c.ev.mu.Lock()
	c.ev.subs = append(c.ev.subs, sub)
	c.ev.mu.Unlock()
	return nil
}

// eventHandler puts the event's trace id (or a new one, as lymph starts a
// trace) on the handler's context.
func (c *Container) eventHandler(fn func(context.Context, *Event) error) events.Handler {
	return func(ctx context.Context, ev *Event) error {
		id := ev.TraceID()
		if id == "" {
			id = NewTraceID()
		}
		return fn(ContextWithTraceID(ctx, id), ev)
	}
}

// stopEvents stops the handlers (those running get until ctx ends; their
// events then go back to the queue) and closes the bus if it is ours.
func (c *Container) stopEvents(ctx context.Context) {
	c.ev.mu.Lock()
	if c.ev.stopped {
		c.ev.mu.Unlock()
		return
	}
	c.ev.stopped = true
	subs, bus, own := c.ev.subs, c.ev.bus, c.ev.own
	c.ev.subs = nil
	c.ev.mu.Unlock()
	for _, s := range subs {
		if err := s.Stop(ctx); err != nil {
			c.logger.Warn("events: stop", "queue", s.Queue(), "error", err)
		}
	}
	if own && bus != nil {
		_ = bus.Close()
	}
}

// Emit publishes an event of type eventType with body payload, carrying
// ctx's trace id (or a new one) and the container's identity as source.
// It returns nil only when the backend confirmed it.
func (c *Container) Emit(ctx context.Context, eventType string, payload any, opts ...EmitOption) error {
	bus, err := c.eventBus()
	if err != nil {
		return err
	}
	all := append([]EmitOption{events.WithTraceID(traceIDOrNew(ctx)), events.WithSource(c.Identity())}, opts...)
	return bus.Emit(ctx, eventType, payload, all...)
}

// Emit publishes an event, as Container.Emit does (lymph's self.emit).
func (i *Interface) Emit(ctx context.Context, eventType string, payload any, opts ...EmitOption) error {
	if i.c == nil {
		return errNotInstalled
	}
	return i.c.Emit(ctx, eventType, payload, opts...)
}

var errNotInstalled = errors.New("lymph: the interface is not installed in a container")

// TaskType is the event type of a task: "lymph.tasks.<interface>.<snake_case method>".
func TaskType(iface, method string) string {
	return "lymph.tasks." + iface + "." + snakeCase(method)
}

// ApplyTask queues the task method of interface iface with args as its body
// (lymph's self.<task>.apply(**kwargs)).
func (c *Container) ApplyTask(ctx context.Context, iface, method string, args any, opts ...EmitOption) error {
	return c.Emit(ctx, TaskType(iface, method), args, opts...)
}

// Subscribe handles events of the given types at run time (lymph's
// self.subscribe). With o.QueueName the queue is "<interface>-<QueueName>",
// shared by the service's instances; without, it is private to this
// instance ("<interface>-subscribe-<uuid4>", auto-deleted). Stop the
// returned subscriber when done; the container stops it at Stop.
func (i *Interface) Subscribe(ctx context.Context, h func(context.Context, *Event) error, o EventOptions, types ...string) (*events.Subscriber, error) {
	if i.c == nil {
		return nil, errNotInstalled
	}
	bus, err := i.c.eventBus()
	if err != nil {
		return nil, err
	}
	s := events.Subscription{Queue: i.name + "-" + o.QueueName, Types: types, Sequential: o.Sequential, Once: o.Once, Broadcast: o.Broadcast, Retry: o.Retry, Inactive: o.Inactive}
	if o.QueueName == "" {
		s.Queue = i.name + "-subscribe"
		if !s.Once {
			s.Broadcast = true
		}
	}
	sub, err := bus.Subscribe(ctx, s, i.c.eventHandler(h))
	if err != nil {
		return nil, err
	}
	i.c.ev.mu.Lock()
	i.c.ev.subs = append(i.c.ev.subs, sub)
	i.c.ev.mu.Unlock()
	return sub, nil
}

// NextEvent subscribes to the next event of the given types (lymph's
// get_next_event) and returns a waiter: call its Wait with a context. The
// queue is bound when NextEvent returns.
func (i *Interface) NextEvent(ctx context.Context, types ...string) (*events.Waiter, error) {
	if i.c == nil {
		return nil, errNotInstalled
	}
	bus, err := i.c.eventBus()
	if err != nil {
		return nil, err
	}
	return bus.NextEvent(ctx, events.Subscription{Queue: i.name + "-next_event", Types: types})
}

// eventMetrics reports the event counters per type for lymph.get_metrics.
func (c *Container) eventMetrics() []metric {
	c.ev.mu.Lock()
	bus := c.ev.bus
	c.ev.mu.Unlock()
	if bus == nil {
		return nil
	}
	m := bus.Metrics()
	var out []metric
	for _, t := range events.Types(m) {
		n := m[t]
		tags := map[string]any{"type": t}
		for _, kv := range []struct {
			name string
			v    int64
		}{
			{"events.emitted", n.Emitted}, {"events.emit_failed", n.EmitFailed}, {"events.handled", n.Handled},
			{"events.failed", n.Failed}, {"events.retried", n.Retried}, {"events.dropped", n.Dropped}, {"events.rejected", n.Rejected},
		} {
			if kv.v > 0 {
				out = append(out, metric{kv.name, kv.v, tags})
			}
		}
	}
	return out
}
