package lymph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"

	"github.com/lymphgo/lymph/internal/transport"
	"github.com/lymphgo/lymph/registry"
)

// Container hosts installed interfaces on one endpoint, answers requests for
// them, and sends requests to other services: one lymph instance. Create it
// with NewContainer, Install services, Start it, and Stop it when done.
// Its methods are safe for concurrent use.
type Container struct {
	cfg     config
	logger  *slog.Logger
	level   *slog.LevelVar
	metrics *metrics
	pending pendingCalls

	mu       sync.RWMutex // read-locked on every call and request
	state    containerState
	ifaces   map[string][]*installed             // by name, newest version first
	tr       atomic.Pointer[transport.Transport] // set by Start, kept after Stop
	reg      registry.Registry
	ownReg   bool
	resolver *resolver
	// serveCtx is the parent of every request's context; it ends when Stop
	// gives up waiting for in-flight requests.
	serveCtx    context.Context
	cancelServe context.CancelFunc

	// inflight counts requests being served, so Stop can wait for them.
	// refusals counts the NACKs sent to requests that came while
	// draining, so the transport outlives them; silent is set before
	// waiting for them, so no new one starts.
	workers    *workers
	inflightMu sync.Mutex
	inflight   sync.WaitGroup
	refusals   sync.WaitGroup
	draining   bool
	silent     bool

	ev eventsState // events: see events.go
}

type containerState int

const (
	stateNew containerState = iota
	stateRunning
	stateStopped
)

// installed is one installed interface.
type installed struct {
	name    string
	version string
	semver  *semver.Version
	methods map[string]*method
}

// NewContainer returns a container configured by opts. It binds nothing
// until Start.
func NewContainer(opts ...Option) (*Container, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("lymph: timeout must be positive, got %v", cfg.timeout)
	}
	base := cfg.logger
	if base == nil {
		base = slog.Default()
	}
	level := new(slog.LevelVar)
	c := &Container{
		cfg:     cfg,
		level:   level,
		logger:  slog.New(levelHandler{inner: base.Handler(), level: level}),
		metrics: newMetrics(),
		ifaces:  map[string][]*installed{},
	}
	c.pending.calls = map[string]waiter{}
	c.workers = newWorkers(c.serveCounted)
	c.installBuiltin()
	return c, nil
}

// Install adds svc, a pointer to a struct that embeds lymph.Interface, as an
// interface of the container, named after the container (WithName) unless
// the Name option says otherwise. Its exported methods are examined once,
// here: Install fails, naming each method and the reason, if one does not
// fit the rpc or raw_rpc shape (use Exclude for exported helpers).
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
		o(&cfg)
	}
	if cfg.name == "" {
		return fmt.Errorf("lymph: cannot install %T: no name (use lymph.WithName on the container or lymph.Name here)", svc)
	}
	if cfg.name == builtinName {
		return fmt.Errorf("lymph: cannot install %T: the name %q is the builtin interface's", svc, builtinName)
	}
	methods, err := describeMethods(svc, &cfg)
	if err != nil {
		return err
	}
	if err := c.installEvents(svc, &cfg); err != nil { // events: see events.go
		return err
	}
	inst := &installed{name: cfg.name, version: cfg.version, methods: methods}
	if cfg.version != "" {
		v, err := semver.NewVersion(cfg.version)
		if err != nil {
			return fmt.Errorf("lymph: cannot install %T: version %q: %w", svc, cfg.version, err)
		}
		inst.semver = v
	}
	iface := holder.lymphInterface()
	c.mu.Lock()
	defer c.mu.Unlock()
	if iface.c != nil {
		return fmt.Errorf("lymph: cannot install %T: it is already installed as %q", svc, iface.name)
	}
	if err := c.addInterface(inst); err != nil {
		return err
	}
	iface.c, iface.name, iface.version = c, cfg.name, cfg.version
	if c.state == stateRunning {
		if err := c.register(context.Background(), inst); err != nil {
			c.logger.Error("cannot register interface", "interface", inst.name, "error", err)
		}
	}
	return nil
}

// addInterface keeps versions of one name newest first; the caller holds
// c.mu.
func (c *Container) addInterface(inst *installed) error {
	list := c.ifaces[inst.name]
	for _, other := range list {
		if other.version == inst.version {
			return fmt.Errorf("lymph: interface %q version %q is already installed", inst.name, inst.version)
		}
	}
	for name := range inst.methods {
		c.metrics.serve(inst.name + "." + name)
	}
	list = append(list, inst)
	sort.SliceStable(list, func(i, j int) bool { return newer(list[i], list[j]) })
	c.ifaces[inst.name] = list
	return nil
}

func newer(a, b *installed) bool {
	switch {
	case a.semver == nil:
		return false
	case b.semver == nil:
		return true
	}
	return a.semver.GreaterThan(b.semver)
}

// Start binds the container's endpoint, registers its interfaces (the
// builtin lymph one included) and starts serving.
func (c *Container) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateNew {
		return errors.New("lymph: a container starts once")
	}
	tr, err := transport.Listen(ctx, transport.Options{
		Endpoint:               c.cfg.endpoint,
		Logger:                 c.logger,
		Handler:                c.handle,
		MaxMessageSize:         c.cfg.maxMessageSize,
		SendQueue:              c.cfg.sendQueue,
		BusyPoll:               c.cfg.busyPoll,
		Username:               c.cfg.username,
		Password:               c.cfg.password,
		Credentials:            c.cfg.credentials,
		DisableHeartbeat:       !c.cfg.heartbeat,
		PingInterval:           c.cfg.health.PingInterval,
		UnresponsiveAfter:      c.cfg.health.UnresponsiveAfter,
		IdleAfter:              c.cfg.health.IdleAfter,
		CloseUnresponsiveAfter: c.cfg.health.CloseUnresponsiveAfter,
		CloseIdleAfter:         c.cfg.health.CloseIdleAfter,
	})
	if err != nil {
		return fmt.Errorf("lymph: start: %w", err)
	}
	reg, own, err := c.openRegistry()
	if err != nil {
		tr.Close()
		return fmt.Errorf("lymph: start: %w", err)
	}
	c.tr.Store(tr)
	c.reg, c.ownReg = reg, own
	c.serveCtx, c.cancelServe = context.WithCancel(context.Background())
	c.resolver = newResolver(reg, c.logger)
	c.state = stateRunning
	for _, list := range c.ifaces {
		for _, inst := range list {
			if err := c.register(ctx, inst); err != nil {
				c.state = stateStopped
				var all []*installed
				for _, l := range c.ifaces {
					all = append(all, l...)
				}
				_ = c.shutdown(ctx, all)
				return fmt.Errorf("lymph: start: %w", err)
			}
		}
	}
	if err := c.startEvents(ctx); err != nil { // events: see events.go
		return c.failStart(ctx, err)
	}
	c.logger.Info("container started", "endpoint", tr.Endpoint(), "identity", registry.Identity(tr.Endpoint()))
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
	reg, err := registry.Open(url)
	if err != nil {
		return nil, false, fmt.Errorf("registry %q: %w", url, err)
	}
	return reg, true, nil
}

func (c *Container) instance(inst *installed) registry.Instance {
	identity := c.Identity()
	return registry.Instance{
		ID:       registry.InstanceID(identity, inst.name, inst.version),
		Identity: identity,
		Name:     inst.name,
		Endpoint: c.Endpoint(),
		Version:  inst.version,
	}
}

func (c *Container) register(ctx context.Context, inst *installed) error {
	return c.reg.Register(ctx, c.instance(inst))
}

// Stop stops taking requests (new ones get a NACK), unregisters the
// container's interfaces, waits for requests in flight to finish until ctx
// ends (then cancels their contexts), fails calls still waiting for replies
// with ErrNotRunning, and closes the sockets. It returns ctx's error if it
// had to cut in-flight requests short.
func (c *Container) Stop(ctx context.Context) error {
	c.mu.Lock()
	if c.state != stateRunning {
		c.state = stateStopped
		c.mu.Unlock()
		return nil
	}
	c.state = stateStopped
	var all []*installed
	for _, list := range c.ifaces {
		all = append(all, list...)
	}
	c.mu.Unlock()
	c.stopEvents(ctx) // events: see events.go
	return c.shutdown(ctx, all)
}

// shutdown does Stop's work without holding c.mu: requests in flight still
// look up interfaces and send replies while it waits for them.
func (c *Container) shutdown(ctx context.Context, registered []*installed) error {
	{
		for _, inst := range registered {
			if err := c.reg.Unregister(ctx, c.instance(inst)); err != nil {
				c.logger.Warn("cannot unregister interface", "interface", inst.name, "error", err)
			}
		}
	}

	c.inflightMu.Lock()
	c.draining = true
	c.inflightMu.Unlock()
	drained := make(chan struct{})
	go func() { c.inflight.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		c.logger.Warn("stop: cancelling requests still in flight", "error", err)
	}
	c.cancelServe()
	<-drained // methods that ignore their context are waited for: their replies need the transport
	c.inflightMu.Lock()
	c.silent = true
	c.inflightMu.Unlock()
	c.refusals.Wait()
	c.workers.stop()

	c.pending.failAll(ErrNotRunning)
	c.resolver.close()
	tr := c.tr.Load()
	if cerr := tr.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if c.ownReg {
		if cerr := c.reg.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	c.logger.Info("container stopped", "endpoint", tr.Endpoint())
	return err
}

// Endpoint returns the bound endpoint, tcp://host:port, or "" before Start.
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

// running returns the transport and resolver if the container is running.
func (c *Container) running() (*transport.Transport, *resolver, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tr.Load(), c.resolver, c.state == stateRunning
}

// lookupInterface picks the installed interface for a request: the newest
// version when the request names none, else the newest installed version
// that satisfies it (lymph's rule: same major, at least the asked version).
func (c *Container) lookupInterface(name, version string) *installed {
	c.mu.RLock()
	list := c.ifaces[name]
	c.mu.RUnlock()
	if len(list) == 0 {
		return nil
	}
	if version == "" {
		return list[0]
	}
	want, err := semver.NewVersion(version)
	if err != nil {
		return nil
	}
	for _, inst := range list {
		if inst.semver != nil && inst.semver.Major() == want.Major() && !inst.semver.LessThan(want) {
			return inst
		}
	}
	return nil
}
