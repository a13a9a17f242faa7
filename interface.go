package lymph

import (
	"context"
	"log/slog"
)

// Interface is embedded in a service struct to make it a lymph interface:
//
//	type Echo struct{ lymph.Interface }
//
// Every exported method of the struct that fits one of the two shapes
// described in the package documentation is served as
// "<interface name>.<snake_case method name>". The embedded Interface gives
// the methods access to their container, e.g. to call other services with
// Proxy. Its own methods (Name, Version, Container, Proxy, Logger, Emit,
// Subscribe) are never served.
type Interface struct {
	c       *Container
	name    string
	version string
}

// lymphInterface lets Install find the embedded Interface of any service.
func (i *Interface) lymphInterface() *Interface { return i }

// Name returns the name the interface was installed under.
func (i *Interface) Name() string { return i.name }

// Version returns the interface's version, or "" when it has none.
func (i *Interface) Version() string { return i.version }

// Container returns the container the interface is installed in, or nil
// before Install.
func (i *Interface) Container() *Container { return i.c }

// Proxy returns a proxy to service, as Container.Proxy does (lymph's
// self.proxy). Pass the method's context to its calls so they carry the
// request's trace id.
func (i *Interface) Proxy(service string, opts ...ProxyOption) *Proxy {
	return i.c.Proxy(service, opts...)
}

// Logger returns the container's logger with the trace id of ctx attached.
func (i *Interface) Logger(ctx context.Context) *slog.Logger {
	return i.c.logger.With("interface", i.name, "trace_id", TraceID(ctx))
}

// installOption is an InstallOption made of a function.
type installOption func(*installConfig)

func (f installOption) applyInstall(c *installConfig) { f(c) }

type installConfig struct {
	errs    []error // out-of-range option values, for Install
	name    string
	version string
	raises  map[string][]error
	docs    map[string]string
	exclude map[string]bool

	handlers []handlerDecl // events: see events.go

	limits map[string]int // WithMethodMaxInFlight: see overload.go
}

// handles reports whether the Go method is declared an event handler or a
// task (WithHandler, WithTask): it is then not an RPC method.
func (c *installConfig) handles(goName string) bool {
	for _, h := range c.handlers {
		if h.method == goName {
			return true
		}
	}
	return false
}

// WithVersion installs the interface with a semantic version ("1.2.0");
// by default an interface has none. Several versions of one interface can
// be installed in one container; a request's version header picks among
// them. A version that is not semver is an error from Install.
func WithVersion(version string) InstallOption {
	return installOption(func(c *installConfig) { c.version = version })
}

// WithRaises declares the errors the Go method (by its Go name, e.g.
// "Fail") may raise: lymph's raises. By default a method raises none. A
// returned error that matches one of them goes back as an ERROR reply the
// caller sees as a *RemoteError; any other error goes back as a NACK. Each
// declared error is an *ErrorType (matched with errors.Is, its name is the
// wire type), or a typed nil pointer of an error type, e.g.
// (*NotFoundError)(nil) (matched with errors.As, the type's name is the
// wire type and the error's text the message). A method the service does
// not serve is an error from Install.
func WithRaises(method string, errs ...error) InstallOption {
	return installOption(func(c *installConfig) {
		if c.raises == nil {
			c.raises = map[string][]error{}
		}
		c.raises[method] = append(c.raises[method], errs...)
	})
}

// WithDoc sets the help text lymph inspect shows for the Go method,
// overriding the default, a generated one (see Documented) or none. A
// method the service does not serve is an error from Install.
func WithDoc(method, help string) InstallOption {
	return installOption(func(c *installConfig) {
		if c.docs == nil {
			c.docs = map[string]string{}
		}
		c.docs[method] = help
	})
}

// WithoutMethods keeps the named exported Go methods out of the interface,
// for helpers that are exported but are not RPC methods. By default every
// exported method is served, and Install rejects one whose signature does
// not fit. A name the service has no exported method of is an error from
// Install.
func WithoutMethods(methods ...string) InstallOption {
	return installOption(func(c *installConfig) {
		if c.exclude == nil {
			c.exclude = map[string]bool{}
		}
		for _, m := range methods {
			c.exclude[m] = true
		}
	})
}

// Documented is implemented by services that carry their methods' help
// texts, keyed by Go method name. The lymphdoc generator
// (//go:generate go run github.com/lymphgo/lymph/cmd/lymphdoc -type T) writes
// this method from the methods' doc comments, so the text is written once.
type Documented interface {
	LymphDocs() map[string]string
}
