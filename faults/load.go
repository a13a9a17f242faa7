package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph"
)

// driverConfig is what the hidden "load" and "churn" subcommands take.
type driverConfig struct {
	registry string
	address  string        // "echo" (by name) or an endpoint
	endpoint string        // the client container's own endpoint
	workers  int           // goroutines calling at once
	duration time.Duration // timed run; 0 means until calls are done
	calls    int64         // total calls; 0 means until duration ends
	deadline time.Duration // per call
	hang     time.Duration // after the deadline, a call is hung
	size     int           // bytes of padding after the token
	warmup   bool          // wait for one good call before the timed run
	churn    int           // churn: this many containers, one call each
	maxMsg   int64         // the client's message size limit (0: the default)
	separate bool          // replies the lymph way, on the servers' own connections
}

func parseDriver(args []string) (driverConfig, error) {
	var c driverConfig
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error says what was wrong; the orchestrator logs it
	fs.StringVar(&c.registry, "registry", "local:", "registry URL")
	fs.StringVar(&c.address, "address", "echo", "service name or endpoint to call")
	fs.StringVar(&c.endpoint, "endpoint", "tcp://127.0.0.1:0", "the client's own endpoint")
	fs.IntVar(&c.workers, "workers", 64, "calls in flight")
	fs.DurationVar(&c.duration, "duration", 0, "timed run")
	fs.Int64Var(&c.calls, "calls", 0, "total calls")
	fs.DurationVar(&c.deadline, "deadline", time.Second, "deadline of each call")
	fs.DurationVar(&c.hang, "hang", 2*time.Second, "a call not returned this long after its deadline is hung")
	fs.IntVar(&c.size, "size", 0, "padding bytes per request")
	fs.BoolVar(&c.warmup, "warmup", true, "wait for one good call first")
	fs.IntVar(&c.churn, "count", 0, "churn: containers to start, one after another")
	fs.Int64Var(&c.maxMsg, "max-message", 0, "the client's message size limit in bytes (0: the default)")
	fs.BoolVar(&c.separate, "separate-replies", false, "ask for replies the lymph way, on connections the servers dial (lymph.WithSeparateReplies)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.duration <= 0 && c.calls <= 0 && c.churn <= 0 {
		return c, errors.New("load: give -duration, -calls or -count")
	}
	return c, nil
}

// recorder counts calls; safe for concurrent use.
type recorder struct {
	start   time.Time
	calls   atomic.Int64
	ok      atomic.Int64
	seconds []atomic.Int64

	mu       sync.Mutex
	kinds    map[string]int64
	samples  map[string]string
	failures []Failure
	dropped  int64
}

func newRecorder(seconds int) *recorder {
	return &recorder{
		start:   time.Now(),
		seconds: make([]atomic.Int64, seconds),
		kinds:   map[string]int64{},
		samples: map[string]string{},
	}
}

func (r *recorder) success(end time.Time) {
	r.calls.Add(1)
	r.ok.Add(1)
	if i := int(end.Sub(r.start) / time.Second); i >= 0 && i < len(r.seconds) {
		r.seconds[i].Add(1)
	}
}

func (r *recorder) failure(start, end time.Time, kind, msg string) {
	r.calls.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[kind]++
	if _, ok := r.samples[kind]; !ok && msg != "" {
		r.samples[kind] = msg
	}
	if len(r.failures) < maxFailures {
		r.failures = append(r.failures, Failure{Start: start.UnixNano(), End: end.UnixNano(), Kind: kind})
	} else {
		r.dropped++
	}
}

// result returns the counts, with the per-second counts of full seconds only.
func (r *recorder) result(full int) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	full = max(0, min(full, len(r.seconds)))
	per := make([]int64, full)
	for i := range per {
		per[i] = r.seconds[i].Load()
	}
	return &Result{
		Calls: r.calls.Load(), OK: r.ok.Load(), Kinds: r.kinds, Samples: r.samples,
		StartNs: r.start.UnixNano(), PerSecond: per, Failures: r.failures, Dropped: r.dropped,
	}
}

// caller makes calls with unique tokens and tells their outcome.
type caller struct {
	cfg    driverConfig
	prefix string // unique per driver process
	seq    atomic.Int64
	pad    string
	method string // echo's echo
}

func newCaller(cfg driverConfig) *caller {
	return &caller{cfg: cfg, prefix: fmt.Sprintf("t%d-%d-", os.Getpid(), time.Now().UnixNano()),
		pad: strings.Repeat("x", cfg.size), method: "echo"}
}

// proxyTo is the proxy to echo at address: a service name, or one
// instance's endpoint.
func proxyTo(c *lymph.Container, address string) *lymph.Proxy {
	if strings.Contains(address, "://") {
		return c.Proxy("echo", lymph.WithInstance(address))
	}
	return c.Proxy(address)
}

type outcome struct {
	got string
	err error
}

// call makes one call through p and records it. It returns after the reply,
// or once the call counts as hung: the call's goroutine is then left behind
// (it ends with the process), so a hang never stops the driver.
func (c *caller) call(p *lymph.Proxy, rec *recorder, timer *time.Timer) {
	text := c.prefix + strconv.FormatInt(c.seq.Add(1), 10) + c.pad
	start := time.Now()
	done := make(chan outcome, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.deadline)
		defer cancel()
		got, err := lymph.Call[string](ctx, p, c.method, map[string]any{"text": text})
		done <- outcome{got, err}
	}()
	timer.Reset(c.cfg.deadline + c.cfg.hang)
	select {
	case o := <-done:
		if !timer.Stop() {
			<-timer.C
		}
		end := time.Now()
		switch {
		case o.err != nil:
			rec.failure(start, end, classify(o.err), o.err.Error())
		case checkReply(text, o.got) != "":
			rec.failure(start, end, kindWrong, fmt.Sprintf("sent %.40q, got %.40q", text, o.got))
		default:
			rec.success(end)
		}
	case <-timer.C:
		rec.failure(start, time.Now(), kindHung, "")
	}
}

// runDriver is the "load" subcommand: workers call until the duration ends
// or the calls are done, then the result goes to stdout as one JSON line.
func runDriver(args []string, stdout io.Writer) error {
	cfg, err := parseDriver(args)
	if err != nil {
		return err
	}
	if cfg.churn > 0 {
		return runChurn(cfg, stdout)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	seconds := 3600
	if cfg.duration > 0 {
		seconds = int(cfg.duration/time.Second) + 1
	}
	cl := newCaller(cfg)
	opts := []lymph.ContainerOption{lymph.WithName("faults-client"), lymph.WithEndpoint(cfg.endpoint),
		lymph.WithRegistryURL(cfg.registry), lymph.WithLogger(logger), lymph.WithTimeout(cfg.deadline)}
	if cfg.maxMsg > 0 {
		// Above the server's limit, so that the server's refusal is what
		// the oversized-request scenario measures.
		opts = append(opts, lymph.WithMaxMessageSize(cfg.maxMsg))
	}
	if cfg.separate {
		opts = append(opts, lymph.WithSeparateReplies())
	}
	c, err := lymph.NewContainer(opts...)
	if err != nil {
		return err
	}
	startAt := time.Now()
	if err := c.Start(context.Background()); err != nil {
		// A client that cannot start fails its one call: report it so.
		rec := newRecorder(0)
		rec.failure(startAt, time.Now(), classify(err), "start: "+err.Error())
		fmt.Fprintln(stdout, "ready")
		return writeResult(stdout, rec.result(0))
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c.Stop(ctx)
	}()
	p := proxyTo(c, cfg.address)
	if cfg.warmup {
		if err := warmup(p, cfg); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "ready")

	rec := newRecorder(seconds)
	ctx := context.Background()
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	var started atomic.Int64
	var wg sync.WaitGroup
	for range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			for ctx.Err() == nil && (cfg.calls <= 0 || started.Add(1) <= cfg.calls) {
				cl.call(p, rec, timer)
			}
		}()
	}
	wg.Wait()
	full := int(time.Since(rec.start) / time.Second)
	if cfg.duration > 0 {
		full = int(cfg.duration / time.Second)
	}
	return writeResult(stdout, rec.result(full))
}

// warmup waits (bounded) until one call succeeds, so the timed run starts
// against a service that is found and connected.
func warmup(p *lymph.Proxy, cfg driverConfig) error {
	cfg.size = 0 // a small call: the timed run's size may be refused on purpose
	cl := newCaller(cfg)
	rec := newRecorder(0)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		cl.call(p, rec, timer)
		if rec.ok.Load() > 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("load: no call succeeded within 15 s: %v", rec.result(0).Samples)
}

// runChurn starts cfg.churn client containers one after another, each
// making one call and stopping: what many short-lived clients do to a
// server.
func runChurn(cfg driverConfig, stdout io.Writer) error {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cl := newCaller(cfg)
	rec := newRecorder(0)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	fmt.Fprintln(stdout, "ready")
	for range cfg.churn {
		start := time.Now()
		c, err := lymph.NewContainer(lymph.WithName("faults-churn"), lymph.WithEndpoint("tcp://127.0.0.1:0"),
			lymph.WithRegistryURL(cfg.registry), lymph.WithLogger(logger), lymph.WithTimeout(cfg.deadline))
		if err == nil {
			err = c.Start(context.Background())
		}
		if err != nil {
			rec.failure(start, time.Now(), classify(err), "start: "+err.Error())
			continue
		}
		cl.call(proxyTo(c, cfg.address), rec, timer)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c.Stop(ctx)
		cancel()
	}
	return writeResult(stdout, rec.result(0))
}

func writeResult(w io.Writer, r *Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
