package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Instance is one running instance of one interface.
type Instance struct {
	// ID is lymph's instance id: see InstanceID. Register fills it in when
	// it is empty.
	ID string
	// Identity is the md5 of the endpoint: see Identity. Register fills it
	// in when it is empty.
	Identity string
	// Name is the interface name, e.g. "echo".
	Name string
	// Endpoint is where the instance listens: tcp://host:port.
	Endpoint string
	// Version is the interface version as semver text ("1.2.0"), or ""
	// when the interface has none.
	Version string
	// Fields holds the record's other JSON fields (log_endpoint, fqdn,
	// hostname, ip, type...). Read ones are kept as decoded; written ones
	// override the defaults Register would write. Treat it as read-only:
	// instances returned by a Registry may share it.
	Fields map[string]any
}

// NewInstance returns the instance of interface name listening at endpoint,
// with its Identity and ID computed and its version in canonical form.
func NewInstance(name, endpoint, version string) (Instance, error) {
	inst := Instance{Name: name, Endpoint: endpoint, Version: version}
	return inst.normalize()
}

// normalize checks inst and fills in what Register may compute. The version
// is stored in canonical form because Python lymph parses it strictly
// ("1.2" would not load there) and hashes that form into the instance id.
func (inst Instance) normalize() (Instance, error) {
	if err := checkName(inst.Name); err != nil {
		return inst, err
	}
	if inst.Endpoint == "" {
		return inst, fmt.Errorf("registry: instance of %q has no endpoint", inst.Name)
	}
	if inst.Version != "" {
		v, err := canonicalVersion(inst.Version)
		if err != nil {
			return inst, err
		}
		inst.Version = v
	}
	if inst.Identity == "" {
		inst.Identity = Identity(inst.Endpoint)
	}
	if inst.ID == "" {
		inst.ID = InstanceID(inst.Identity, inst.Name, inst.Version)
	}
	if err := checkName(inst.ID); err != nil {
		return inst, fmt.Errorf("registry: bad instance id: %w", err)
	}
	return inst, nil
}

// Registry finds the live instances of services and publishes our own.
// All methods are safe for concurrent use.
type Registry interface {
	// Register publishes inst until Unregister or Close (or until this
	// process ends), re-publishing it by itself after the backend lost
	// it (a ZooKeeper session expiry). An instance already published at
	// the same path, by anyone, is replaced. On error nothing stays
	// registered.
	Register(ctx context.Context, inst Instance) error
	// Unregister withdraws an instance this Registry registered; others
	// are left alone. Unregistering twice is not an error.
	Unregister(ctx context.Context, inst Instance) error
	// Lookup returns the live instances of the interface name, sorted by
	// ID; none is an empty result, not an error.
	Lookup(ctx context.Context, name string) ([]Instance, error)
	// Watch sends the current instances of name, then the new set after
	// every change, until ctx ends or Close; then it closes the channel.
	// A slow reader gets the latest set, never a backlog. While the
	// backend is unreachable no set is sent: the last one stays the best
	// knowledge. Watch fails when the first set cannot be read.
	Watch(ctx context.Context, name string) (<-chan []Instance, error)
	// Discover returns the names that have at least one live instance,
	// sorted.
	Discover(ctx context.Context) ([]string, error)
	// Close withdraws everything this Registry registered, ends its
	// watches and releases its connections. Later calls return ErrClosed;
	// closing twice is not an error.
	Close() error
}

// ErrClosed is returned by a Registry used after Close.
var ErrClosed = errors.New("registry: closed")

// ErrUnavailable is wrapped by errors that come from a backend that cannot be
// reached right now (ZooKeeper down, partitioned or its session lost).
var ErrUnavailable = errors.New("registry: unavailable")

// ErrInvalidName is wrapped by errors about a service name or instance id
// that cannot be a path element.
var ErrInvalidName = errors.New("registry: invalid name")

// checkName rejects names that would escape or break the path they become
// part of: /services/NAME/ID in ZooKeeper and on disk.
func checkName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	case strings.ContainsAny(name, "/\x00"), strings.HasPrefix(name, "."):
		return fmt.Errorf("%w: %q (no '/', NUL or leading '.')", ErrInvalidName, name)
	}
	return nil
}

// Option configures Open and FromEnv.
type Option func(*options)

type options struct {
	logger         *slog.Logger
	connectTimeout *time.Duration // nil: the URL's, or the default
}

// WithConnectTimeout sets how long Open waits for a first ZooKeeper
// session when the URL does not say (its connect_timeout); 0 does not
// wait: the registry connects in the background, and calls made before it
// did wait for it up to their contexts. A container opens its registry
// this way, so that it starts and serves while ZooKeeper is down.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) { o.connectTimeout = &d }
}

// WithLogger sends the registry's logs (ZooKeeper's included) to l instead
// of slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

func buildOptions(opts []Option) options {
	o := options{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	return o
}
