package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lymphgo/lymph"
)

// env is what every scenario runs in: the temp dir, the binaries, the
// process group, the private ZooKeeper and a probe container that asks
// servers for lymph.get_metrics.
type env struct {
	ctx   context.Context
	short bool
	dir   string
	self  string // this binary: its "load" subcommand is the driver
	echo  string // examples/echo, built once
	g     *group
	zk    *zookeeper
	probe *lymph.Container
	zkUp  bool
	nets  []string // network namespaces to delete at the end
}

// pick returns the short (CI) or the full value.
func pick[T any](e *env, short, full T) T {
	if e.short {
		return short
	}
	return full
}

// localRegistry is a local: registry of the scenario's own.
func (e *env) localRegistry(scenario string) string {
	return "local://" + filepath.Join(e.dir, "reg-"+scenario)
}

// freePort finds a loopback port nobody listens on; servers keep theirs
// across restarts.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// server is one echo instance on a fixed endpoint.
type server struct {
	e        *env
	endpoint string
	registry string
	netns    string // network namespace to run in ("": the suite's own)
	p        *proc
}

func (e *env) newServer(registry string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &server{e: e, endpoint: fmt.Sprintf("tcp://127.0.0.1:%d", port), registry: registry}, nil
}

// start runs it and waits until it says it serves (it is registered then).
func (s *server) start() error {
	if err := s.launch(); err != nil {
		return err
	}
	return s.ready(20 * time.Second)
}

func (s *server) launch() error {
	bin, args := s.e.echo, []string{"serve", "--endpoint", s.endpoint, "--registry", s.registry}
	if s.netns != "" {
		bin, args = "ip", append([]string{"netns", "exec", s.netns, bin}, args...)
	}
	p, err := s.e.g.start("echo", bin, args...)
	if err != nil {
		return err
	}
	s.p = p
	return nil
}

func (s *server) ready(d time.Duration) error {
	if _, err := s.p.waitLine(s.e.ctx, "echo serving on", d); err != nil {
		return err
	}
	s.p.drain()
	return nil
}

func (s *server) hostPort() string { return strings.TrimPrefix(s.endpoint, "tcp://") }

func (s *server) usage() usage {
	u, _ := readUsage(s.p.pid())
	return u
}

// servers starts n echo instances on one registry.
func (e *env) servers(n int, registry string) ([]*server, error) {
	out := make([]*server, n)
	for i := range out {
		s, err := e.newServer(registry)
		if err != nil {
			return nil, err
		}
		if err := s.start(); err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// driver starts a load driver and waits until it is ready (warmed up).
func (e *env) driver(args ...string) (*proc, error) {
	return e.driverIn("", args...)
}

// driverIn is driver in a network namespace ("" for the suite's own).
func (e *env) driverIn(netns string, args ...string) (*proc, error) {
	bin, args := e.self, append([]string{"load"}, args...)
	if netns != "" {
		bin, args = "ip", append([]string{"netns", "exec", netns, bin}, args...)
	}
	p, err := e.g.start("load", bin, args...)
	if err != nil {
		return nil, err
	}
	if _, err := p.waitLine(e.ctx, "ready", 30*time.Second); err != nil {
		return nil, err
	}
	return p, nil
}

// result waits (up to d) for a driver's JSON result.
func (e *env) result(p *proc, d time.Duration) (*Result, error) {
	line, err := p.waitLine(e.ctx, "{", d)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return nil, fmt.Errorf("driver result: %w", err)
	}
	p.waitExit(5 * time.Second)
	return &r, nil
}

// run starts a driver and returns its result.
func (e *env) run(d time.Duration, args ...string) (*Result, error) {
	p, err := e.driver(args...)
	if err != nil {
		return nil, err
	}
	return e.result(p, d)
}

// sleepUntil sleeps until t or until the suite is interrupted.
func (e *env) sleepUntil(t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-e.ctx.Done():
		return e.ctx.Err()
	}
}

// startProbe starts the container that calls servers' builtin interface.
func (e *env) startProbe() error {
	c, err := lymph.NewContainer(lymph.WithName("faults-probe"), lymph.WithEndpoint("tcp://127.0.0.1:0"),
		lymph.WithRegistryURL("memory:faults-probe"), lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return err
	}
	if err := c.Start(e.ctx); err != nil {
		return err
	}
	e.probe = c
	return nil
}

// metrics calls lymph.get_metrics on one server.
func (e *env) metrics(endpoint string) ([]any, error) {
	ctx, cancel := context.WithTimeout(e.ctx, 2*time.Second)
	defer cancel()
	var out []any
	err := e.probe.Proxy("lymph", lymph.WithInstance(endpoint)).Call(ctx, "get_metrics", nil, &out)
	return out, err
}

// metricValue sums the metrics called name whose tag key has value val
// (any tags when key is ""); ok is false when none is there.
func metricValue(metrics []any, name, key, val string) (float64, bool) {
	var sum float64
	found := false
	for _, m := range metrics {
		fields, isList := m.([]any)
		if !isList || len(fields) != 3 || fields[0] != name {
			continue
		}
		if key != "" {
			tags, _ := fields[2].(map[string]any)
			if fmt.Sprint(tags[key]) != val {
				continue
			}
		}
		v, err := strconv.ParseFloat(fmt.Sprint(fields[1]), 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}
