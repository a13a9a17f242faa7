package lymph

import (
	"context"
	"fmt"
	"reflect"
)

// Starter is implemented by a service that must act when its container
// starts (lymph's on_start): open a database, warm a cache. OnStart runs
// once the endpoint is bound, before the interface is registered, so that
// nobody is sent to it before it is ready; its error fails Start (or
// Install, on a running container).
type Starter interface {
	OnStart(ctx context.Context) error
}

// Stopper is implemented by a service that must act when its container
// stops (lymph's on_stop). OnStop runs when Stop has drained the requests
// in flight, before the sockets close, so it can still call other
// services; its error is logged. ctx is Stop's.
type Stopper interface {
	OnStop(ctx context.Context) error
}

// Configurable is implemented by a service that takes its own section of
// the configuration (lymph's apply_config): at Install, ApplyConfig gets
// the section interfaces.NAME of the container's configuration (see
// FromConfig and WithConfig), or nil when there is none. Its error fails
// Install.
type Configurable interface {
	ApplyConfig(section map[string]any) error
}

// ErrorReport describes a failure the container handled on a caller's
// behalf: a method that panicked or returned an error it did not declare
// (the caller got a NACK), or an event handler that failed.
type ErrorReport struct {
	Subject string // the method's subject, or the event type
	TraceID string
	Err     error  // the error returned, or one describing the panic
	Panic   any    // the panic's value, when it was one
	Stack   []byte // the panicking goroutine's stack
}

// WithErrorHook calls hook for every failure the container handles on a
// caller's behalf (lymph's error_hook), for error reporting such as Sentry.
// The hook runs on the failing request's goroutine and must not block for
// long. By default failures are only logged. A nil hook is an error.
func WithErrorHook(hook func(ctx context.Context, report ErrorReport)) ContainerOption {
	if hook == nil {
		return badContainerOption("WithErrorHook: the hook is nil")
	}
	return containerOption(func(c *config) { c.errorHook = hook })
}

// WithConfig gives the container a configuration read by FromConfig, for
// the sections services take with Configurable, and its container.ip as the
// IP to advertise when the endpoint binds every address (see
// WithAdvertiseIP); by default services get no configuration.
// Config.Options includes it. A nil configuration is an error.
func WithConfig(cfg *Config) ContainerOption {
	if cfg == nil {
		return badContainerOption("WithConfig: the configuration is nil")
	}
	return containerOption(func(c *config) {
		c.interfaceConfig, _ = cfg.Values["interfaces"].(map[string]any)
		c.advertise.configIP = cfg.IP // advertised when binding 0.0.0.0 (advertise.go)
	})
}

// reportError hands a handled failure to the error hook, if any. A hook
// that panics is logged, never allowed to take the request down.
func (c *Container) reportError(ctx context.Context, report ErrorReport) {
	hook := c.cfg.errorHook
	if hook == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.logger.Error("the error hook panicked", "subject", report.Subject, "panic", fmt.Sprint(r))
		}
	}()
	hook(ctx, report)
}

// hookMethods are the methods of the hook interfaces, by name and type:
// a service's method that implements one is a hook, not an RPC.
var hookMethods = func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, t := range []reflect.Type{reflect.TypeFor[Starter](), reflect.TypeFor[Stopper](), reflect.TypeFor[Configurable]()} {
		for i := 0; i < t.NumMethod(); i++ {
			m[t.Method(i).Name] = t.Method(i).Type
		}
	}
	return m
}()

func isHook(name string, typ reflect.Type) bool {
	t, ok := hookMethods[name]
	return ok && t == typ
}

// applyConfig gives a Configurable service its section.
func (c *Container) applyConfig(svc any, name string) error {
	conf, ok := svc.(Configurable)
	if !ok {
		return nil
	}
	section, _ := c.cfg.interfaceConfig[name].(map[string]any)
	if err := conf.ApplyConfig(section); err != nil {
		return fmt.Errorf("lymph: cannot install %T: ApplyConfig: %w", svc, err)
	}
	return nil
}

// startService runs a Starter's OnStart.
func startService(ctx context.Context, inst *installed) error {
	if s, ok := inst.svc.(Starter); ok {
		if err := s.OnStart(ctx); err != nil {
			return fmt.Errorf("interface %q: OnStart: %w", inst.name, err)
		}
	}
	inst.started.Store(true)
	return nil
}

// stopServices runs the OnStop of the Stoppers that started, logging
// their errors.
func (c *Container) stopServices(ctx context.Context) {
	for _, inst := range c.ifaces.Load().all() {
		if s, ok := inst.svc.(Stopper); ok && inst.started.Load() {
			if err := s.OnStop(ctx); err != nil {
				c.logger.Error("OnStop failed", "interface", inst.name, "error", err)
			}
		}
	}
}
