package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lymphgo/lymph"
	lymphprom "github.com/lymphgo/lymph/prometheus"
)

// metricsServer serves the container's Prometheus metrics on /metrics.
type metricsServer struct {
	m   *lymphprom.Metrics
	srv *http.Server
	ln  net.Listener
}

// newMetricsServer binds addr now, so a taken port fails before the
// service starts.
func newMetricsServer(addr string) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics %s: %w", addr, err)
	}
	return &metricsServer{m: lymphprom.New(), ln: ln}, nil
}

// serve registers c's metrics and serves them until stop.
func (s *metricsServer) serve(c *lymph.Container) {
	reg := prometheus.NewRegistry()
	s.m.MustRegister(reg, c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("metrics server:", err)
		}
	}()
	fmt.Printf("metrics on http://%s/metrics\n", s.ln.Addr())
}

func (s *metricsServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s.srv != nil {
		_ = s.srv.Shutdown(ctx)
	} else {
		s.ln.Close()
	}
}
