package lymph

import (
	"context"
	"log/slog"
	"strings"
)

// Interface is embedded in a service struct to make it a lymph interface:
//
//	type Echo struct{ lymph.Interface }
//
// Every exported method of the struct that fits one of the two shapes
// described in the package documentation is served as
// "<interface name>.<snake_case method name>". The embedded Interface gives
// the methods access to their container, e.g. to call other services with
// Proxy. Its own methods (Name, Version, Container, Proxy, Request, Logger)
// are never served.
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

// Proxy returns a proxy to the service at address, as Container.Proxy does
// (lymph's self.proxy). Pass the method's context to its calls so they
// carry the request's trace id.
func (i *Interface) Proxy(address string, opts ...ProxyOption) *Proxy {
	return i.c.Proxy(address, opts...)
}

// Request sends one request, as Container.Request does.
func (i *Interface) Request(ctx context.Context, address, subject string, args any) (*Message, error) {
	return i.c.Request(ctx, address, subject, args)
}

// Logger returns the container's logger with the trace id of ctx attached.
func (i *Interface) Logger(ctx context.Context) *slog.Logger {
	return i.c.logger.With("interface", i.name, "trace_id", TraceID(ctx))
}

// InstallOption configures one installed interface.
type InstallOption func(*installConfig)

type installConfig struct {
	name    string
	version string
	raises  map[string][]error
	docs    map[string]string
	exclude map[string]bool

	handlers []handlerDecl // events: see events.go

	limits map[string]int // MaxInFlight: see overload.go
}

// Name installs the interface under name instead of the container's name.
// A version may follow the name, as lymph writes it: "echo@1.2.0" is
// Name("echo") with Version("1.2.0").
func Name(name string) InstallOption {
	return func(c *installConfig) {
		n, v, versioned := strings.Cut(name, "@")
		c.name = n
		if versioned {
			c.version = v
		}
	}
}

// Version installs the interface with a semantic version ("1.2.0"). Several
// versions of one interface can be installed in one container; a request's
// version header picks among them.
func Version(version string) InstallOption {
	return func(c *installConfig) { c.version = version }
}

// Raises declares the errors the Go method (by its Go name, e.g. "Fail") may
// raise: lymph's raises. A returned error that matches one of them goes back
// as an ERROR reply the caller sees as a *RemoteError; any other error goes
// back as a NACK. Each declared error is an *ErrorType (matched with
// errors.Is, its name is the wire type), or a typed nil pointer of an error
// type, e.g. (*NotFoundError)(nil) (matched with errors.As, the type's name
// is the wire type and the error's text the message).
func Raises(method string, errs ...error) InstallOption {
	return func(c *installConfig) {
		if c.raises == nil {
			c.raises = map[string][]error{}
		}
		c.raises[method] = append(c.raises[method], errs...)
	}
}

// Doc sets the help text lymph inspect shows for the Go method, overriding a
// generated one (see Documented).
func Doc(method, help string) InstallOption {
	return func(c *installConfig) {
		if c.docs == nil {
			c.docs = map[string]string{}
		}
		c.docs[method] = help
	}
}

// Exclude keeps the named exported Go methods out of the interface, for
// helpers that are exported but are not RPC methods. Without it, Install
// rejects an exported method whose signature does not fit.
func Exclude(methods ...string) InstallOption {
	return func(c *installConfig) {
		if c.exclude == nil {
			c.exclude = map[string]bool{}
		}
		for _, m := range methods {
			c.exclude[m] = true
		}
	}
}

// Documented is implemented by services that carry their methods' help
// texts, keyed by Go method name. The lymphdoc generator
// (//go:generate go run github.com/lymphgo/lymph/cmd/lymphdoc -type T) writes
// this method from the methods' doc comments, so the text is written once.
type Documented interface {
	LymphDocs() map[string]string
}
