// Package lymphhttp runs any http.Handler as a lymph web interface: the
// HTTP side of a service, registered where lymph's tools and balancers look
// for it (/http/NAME/INSTANCE_ID with {id, identity, version, hostname, ip,
// http_port}, lymph/web/interfaces.py), with lymph's health endpoint and
// trace ids. It is an adapter, not a web framework: routing, middleware and
// everything else stay the handler's.
//
//	web := lymphhttp.New(c, "shop", mux, lymphhttp.WithRegistry(reg))
//	if err := web.Start(ctx); err != nil { ... } // after c.Start
//	defer web.Stop(context.Background())
//
// Each request's context carries its trace id (lymph.TraceID(r.Context())),
// so the calls a handler makes with it continue the trace; it is taken from
// the request header named by WithTraceHeader (lymph's
// tracing.request_header; none by default, so a new id per request) and
// returned in X-Trace-Id (tracing.response_header).
package lymphhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/registry"
)

// Defaults, lymph's.
const (
	DefaultHealthPath     = "/_health/"
	DefaultResponseHeader = "X-Trace-Id"
)

// Interface is one web interface of a container.
type Interface struct {
	c    *lymph.Container
	name string
	h    http.Handler
	cfg  config

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	web    registry.WebInstance
	served chan struct{} // closed when Serve returned
}

type config struct {
	addr           string
	reg            registry.Registry
	version        string
	requestHeader  string
	responseHeader string
	healthPath     string
	health         func(context.Context) error
	logger         *slog.Logger
}

// Option configures an Interface.
type Option func(*config)

// WithAddress sets the listen address, host:port; port 0 (the default,
// on the container's IP) picks a free port.
func WithAddress(addr string) Option { return func(c *config) { c.addr = addr } }

// WithRegistry sets the registry to publish the interface in; it must hold
// lymph's http namespace (registry.WebRegistry: ZooKeeper, memory:).
// Without it the interface serves but is not registered.
func WithRegistry(r registry.Registry) Option { return func(c *config) { c.reg = r } }

// WithVersion sets the interface version published.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithTraceHeader names the request header to take the trace id from
// (lymph's tracing.request_header), and the response header to return it
// in ("" keeps X-Trace-Id).
func WithTraceHeader(request, response string) Option {
	return func(c *config) {
		c.requestHeader = request
		if response != "" {
			c.responseHeader = response
		}
	}
}

// WithHealth sets the health endpoint's path ("" turns it off, lymph's
// healthcheck.enabled: false) and its check: a nil error answers 200, an
// error 503. The default check always passes, as lymph's is_healthy.
func WithHealth(path string, check func(context.Context) error) Option {
	return func(c *config) {
		c.healthPath = path
		if check != nil {
			c.health = check
		}
	}
}

// WithLogger sets the logger for each request's "METHOD path" line (at
// debug; lymph logs it at info) and for failures.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// New returns the web interface name of container c, serving h.
func New(c *lymph.Container, name string, h http.Handler, opts ...Option) *Interface {
	cfg := config{
		responseHeader: DefaultResponseHeader,
		healthPath:     DefaultHealthPath,
		health:         func(context.Context) error { return nil },
		logger:         slog.Default(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	return &Interface{c: c, name: name, h: h, cfg: cfg}
}

// Handler returns h wrapped with lymph's health endpoint and trace ids:
// what Start serves, for tests (httptest) or a server of your own.
func (i *Interface) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		if i.cfg.requestHeader != "" {
			id = strings.TrimSpace(r.Header.Get(i.cfg.requestHeader))
			if !validTraceID(id) {
				id = ""
			}
		}
		if id == "" {
			id = lymph.NewTraceID()
		}
		w.Header().Set(i.cfg.responseHeader, id)
		ctx := lymph.ContextWithTraceID(r.Context(), id)
		i.cfg.logger.DebugContext(ctx, r.Method+" "+r.URL.Path, "interface", i.name, "trace_id", id)
		if i.cfg.healthPath != "" && r.URL.Path == i.cfg.healthPath {
			if err := i.cfg.health(ctx); err != nil {
				http.Error(w, "unhealthy", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		i.h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validTraceID accepts what lymph sends (32 hex characters) and any short
// token without spaces; anything else gets a new id.
func validTraceID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// Start listens, serves and registers the interface. The container must
// be running: its identity and IP go into the record.
func (i *Interface) Start(ctx context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.srv != nil {
		return errors.New("lymphhttp: already started")
	}
	identity := i.c.Identity()
	if identity == "" {
		return errors.New("lymphhttp: start the container first")
	}
	ip := endpointHost(i.c.Endpoint())
	addr := i.cfg.addr
	if addr == "" {
		addr = net.JoinHostPort(ip, "0")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("lymphhttp: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if host, _, _ := net.SplitHostPort(addr); host != "" && !net.ParseIP(host).IsUnspecified() {
		ip = host
	}
	hostname, _ := os.Hostname()
	web := registry.WebInstance{Name: i.name, Identity: identity, Version: i.cfg.version, Hostname: hostname, IP: ip, HTTPPort: port}
	srv := &http.Server{Handler: i.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return context.Background() }}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			i.cfg.logger.Error("lymphhttp: serving failed", "interface", i.name, "error", err)
		}
	}()
	if i.cfg.reg != nil {
		wr, ok := i.cfg.reg.(registry.WebRegistry)
		if !ok {
			_ = srv.Close()
			<-served
			return fmt.Errorf("lymphhttp: registry %T has no http namespace (use ZooKeeper or memory:)", i.cfg.reg)
		}
		if err := wr.RegisterWeb(ctx, web); err != nil {
			_ = srv.Close()
			<-served
			return fmt.Errorf("lymphhttp: registering %s: %w", i.name, err)
		}
	}
	i.srv, i.ln, i.web, i.served = srv, ln, web, served
	return nil
}

// Addr returns the address served, host:port, once started.
func (i *Interface) Addr() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.ln == nil {
		return ""
	}
	return net.JoinHostPort(i.web.IP, strconv.Itoa(i.web.HTTPPort))
}

// Stop unregisters the interface, then shuts the server down, letting
// requests in flight finish until ctx ends.
func (i *Interface) Stop(ctx context.Context) error {
	i.mu.Lock()
	srv, web, served := i.srv, i.web, i.served
	i.srv, i.ln = nil, nil
	i.mu.Unlock()
	if srv == nil {
		return nil
	}
	var errs []error
	if wr, ok := i.cfg.reg.(registry.WebRegistry); ok {
		errs = append(errs, wr.UnregisterWeb(ctx, web))
	}
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, err, srv.Close())
	}
	<-served
	return errors.Join(errs...)
}

// endpointHost is the host of tcp://host:port.
func endpointHost(endpoint string) string {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(endpoint, "tcp://"))
	if err != nil {
		return "127.0.0.1"
	}
	return host
}
