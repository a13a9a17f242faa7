package lymph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/internal/transport"
	"github.com/lymphgo/lymph/registry"
)

// Container hosts installed interfaces on one endpoint, answers requests for
// them, and sends requests to other services: one lymph instance. Create it
// with NewContainer, Install services, Start it, and Stop it when done.
// Its methods are safe for concurrent use.
//
// No lock of the container is held across a network or registry call: the
// table of installed interfaces is immutable and swapped atomically, and the
// container's phase is one atomic value (see phase).
type Container struct {
	cfg     config
	logger  *slog.Logger
	levels  *levelOverride // lymph.change_loglevel
	metrics *metrics
	pending pendingCalls

	// lifeMu serialises Start, Stop and Install among themselves; the
	// request and call paths never take it.
	lifeMu sync.Mutex
	phase  atomic.Int32 // a phase
	ifaces atomic.Pointer[ifaceTable]

	// Set by Start, before the phase leaves phaseNew, and kept after Stop.
	tr        atomic.Pointer[transport.Transport]
	reg       registry.Registry
	ownReg    bool
	resolver  *resolver
	monitor   *health.Monitor
	registrar *registrar
	// serveCtx is the parent of every request's context; it ends when Stop
	// gives up waiting for in-flight requests.
	serveCtx    context.Context
	cancelServe context.CancelFunc
	// background runs the monitor and the registrar until Stop.
	background       sync.WaitGroup
	cancelBackground context.CancelFunc

	// requests counts requests being served, refusals the NACKs sent
	// while draining: Stop waits for both before closing the transport.
	requests *gate
	refusals *gate
	workers  *workers

	ev eventsState // see events.go

	// The interceptors composed around serving and calling (interceptor.go);
	// nil without interceptors.
	serverChain ServerHandler
	clientChain ClientHandler
	// limited counts the requests in flight under WithMaxInFlight
	// (overload.go).
	limited atomic.Int64
	// stopped is closed when the container has stopped, so that Serve
	// returns when someone else called Stop.
	stopped     chan struct{}
	stoppedOnce sync.Once
	// startDone is closed when Start has finished, well or not, so that a
	// Stop called meanwhile (a signal during a slow start) waits for it
	// rather than leaving a container that goes on serving.
	startDone chan struct{}
}

// NewContainer returns a container configured by opts. It binds nothing
// until Start. An option given a value out of its range (see each option)
// makes it fail, with every such error joined.
func NewContainer(opts ...ContainerOption) (*Container, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("lymph: NewContainer: a nil option")
		}
		o.applyContainer(&cfg)
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	if err := cfg.checkAdvertise(); err != nil {
		return nil, err
	}
	base := cfg.logger
	if base == nil {
		base = slog.Default()
	}
	levels := newLevelOverride()
	c := &Container{
		cfg:       cfg,
		levels:    levels,
		logger:    slog.New(levelHandler{inner: base.Handler(), level: levels.level}),
		metrics:   newMetrics(),
		requests:  newGate(),
		refusals:  newGate(),
		stopped:   make(chan struct{}),
		startDone: make(chan struct{}),
	}
	c.ifaces.Store(emptyTable)
	c.pending.calls = map[string]pendingCall{}
	c.workers = newWorkers(c.serveCounted)
	c.installBuiltin()
	c.buildChains()
	return c, nil
}

func (c *Container) currentPhase() phase { return phase(c.phase.Load()) }

// Install adds svc, a pointer to a struct that embeds lymph.Interface, as an
// interface of the container, named after the container (WithName) unless
// the WithName option says otherwise. Its exported methods are examined
// once, here: Install fails, naming each method and the reason, if one does
// not fit the rpc or raw_rpc shape (use WithoutMethods for exported
// helpers), and if an option names a method the service does not serve or
// has a value out of its range. On a
// running container the interface is served at once and registered, waiting
// for the registry a short while at most (an unreachable registry is
// retried in the background).
func (c *Container) Install(svc any, opts ...InstallOption) error {
	holder, ok := svc.(interface{ lymphInterface() *Interface })
	if !ok {
		return fmt.Errorf("lymph: cannot install %T: it must be a pointer to a struct that embeds lymph.Interface", svc)
	}
	if v := reflect.ValueOf(svc); v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("lymph: cannot install %T: want a non-nil pointer", svc)
	}
	cfg := installConfig{name: c.cfg.name}
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("lymph: cannot install %T: a nil option", svc)
		}
		o.applyInstall(&cfg)
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return fmt.Errorf("lymph: cannot install %T: %w", svc, err)
	}
	if cfg.name == "" {
		return fmt.Errorf("lymph: cannot install %T: no name (use lymph.WithName on the container or here)", svc)
	}
	if cfg.name == builtinName {
		return fmt.Errorf("lymph: cannot install %T: the name %q is the builtin interface's", svc, builtinName)
	}
	inst := &installed{svc: svc, name: cfg.name, version: cfg.version}
	if cfg.version != "" {
		v, err := semver.NewVersion(cfg.version)
		if err != nil {
			return fmt.Errorf("lymph: cannot install %T: version %q: %w", svc, cfg.version, err)
		}
		inst.semver = v
	}
	methods, err := describeMethods(svc, &cfg)
	if err != nil {
		return err
	}
	inst.methods = methods
	if err := applyLimits(svc, methods, &cfg); err != nil { // WithMethodMaxInFlight (overload.go)
		return err
	}
	if err := c.installEvents(svc, &cfg); err != nil {
		return err
	}
	if err := c.applyConfig(svc, cfg.name); err != nil {
		return err
	}
	iface := holder.lymphInterface()

	c.lifeMu.Lock()
	switch p := c.currentPhase(); {
	case p > phaseServing:
		c.lifeMu.Unlock()
		return fmt.Errorf("lymph: cannot install %T: %w (it is %s)", svc, ErrNotRunning, p)
	case iface.c != nil:
		c.lifeMu.Unlock()
		return fmt.Errorf("lymph: cannot install %T: it is already installed as %q", svc, iface.name)
	}
	next, err := c.ifaces.Load().with(inst)
	if err != nil {
		c.lifeMu.Unlock()
		return err
	}
	for name := range inst.methods {
		c.metrics.serve(inst.name + "." + name)
	}
	iface.c, iface.name, iface.version = c, cfg.name, cfg.version
	c.ifaces.Store(next)
	running := c.currentPhase() == phaseServing
	c.lifeMu.Unlock()

	if running {
		if err := startService(context.Background(), inst); err != nil {
			return fmt.Errorf("lymph: installed, but cannot start: %w", err)
		}
		if err := c.registrar.add(context.Background(), c.instance(inst)); err != nil {
			return fmt.Errorf("lymph: installed %q, but cannot register it: %w", inst.name, err)
		}
	}
	return nil
}

// Start binds the container's endpoint, registers its interfaces (the
// builtin lymph one included) and starts serving, until Stop; Serve does
// both around a signal. ctx covers the start only: binding, the services'
// OnStart, the first registration (which waits for the registry a short
// while at most) and connecting the event bus; cancelling it later stops
// nothing. When the registry cannot be reached, Start does not fail: the
// container serves, keeps trying to register in the background, and
// lymph.status says the registration is pending. Start fails for an
// endpoint that binds every address with nothing to advertise (see
// WithAdvertiseIP).
func (c *Container) Start(ctx context.Context) error {
	c.lifeMu.Lock()
	if c.currentPhase() != phaseNew {
		c.lifeMu.Unlock()
		return errors.New("lymph: a container starts once")
	}
	c.phase.Store(int32(phaseStarting))
	c.lifeMu.Unlock()
	defer close(c.startDone)

	if err := c.start(ctx); err != nil {
		c.phase.Store(int32(phaseStopped))
		return fmt.Errorf("lymph: start: %w", err)
	}
	c.lifeMu.Lock()
	c.phase.Store(int32(phaseServing))
	c.lifeMu.Unlock()
	c.logger.Info("container started", "endpoint", c.Endpoint(), "identity", c.Identity(), "bound", c.tr.Load().ListenAddr())
	return nil
}

// start does Start's work; on error it has released what it took.
func (c *Container) start(ctx context.Context) error {
	advertise, err := c.cfg.advertiseHost() // before anything is opened
	if err != nil {
		return err
	}
	reg, own, err := c.openRegistry()
	if err != nil {
		return err
	}
	c.reg, c.ownReg = reg, own
	c.serveCtx, c.cancelServe = context.WithCancel(context.Background())
	c.monitor = health.New(c.cfg.health, prober{c})
	tr, err := transport.Listen(ctx, transport.Options{
		Endpoint:        c.cfg.endpoint,
		AdvertiseHost:   advertise,
		Logger:          c.logger,
		Handler:         c.handle,
		OnPeerDown:      c.peerDown,
		OnPeerUp:        c.monitor.Up,
		MaxMessageSize:  c.cfg.maxMessageSize,
		SendQueue:       c.cfg.sendQueue,
		BusyPoll:        c.cfg.busyPoll,
		SeparateReplies: c.cfg.separate,
		Username:        c.cfg.username,
		Password:        c.cfg.password,
		Credentials:     c.cfg.credentials,
	})
	if err != nil {
		c.cancelServe()
		c.closeRegistry()
		return err
	}
	c.tr.Store(tr)
	c.resolver = newResolver(reg, c.logger)
	c.registrar = newRegistrar(reg, c.logger)
	bg, cancel := context.WithCancel(context.Background())
	c.cancelBackground = cancel
	c.background.Add(2)
	go func() { defer c.background.Done(); c.monitor.Run(bg) }()
	go func() { defer c.background.Done(); c.registrar.run(bg) }()

	all := c.ifaces.Load().all()
	for _, inst := range all {
		if err := startService(ctx, inst); err != nil {
			_ = c.shutdown(ctx, 0)
			return err
		}
	}
	for _, inst := range all {
		if err := c.registrar.add(ctx, c.instance(inst)); err != nil {
			_ = c.shutdown(ctx, 0)
			return err
		}
	}
	if err := c.startEvents(ctx); err != nil {
		_ = c.shutdown(ctx, 0)
		return err
	}
	return nil
}

func (c *Container) openRegistry() (registry.Registry, bool, error) {
	if c.cfg.registry != nil {
		return c.cfg.registry, false, nil
	}
	url := c.cfg.registryURL
	if url == "" {
		url = os.Getenv(registry.EnvVar)
	}
	if url == "" {
		url = registry.DefaultURL
	}
	// A container does not wait for its registry to open: it serves while
	// the registry is down and registers once it answers.
	reg, err := registry.Open(url, registry.WithLogger(c.logger), registry.WithConnectTimeout(0))
	if err != nil {
		return nil, false, fmt.Errorf("registry %q: %w", url, err)
	}
	return reg, true, nil
}

func (c *Container) closeRegistry() error {
	if c.ownReg {
		return c.reg.Close()
	}
	return nil
}

func (c *Container) instance(inst *installed) registry.Instance {
	identity := c.Identity()
	return registry.Instance{
		ID:       registry.InstanceID(identity, inst.name, inst.version),
		Identity: identity,
		Name:     inst.name,
		Endpoint: c.Endpoint(),
		Version:  inst.version,
		Fields:   c.cfg.registryFields(), // tooling: log_endpoint (logendpoint.go)
	}
}

// Stop stops the container gracefully, as a deploy needs:
//
//  1. it unregisters its interfaces and keeps serving for the stop grace
//     (WithStopGrace), while callers' registry watches see it leave;
//  2. it refuses new requests (a NACK whose reason says it is stopping, so
//     a Go caller tries another instance) and waits for requests in flight
//     to finish, until ctx ends (then it cancels their contexts); their
//     own calls to other services keep working meanwhile;
//  3. it fails calls still waiting for replies with ErrNotRunning and
//     closes the sockets, after writing out the replies already sent.
//
// It returns ctx's error if it had to cut in-flight requests short. A Stop
// called while Start is still running waits for Start to finish (or ctx to
// end), then stops what Start started. Calling Stop again, or before
// Start, returns nil.
func (c *Container) Stop(ctx context.Context) error {
	c.lifeMu.Lock()
	p := c.currentPhase()
	if p == phaseStarting {
		c.lifeMu.Unlock()
		select {
		case <-c.startDone:
		case <-ctx.Done():
			return fmt.Errorf("lymph: stop: waiting for Start to finish: %w", ctx.Err())
		}
		c.lifeMu.Lock()
		p = c.currentPhase()
	}
	if p != phaseServing {
		if p == phaseNew {
			c.phase.Store(int32(phaseStopped))
		}
		c.lifeMu.Unlock()
		return nil
	}
	c.phase.Store(int32(phaseLeaving))
	c.lifeMu.Unlock()
	grace := c.cfg.stopGrace
	if !c.ifaces.Load().hasServices() {
		grace = 0 // a pure client: nobody calls it by name
	}
	return c.shutdown(ctx, grace)
}

// shutdown walks the phases from leaving to stopped, serving for grace
// after it unregistered.
func (c *Container) shutdown(ctx context.Context, grace time.Duration) error {
	c.phase.Store(int32(phaseLeaving))
	c.registrar.withdrawAll(ctx)
	if grace > 0 {
		t := time.NewTimer(grace)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}

	c.phase.Store(int32(phaseDraining))
	drained := c.requests.close()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		c.logger.Warn("stop: cancelling requests still in flight", "error", err)
	}
	c.cancelServe()
	<-drained // methods that ignore their context are waited for: their replies need the transport
	c.stopServices(ctx)
	// Event handlers stop last: in-flight requests and OnStop may emit.
	// A handler still running gets until ctx ends; its event then goes
	// back to the queue.
	c.stopEvents(ctx)
	<-c.refusals.close()
	c.workers.stop()

	c.phase.Store(int32(phaseStopped))
	c.pending.failAll(ErrNotRunning)
	c.cancelBackground()
	c.background.Wait()
	c.resolver.close()
	tr := c.tr.Load()
	if cerr := tr.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := c.closeRegistry(); cerr != nil && err == nil {
		err = cerr
	}
	c.levels.stop()
	c.logger.Info("container stopped", "endpoint", tr.Endpoint())
	c.stoppedOnce.Do(func() { close(c.stopped) })
	return err
}

// Endpoint returns the endpoint the container is known by, tcp://IP:PORT:
// the advertised IP (WithAdvertiseIP; the bind host by default) and the
// bound port; "" before Start. It is what the container registers, the
// ZMTP identity it presents to peers and where their replies go.
func (c *Container) Endpoint() string {
	if tr := c.tr.Load(); tr != nil {
		return tr.Endpoint()
	}
	return ""
}

// Identity returns the container's lymph identity: the MD5 of its endpoint,
// as Python lymph computes it; "" before Start.
func (c *Container) Identity() string {
	if ep := c.Endpoint(); ep != "" {
		return registry.Identity(ep)
	}
	return ""
}

// Name returns the container's name (WithName).
func (c *Container) Name() string { return c.cfg.name }

// lookupInterface picks the installed interface for a request.
func (c *Container) lookupInterface(name, version string) *installed {
	return c.ifaces.Load().lookup(name, version)
}
