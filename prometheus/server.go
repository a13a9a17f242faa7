package prometheus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lymphgo/lymph"
)

// Server serves one container's metrics on http://ADDR/metrics, with a
// registry of its own: what a command's --metrics flag needs.
//
//	srv, err := lymphprom.Listen("127.0.0.1:9100")  // binds now: a taken port fails early
//	c, _ := lymph.NewContainer(lymph.WithInterceptors(srv.Metrics()))
//	srv.Serve(c)
//	defer srv.Close()
type Server struct {
	m   *Metrics
	ln  net.Listener
	srv *http.Server
	log *slog.Logger
}

// Listen binds addr for a Server; opts configure its Metrics.
func Listen(addr string, opts ...Option) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	return &Server{m: New(opts...), ln: ln, log: slog.Default()}, nil
}

// Metrics returns the interceptor to install in the container.
func (s *Server) Metrics() *Metrics { return s.m }

// Addr returns the address the Server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve registers c's metrics and serves them until Close.
func (s *Server) Serve(c *lymph.Container) {
	reg := prom.NewRegistry()
	s.m.MustRegister(reg, c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv := s.srv
	go func() {
		if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "error", err)
		}
	}()
}

// Close stops serving, waiting a moment for scrapes in progress.
func (s *Server) Close() error {
	if s.srv == nil {
		return s.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}
