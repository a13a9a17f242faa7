package lymph

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/registry"
)

// DefaultTimeout is how long a call waits for its reply when its context has
// no deadline and its proxy sets no timeout: lymph's default.
const DefaultTimeout = 3 * time.Second

// The option kinds. Each is an interface with an unexported method, so that
// one option value can serve two kinds (connect-go's scheme): WithTimeout is
// an Option, meaningful for a container and for a proxy; WithName is a
// NameOption, meaningful for a container and for Install.
//
// The zero rule, for every option: an option you do not pass leaves its
// default (each option's doc states it); an option you pass sets exactly the
// value given; a value outside its range is an error from NewContainer (a
// ContainerOption), Install (an InstallOption) or every call of the proxy (a
// ProxyOption), never a silent default.

// ContainerOption configures a Container: NewContainer takes them.
type ContainerOption interface{ applyContainer(*config) }

// ProxyOption configures a Proxy: Container.Proxy takes them.
type ProxyOption interface{ applyProxy(*proxyOptions) }

// InstallOption configures one installed interface: Install takes them.
type InstallOption interface{ applyInstall(*installConfig) }

// Option is an option meaningful for both a container and a proxy
// (WithTimeout): given to NewContainer it sets the container's default,
// given to Proxy that proxy's.
type Option interface {
	ContainerOption
	ProxyOption
}

// NameOption is an option meaningful for both a container and Install
// (WithName).
type NameOption interface {
	ContainerOption
	InstallOption
}

// containerOption is a ContainerOption made of a function.
type containerOption func(*config)

func (f containerOption) applyContainer(c *config) { f(c) }

// badContainerOption reports an out-of-range value at NewContainer.
func badContainerOption(format string, args ...any) ContainerOption {
	err := fmt.Errorf("lymph: "+format, args...)
	return containerOption(func(c *config) { c.errs = append(c.errs, err) })
}

type config struct {
	errs           []error // out-of-range option values, for NewContainer
	name           string
	endpoint       string
	logger         *slog.Logger
	registry       registry.Registry
	registryURL    string
	timeout        time.Duration
	maxMessageSize int64
	sendQueue      int
	busyPoll       time.Duration
	separate       bool
	username       string
	password       string
	credentials    map[string]string
	health         health.Config
	stopGrace      time.Duration
	logEndpoint    string // WithLogEndpoint (logendpoint.go), published as log_endpoint
	errorHook      func(context.Context, ErrorReport)
	// interfaceConfig is the configuration's interfaces section (WithConfig).
	interfaceConfig map[string]any
	events          eventsConfig    // see events.go
	interceptors    []Interceptor   // WithInterceptors (interceptor.go)
	maxInFlight     int64           // WithMaxInFlight (overload.go)
	advertise       advertiseConfig // WithAdvertiseIP and co. (advertise.go)
}

// Health sets how the container watches its peers (docs/protocol.md,
// "Heartbeats and health"). A zero field keeps lymph's value.
type Health struct {
	// PingInterval is how often a peer this container calls gets a
	// lymph.ping (1 s); an idle one (only heartbeats lately) is pinged at
	// doubling intervals, up to 8 × PingInterval.
	PingInterval time.Duration
	// UnresponsiveAfter: a peer not heard from for this long is
	// unresponsive, and calls go to other instances first (3 s).
	UnresponsiveAfter time.Duration
	// IdleAfter: a peer that only exchanged heartbeats this long is idle
	// (10 s).
	IdleAfter time.Duration
	// CloseUnresponsiveAfter and CloseIdleAfter: the connection to a peer
	// unresponsive (30 s) or idle (60 s) this long is closed, rather than
	// pinged forever as Python lymph does; the next call reconnects. A
	// negative value means never.
	CloseUnresponsiveAfter, CloseIdleAfter time.Duration
}

// WithHealth sets the heartbeat's timings. The default is lymph's timings,
// the values in Health's field docs; a zero field of h keeps that field's
// default (so that Health{PingInterval: 5 * time.Second} changes one
// timing). A negative PingInterval, UnresponsiveAfter or IdleAfter is an
// error from NewContainer.
func WithHealth(h Health) ContainerOption {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"PingInterval", h.PingInterval}, {"UnresponsiveAfter", h.UnresponsiveAfter}, {"IdleAfter", h.IdleAfter}} {
		if f.d < 0 {
			return badContainerOption("WithHealth: %s is %v; want a positive duration (or 0 for lymph's)", f.name, f.d)
		}
	}
	return containerOption(func(c *config) {
		c.health.PingInterval = h.PingInterval
		c.health.UnresponsiveAfter = h.UnresponsiveAfter
		c.health.IdleAfter = h.IdleAfter
		c.health.CloseUnresponsiveAfter = h.CloseUnresponsiveAfter
		c.health.CloseIdleAfter = h.CloseIdleAfter
	})
}

// DefaultStopGrace is how long Stop keeps serving after unregistering, by
// default: time for callers' registry watches to see the instance leave.
const DefaultStopGrace = time.Second

// WithStopGrace sets how long Stop keeps serving requests after it
// unregistered the container, before it refuses new ones and drains: long
// enough for callers to learn from the registry that it left (their
// watches see it within milliseconds on ZooKeeper and local:), so that a
// rolling restart fails no call. Stop's context bounds it too. A container
// that serves only the builtin interface (a client) has no grace: nobody
// calls it by name. The default is DefaultStopGrace (1 s); 0 is no grace
// (Stop drains at once); a negative grace is an error from NewContainer.
func WithStopGrace(d time.Duration) ContainerOption {
	if d < 0 {
		return badContainerOption("WithStopGrace(%v): the grace cannot be negative (0 is none)", d)
	}
	return containerOption(func(c *config) { c.stopGrace = d })
}

func defaultConfig() config {
	return config{
		endpoint:  "tcp://127.0.0.1:0",
		timeout:   DefaultTimeout,
		stopGrace: DefaultStopGrace,
	}
}

// nameOption is WithName's value: a container's name and an interface's.
type nameOption struct {
	name, version string
	versioned     bool
	err           error
}

func (o nameOption) applyContainer(c *config) {
	switch {
	case o.err != nil:
		c.errs = append(c.errs, fmt.Errorf("lymph: %w", o.err))
	case o.versioned:
		c.errs = append(c.errs, fmt.Errorf("lymph: WithName(%q): a container's name has no version (give WithVersion to Install)", o.name+"@"+o.version))
	default:
		c.name = o.name
	}
}

func (o nameOption) applyInstall(c *installConfig) {
	if o.err != nil {
		c.errs = append(c.errs, o.err)
		return
	}
	c.name = o.name
	if o.versioned {
		c.version = o.version
	}
}

// WithName names the container (given to NewContainer) or one interface
// (given to Install). A container's name is the name its interfaces are
// installed under unless Install is given another; by default a container
// has none, and Install then needs WithName. An interface's name may carry
// its version as lymph writes it: "echo@1.2.0" is WithName("echo") with
// WithVersion("1.2.0"). An empty name is an error.
func WithName(name string) NameOption {
	n, v, versioned := strings.Cut(name, "@")
	o := nameOption{name: n, version: v, versioned: versioned}
	if n == "" {
		o.err = fmt.Errorf("WithName(%q): the name is empty", name)
	}
	return o
}

// WithEndpoint sets the endpoint to bind, tcp://host:port. Port 0 picks a
// free port. The default is tcp://127.0.0.1:0. The container is known by
// tcp://IP:PORT with the bound port, IP being the bind host unless
// WithAdvertiseIP says otherwise: an unspecified host (0.0.0.0, ::) binds
// every address and needs WithAdvertiseIP, WithGuessExternalIP,
// $LYMPH_NODE_IP or container.ip, or NewContainer and Start refuse it. An
// endpoint that is not tcp://host:port is an error from NewContainer.
func WithEndpoint(endpoint string) ContainerOption {
	if err := checkEndpoint(endpoint); err != nil {
		return badContainerOption("WithEndpoint: %v", err)
	}
	return containerOption(func(c *config) { c.endpoint = endpoint })
}

// checkEndpoint checks that endpoint reads tcp://host:port.
func checkEndpoint(endpoint string) error {
	hostPort, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return fmt.Errorf("endpoint %q: want tcp://host:port", endpoint)
	}
	_, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return fmt.Errorf("endpoint %q: want tcp://host:port: %v", endpoint, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("endpoint %q: the port %q is not a number from 0 to 65535", endpoint, port)
	}
	return nil
}

// WithLogger sets the logger; the default is slog.Default(). The container
// filters it by a level that lymph.change_loglevel can change for a while.
// A nil logger is an error.
func WithLogger(l *slog.Logger) ContainerOption {
	if l == nil {
		return badContainerOption("WithLogger: the logger is nil")
	}
	return containerOption(func(c *config) { c.logger = l })
}

// WithRegistry sets the service registry used to register installed
// interfaces and to find services by name. The container does not close it.
// The default is WithRegistryURL's. A nil registry is an error.
func WithRegistry(r registry.Registry) ContainerOption {
	if r == nil {
		return badContainerOption("WithRegistry: the registry is nil")
	}
	return containerOption(func(c *config) { c.registry = r })
}

// WithRegistryURL opens the registry named by url (see package registry for
// the syntax: zookeeper://host:2181/lymph, local:, memory:) at Start and
// closes it at Stop. Without WithRegistry or WithRegistryURL the container
// uses $LYMPH_REGISTRY, or the embedded local registry when that is unset.
// An empty url, or one that does not parse, is an error from NewContainer
// (whether the registry answers is found at Start).
func WithRegistryURL(url string) ContainerOption {
	if url == "" {
		return badContainerOption("WithRegistryURL: the URL is empty")
	}
	if err := registry.CheckURL(url); err != nil {
		return badContainerOption("WithRegistryURL: %v", err)
	}
	return containerOption(func(c *config) { c.registryURL = url })
}

// timeoutOption is WithTimeout's value: a container's default timeout and
// a proxy's.
type timeoutOption time.Duration

func (o timeoutOption) err() error {
	if o <= 0 {
		return fmt.Errorf("lymph: WithTimeout(%v): a timeout must be positive", time.Duration(o))
	}
	return nil
}

func (o timeoutOption) applyContainer(c *config) {
	if err := o.err(); err != nil {
		c.errs = append(c.errs, err)
		return
	}
	c.timeout = time.Duration(o)
}

func (o timeoutOption) applyProxy(p *proxyOptions) {
	if err := o.err(); err != nil {
		p.errs = append(p.errs, err)
		return
	}
	p.timeout = time.Duration(o)
}

// WithTimeout sets how long calls wait for their reply when their context
// has no deadline (a context deadline that comes sooner wins). Given to
// NewContainer it is the default of the container's proxies, DefaultTimeout
// (3 s) unless set; given to Proxy it is that proxy's, the container's
// unless set. A zero or negative timeout is an error (from NewContainer, or
// from every call of the proxy).
func WithTimeout(d time.Duration) Option { return timeoutOption(d) }

// WithMaxMessageSize sets the largest message accepted or sent, in bytes;
// the default is 4 MiB. Larger incoming messages are dropped before they
// are read into memory. A zero or negative size is an error.
func WithMaxMessageSize(n int64) ContainerOption {
	if n <= 0 {
		return badContainerOption("WithMaxMessageSize(%d): the size must be positive", n)
	}
	return containerOption(func(c *config) { c.maxMessageSize = n })
}

// WithSendQueue sets how many messages may wait to be written to one peer;
// a send that finds the queue full waits for room (back pressure) until
// its context ends, then fails with the queue full. The queue holds memory
// for what it holds, not for this bound. The default is 1024. A zero or
// negative queue is an error.
func WithSendQueue(n int) ContainerOption {
	if n <= 0 {
		return badContainerOption("WithSendQueue(%d): the queue must be positive", n)
	}
	return containerOption(func(c *config) { c.sendQueue = n })
}

// WithBusyPoll sets busy polling: the reader of a connection with a few
// calls pending (one to four) polls it for up to d before it sleeps in
// Go's network poller.
// Polling saves the thread wake-up a sleeping reader pays on every
// message, which is most of a sequential round trip between processes on
// a virtual machine, at the price of CPU spent spinning; see the README's
// speed section for what it gains and costs. Nothing polls on a one-CPU
// process (GOMAXPROCS 1). The default is off; 0 is off too; a negative
// duration is an error.
func WithBusyPoll(d time.Duration) ContainerOption {
	if d < 0 {
		return badContainerOption("WithBusyPoll(%v): the duration cannot be negative (0 is off)", d)
	}
	return containerOption(func(c *config) { c.busyPoll = d })
}

// WithSeparateReplies makes the container answer every caller as Python
// lymph does, on a connection of its own dialed to the caller's endpoint,
// and ask the same of the services it calls. By default two lymph-go
// instances agree in the handshake to carry replies on the request's
// connection (half the TCP segments per call; see docs/protocol.md); with
// Python peers nothing changes either way. For comparisons and for
// debugging a mixed mesh.
func WithSeparateReplies() ContainerOption {
	return containerOption(func(c *config) { c.separate = true })
}

// WithPlainLogin makes the container present a ZMTP PLAIN username and
// password when it connects to other instances (what it logs in with; see
// WithPlainUsers for the other side). The default is lymph's NULL
// mechanism, no login. An empty username is an error.
func WithPlainLogin(username, password string) ContainerOption {
	if username == "" {
		return badContainerOption("WithPlainLogin: the username is empty")
	}
	return containerOption(func(c *config) { c.username, c.password = username, password })
}

// WithPlainUsers makes the container require ZMTP PLAIN authentication of
// every peer that connects to it, against these username -> password pairs
// (who may log in; see WithPlainLogin for the other side). The default is
// lymph's NULL mechanism: anyone may connect. Python lymph does not speak
// PLAIN: use it only in an all-Go mesh. No users is an error (nobody could
// connect).
func WithPlainUsers(users map[string]string) ContainerOption {
	if len(users) == 0 {
		return badContainerOption("WithPlainUsers: no users (nobody could connect)")
	}
	return containerOption(func(c *config) { c.credentials = users })
}

// WithoutHeartbeat turns off the lymph.ping to the peers this container calls;
// the default is on. Dead peers are then noticed only when their
// connection breaks.
func WithoutHeartbeat() ContainerOption {
	return containerOption(func(c *config) { c.health.DisablePings = true })
}
