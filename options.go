package lymph

import (
	"context"
	"log/slog"
	"time"

	"github.com/lymphgo/lymph/internal/health"
	"github.com/lymphgo/lymph/registry"
)

// DefaultTimeout is how long a call waits for its reply when its context has
// no deadline and its proxy sets no timeout: lymph's default.
const DefaultTimeout = 3 * time.Second

// Option configures a Container.
type Option func(*config)

type config struct {
	name           string
	endpoint       string
	logger         *slog.Logger
	registry       registry.Registry
	registryURL    string
	timeout        time.Duration
	maxMessageSize int64
	sendQueue      int
	busyPoll       time.Duration
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
	// PingInterval is how often every peer gets a lymph.ping (1 s).
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

// WithHealth sets the heartbeat's timings.
func WithHealth(h Health) Option {
	return func(c *config) {
		c.health.PingInterval = h.PingInterval
		c.health.UnresponsiveAfter = h.UnresponsiveAfter
		c.health.IdleAfter = h.IdleAfter
		c.health.CloseUnresponsiveAfter = h.CloseUnresponsiveAfter
		c.health.CloseIdleAfter = h.CloseIdleAfter
	}
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
// calls it by name. The default is DefaultStopGrace; 0 or less stops at
// once.
func WithStopGrace(d time.Duration) Option {
	return func(c *config) { c.stopGrace = max(d, 0) }
}

func defaultConfig() config {
	return config{
		endpoint:  "tcp://127.0.0.1:0",
		timeout:   DefaultTimeout,
		stopGrace: DefaultStopGrace,
	}
}

// WithName sets the container's name: the name an interface is installed
// under unless Install is given another.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithEndpoint sets the endpoint to bind, tcp://host:port. Port 0 picks a
// free port. The default is tcp://127.0.0.1:0. The container is known by
// tcp://IP:PORT with the bound port, IP being the bind host unless
// WithAdvertiseIP says otherwise: an unspecified host (0.0.0.0, ::) binds
// every address and needs WithAdvertiseIP, WithGuessExternalIP,
// $LYMPH_NODE_IP or container.ip, or NewContainer and Start refuse it.
func WithEndpoint(endpoint string) Option { return func(c *config) { c.endpoint = endpoint } }

// WithLogger sets the logger; the default is slog.Default(). The container
// filters it by a level that lymph.change_loglevel can change for a while.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithRegistry sets the service registry used to register installed
// interfaces and to find services by name. The container does not close it.
func WithRegistry(r registry.Registry) Option { return func(c *config) { c.registry = r } }

// WithRegistryURL opens the registry named by url (see package registry for
// the syntax: zookeeper://host:2181/lymph, local:, memory:) at Start and
// closes it at Stop. Without WithRegistry or WithRegistryURL the container
// uses $LYMPH_REGISTRY, or the embedded local registry when that is unset.
func WithRegistryURL(url string) Option { return func(c *config) { c.registryURL = url } }

// WithTimeout sets the default timeout of calls whose context has no
// deadline (DefaultTimeout unless set).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxMessageSize sets the largest message accepted or sent, in bytes.
// Larger incoming messages are dropped before they are read into memory.
func WithMaxMessageSize(n int64) Option { return func(c *config) { c.maxMessageSize = n } }

// WithSendQueue sets how many messages may wait to be written to one peer;
// past it, sends to that peer fail at once instead of piling up.
func WithSendQueue(n int) Option { return func(c *config) { c.sendQueue = n } }

// WithBusyPoll turns busy polling on: the reader of a connection with
// calls pending polls it for up to d before it sleeps in Go's network
// poller. Polling saves the thread wake-up a sleeping reader pays on every
// message, which is most of a sequential round trip between processes on
// a virtual machine, at the price of CPU spent spinning; see the README's
// speed section for what it gains and costs. Nothing polls on a one-CPU
// process (GOMAXPROCS 1). The default is off; 0 or less keeps it off.
func WithBusyPoll(d time.Duration) Option {
	return func(c *config) { c.busyPoll = max(d, 0) }
}

// WithPlainAuth makes the container present a ZMTP PLAIN username and
// password when it connects to other instances. The default is lymph's NULL
// mechanism.
func WithPlainAuth(username, password string) Option {
	return func(c *config) { c.username, c.password = username, password }
}

// WithPlainCredentials makes the container require ZMTP PLAIN
// authentication of every peer that connects to it, against these
// username -> password pairs. Python lymph does not speak PLAIN: use it only
// in an all-Go mesh.
func WithPlainCredentials(credentials map[string]string) Option {
	return func(c *config) { c.credentials = credentials }
}

// WithoutHeartbeat turns off the once-a-second lymph.ping to every peer.
// Dead peers are then noticed only when their connection breaks.
func WithoutHeartbeat() Option { return func(c *config) { c.health.DisablePings = true } }
