package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph"
	lymphprom "github.com/lymphgo/lymph/prometheus"
	"github.com/lymphgo/lymph/registry"
)

// defaultTimeout is the Python lymph tool's default for --timeout.
const defaultTimeout = 2 * time.Second

// stopTimeout bounds how long the CLI's container may take to stop.
const stopTimeout = 2 * time.Second

// openRegistry opens the registry the global flags select.
func (a *app) openRegistry() (registry.Registry, registrySource, error) {
	src, err := resolveRegistry(a.registryURL, a.configFile)
	if err != nil {
		return nil, src, err
	}
	reg, err := registry.Open(src.url, registry.WithLogger(a.logger))
	if err != nil {
		if src.from != "default" {
			err = fmt.Errorf("%w (registry URL from %s)", err, src.from)
		}
		return nil, src, err
	}
	return reg, src, nil
}

// client is the CLI's own lymph instance: one container, started for one
// command run, that sends every request of the run over connections it
// keeps open.
type client struct {
	c       *lymph.Container
	reg     registry.Registry
	src     registrySource
	metrics *lymphprom.Server // --metrics; nil without
}

// startClient opens the registry and starts a container that can call
// services but does not publish itself (see lookupOnly). Its endpoint is
// --ip with a free port: the address the services reply to. A command sent
// to a tcp:// address needs no registry: when the registry cannot be
// opened (say the config names one this tool cannot use), it runs with an
// empty one of its own.
func (a *app) startClient(ctx context.Context, address string) (*client, error) {
	reg, src, err := a.openRegistry()
	if err != nil && strings.HasPrefix(address, "tcp://") {
		a.logger.Debug("no usable registry; none is needed for an endpoint", "error", err)
		src = registrySource{"memory:", "none needed"}
		reg, err = registry.Open(src.url, registry.WithLogger(a.logger))
	}
	if err != nil {
		return nil, err
	}
	host := a.ip
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	opts := []lymph.ContainerOption{
		lymph.WithEndpoint("tcp://" + host + ":0"),
		lymph.WithRegistry(lookupOnly{reg}),
		lymph.WithLogger(a.logger),
		// Heartbeats help long-lived instances pick live peers; a
		// command that lives for one request only adds pings to the
		// service's traffic (and to a load test's numbers).
		lymph.WithoutHeartbeat(),
	}
	var metrics *lymphprom.Server
	if a.metricsAddr != "" {
		if metrics, err = lymphprom.Listen(a.metricsAddr); err != nil {
			reg.Close()
			return nil, inputErrorf("--metrics: %v", err)
		}
		opts = append(opts, lymph.WithInterceptors(metrics.Metrics()))
	}
	c, err := lymph.NewContainer(opts...)
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		if metrics != nil {
			metrics.Close()
		}
		reg.Close()
		return nil, fmt.Errorf("cannot start the client on %s: %w", host, err)
	}
	if metrics != nil {
		metrics.Serve(c)
		a.logger.Info("serving metrics", "url", "http://"+metrics.Addr()+"/metrics")
	}
	return &client{c: c, reg: reg, src: src, metrics: metrics}, nil
}

// close stops the container, then closes the registry it used.
func (cl *client) close() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	_ = cl.c.Stop(ctx)
	_ = cl.reg.Close()
	if cl.metrics != nil {
		_ = cl.metrics.Close()
	}
}

// target is where a request goes: the subject, the interface version asked
// for, and the address, a service name or a tcp:// endpoint.
type target struct {
	subject string
	version string
	address string
	timeout time.Duration // for each call, lookup included
}

func (t target) isEndpoint() bool { return strings.HasPrefix(t.address, "tcp://") }

// lookupGrace is how much longer than --timeout a call may spend, its
// registry lookup included, before the context gives up. The reply timeout
// itself is the proxy's, exactly --timeout, so that the Future reports it
// (ErrTimeout) rather than a context deadline racing with it.
const lookupGrace = time.Second

// caller returns the function that sends one request to t, built once so a
// load run repeats only the send: the proxy (and so its round-robin state
// and resolved instances) is shared by every request.
//
// Where the request goes is t.address: the instances of a service (of
// t.version when one is asked), or one endpoint; what it calls is the
// subject's interface. The library's proxy keeps the two apart, so a
// version picks the service's instances and goes out as the version header
// only when the subject is the service's own interface: lymph.status of an
// "echo@1.2" instance asks no version of the builtin interface.
func (cl *client) caller(t target) func(ctx context.Context, args any) (*lymph.Message, error) {
	timeout := t.timeout
	i := strings.LastIndexByte(t.subject, '.') // the subject was checked: i > 0
	iface, method := t.subject[:i], t.subject[i+1:]
	var p *lymph.Proxy
	if t.isEndpoint() {
		p = cl.c.Proxy(versioned(iface, t.version), lymph.WithInstance(t.address), lymph.WithTimeout(timeout))
	} else {
		p = cl.c.Proxy(versioned(t.address, t.version), lymph.WithTimeout(timeout)).Interface(iface)
	}
	return func(ctx context.Context, args any) (*lymph.Message, error) {
		callCtx, cancel := context.WithTimeout(ctx, timeout+lookupGrace)
		defer cancel()
		return p.Defer(callCtx, method, args).Message(ctx)
	}
}

// versioned is name@version, or name without a version.
func versioned(name, version string) string {
	if version == "" {
		return name
	}
	return name + "@" + version
}

// callErr wraps a failed call with what the user needs to find it.
func (cl *client) callErr(t target, msg *lymph.Message, traceID string, err error) error {
	ce := &callError{subject: t.subject, traceID: traceID, err: err}
	if msg != nil {
		ce.source = msg.Source
		// A Go server says why it refused, in a header Python ignores.
		ce.reason, _ = msg.Header("nack_reason").(string)
		if id := msg.TraceID(); id != "" {
			ce.traceID = id
		}
	}
	ce.timeout = t.timeout
	if exitCode(err) == exitLookup && !t.isEndpoint() {
		ce.hint = "registry " + cl.src.url
		if c, perr := registry.ParseConstraint(t.version); perr == nil && !c.IsZero() {
			ce.hint = fmt.Sprintf("version %s wanted; %s", c, ce.hint)
		}
	}
	return ce
}

// parseAddress checks an ADDRESS argument: a service name (with an optional
// @version) or tcp://host:port.
func parseAddress(s string) (address, version string, err error) {
	if rest, ok := strings.CutPrefix(s, "tcp://"); ok {
		host, port, err := net.SplitHostPort(rest)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n <= 0 || n > 65535 {
			return "", "", usageErrorf("bad endpoint %q: want tcp://host:port", s)
		}
		return s, "", nil
	}
	if strings.Contains(s, "://") {
		return "", "", usageErrorf("bad address %q: want a service name (echo, echo@1.2) or tcp://host:port", s)
	}
	name, version := registry.SplitVersionedName(s)
	if name == "" || strings.ContainsAny(name, "/ \t\n") || strings.HasPrefix(name, ".") {
		return "", "", usageErrorf("bad service name %q", s)
	}
	if _, err := registry.ParseConstraint(version); err != nil {
		return "", "", usageErrorf("bad version in %q: want e.g. echo@1.2", s)
	}
	return name, version, nil
}

// addTimeoutFlag adds --timeout in seconds, as lymph's tool takes it.
func addTimeoutFlag(cmd *cobra.Command, dst *float64) {
	cmd.Flags().Float64Var(dst, "timeout", defaultTimeout.Seconds(), "seconds to wait for each reply")
}

func timeoutOf(seconds float64) (time.Duration, error) {
	if !(seconds > 0) || seconds > 24*3600 {
		return 0, usageErrorf("--timeout %v: want a positive number of seconds, e.g. --timeout=0.5", seconds)
	}
	return time.Duration(seconds * float64(time.Second)), nil
}
