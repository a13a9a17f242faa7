package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rowSpec is one row of the table, run for every target.
type rowSpec struct {
	name     string        // what -rows takes, e.g. "64K-16"
	size     int           // payload bytes
	inflight int           // callers, so calls in flight
	conns    int           // client containers (connections); 1 shares the target's client
	calls    int           // measured calls (at -scale 1)
	rate     int           // paced calls/s; 0: as fast as the callers go
	idle     time.Duration // the idle row: conns clients connected, then silent this long
	named    bool          // lymph only: calls by service name through a registry
}

// plan is the default run: every row, sized so the whole run stays under
// ~5 minutes on 2 cores (fewer calls for the big payloads).
var plan = []rowSpec{
	{name: "16B-1", size: 16, inflight: 1, calls: 20_000},
	{name: "16B-64", size: 16, inflight: 64, calls: 60_000},
	{name: "16B-1024", size: 16, inflight: 1024, calls: 60_000},
	{name: "1K-1", size: 1 << 10, inflight: 1, calls: 20_000},
	{name: "1K-64", size: 1 << 10, inflight: 64, calls: 40_000},
	{name: "64K-1", size: 64 << 10, inflight: 1, calls: 4_000},
	{name: "64K-16", size: 64 << 10, inflight: 16, calls: 8_000},
	{name: "1M-1", size: 1 << 20, inflight: 1, calls: 300},
	{name: "1M-16", size: 1 << 20, inflight: 16, calls: 600},
	{name: "conns200", size: 16, inflight: 200, conns: 200, calls: 40_000},
	{name: "paced5k", size: 16, inflight: 64, rate: 5_000},
	{name: "paced10k", size: 16, inflight: 64, rate: 10_000},
	{name: "idle", size: 16, conns: 100},
	{name: "byname", size: 16, inflight: 64, calls: 40_000, named: true},
}

func rowNames() []string {
	names := make([]string, len(plan))
	for i, r := range plan {
		names[i] = r.name
	}
	return names
}

// selectRows returns the rows named in list (all when empty), with calls
// scaled and the paced and idle rows' durations set.
func selectRows(list string, scale float64, idle, paced time.Duration) ([]rowSpec, error) {
	if scale <= 0 || idle <= 0 || paced <= 0 {
		return nil, fmt.Errorf("-scale, -idle and -paced must be positive")
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var out []rowSpec
	all, found := len(want) == 0, map[string]bool{}
	for _, r := range plan {
		if !all && !want[r.name] {
			continue
		}
		found[r.name] = true
		r.calls = max(1, int(float64(r.calls)*scale))
		if r.rate > 0 {
			r.calls = max(1, int(float64(r.rate)*paced.Seconds()*scale))
		}
		if r.name == "idle" {
			r.idle = idle
		}
		out = append(out, r)
	}
	for n := range want {
		if found[n] {
			continue
		}
		return nil, fmt.Errorf("unknown row %q (rows: %s)", n, strings.Join(rowNames(), ","))
	}
	return out, nil
}

// payloadOf returns the row's payload: size bytes of printable text.
func payloadOf(size int) string {
	const pattern = "hello, lymph!!!!"
	s := strings.Repeat(pattern, size/len(pattern)+1)
	return s[:size]
}

// rowEnv is what a row runs against.
type rowEnv struct {
	target    target
	addr      string
	dial      dialOptions
	client    echoClient // the target's shared client
	serverCPU cpuTime
	prof      *profiler
}

// runRow runs one row: a warm-up, then the measured calls (or the idle
// wait), with each process's CPU time and the client's allocations.
func runRow(env rowEnv, row rowSpec) (r result, err error) {
	r = result{row: row, hist: new(histogram)}
	payload := payloadOf(row.size)
	clients := []echoClient{env.client}
	if row.conns > 1 {
		o := env.dial
		o.heartbeat = row.idle > 0 // an idle client as in production
		clients, err = dialMany(env.target, env.addr, row.conns, o)
		if err != nil {
			return r, err
		}
		defer func() {
			for _, c := range clients {
				if e := c.Close(); e != nil && err == nil {
					err = e
				}
			}
		}()
	}
	if row.idle > 0 {
		return runIdle(env, row, clients, payload)
	}
	warm := min(max(row.calls/10, 2*row.inflight), 10_000)
	if err := callLoop(clients, payload, warm, row.inflight, 0, new(histogram)); err != nil {
		return r, fmt.Errorf("warm-up: %w", err)
	}
	hist := new(histogram)
	r.start = liveMemory()
	if err := env.prof.start(row.name, env.target.name); err != nil {
		return r, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	c0, s0, cpuErr := cpuBoth(env.serverCPU)
	began := time.Now()
	err = callLoop(clients, payload, row.calls, row.inflight, row.rate, hist)
	r.elapsed = time.Since(began)
	c1, s1, cpuErr2 := cpuBoth(env.serverCPU)
	runtime.ReadMemStats(&ms)
	r.mallocs = ms.Mallocs - mallocs
	if e := env.prof.stop(); e != nil && err == nil {
		err = e
	}
	if cpuErr == nil && cpuErr2 == nil {
		r.clientCPU, r.serverCPU = c1-c0, s1-s0
	}
	r.end = liveMemory()
	r.calls = row.calls
	r.hist = hist
	return r, err
}

// idleSettle is how long the idle row's clients sit idle before the
// measurement starts: the steady state of an idle peer, not the second
// after its last call (lymph pings an idle peer less and less often).
// The test harness shortens it.
var idleSettle = 5 * time.Second

// runIdle connects every client with one call, lets them sit idle for
// idleSettle and then the row's duration, and measures what both
// processes spent during the latter.
func runIdle(env rowEnv, row rowSpec, clients []echoClient, payload string) (result, error) {
	r := result{row: row, hist: new(histogram)}
	if err := callLoop(clients, payload, len(clients), len(clients), 0, new(histogram)); err != nil {
		return r, err
	}
	time.Sleep(idleSettle) // connected, then idle: what an idle peer costs for good
	if err := env.prof.start(row.name, env.target.name); err != nil {
		return r, err
	}
	c0, s0, cpuErr := cpuBoth(env.serverCPU)
	began := time.Now()
	time.Sleep(row.idle)
	r.elapsed = time.Since(began)
	c1, s1, cpuErr2 := cpuBoth(env.serverCPU)
	if err := env.prof.stop(); err != nil {
		return r, err
	}
	if cpuErr == nil && cpuErr2 == nil {
		r.clientCPU, r.serverCPU = c1-c0, s1-s0
	}
	return r, nil
}

// dialMany dials n clients, a few at a time.
func dialMany(t target, addr string, n int, o dialOptions) ([]echoClient, error) {
	clients := make([]echoClient, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			clients[i], errs[i] = t.dial(addr, o)
		})
	}
	wg.Wait()
	var first error
	var ok []echoClient
	for i, c := range clients {
		if errs[i] != nil {
			if first == nil {
				first = errs[i]
			}
			continue
		}
		ok = append(ok, c)
	}
	if first != nil {
		for _, c := range ok {
			c.Close()
		}
		return nil, first
	}
	return clients, nil
}

// cpuBoth is this process's and the server's CPU time so far.
func cpuBoth(server cpuTime) (client, srv time.Duration, err error) {
	if client, err = selfCPU(); err != nil {
		return 0, 0, err
	}
	srv, err = server()
	return client, srv, err
}

// callLoop makes calls calls from workers goroutines, caller i using
// clients[i % len(clients)], taking call numbers from a shared counter so
// that exactly workers calls are in flight until the last few. With rate >
// 0, call k starts no earlier than k/rate seconds after the first. The
// first error stops every worker.
func callLoop(clients []echoClient, payload string, calls, workers, rate int, hist *histogram) error {
	ctx := context.Background()
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	began := time.Now()
	for i := range workers {
		c := clients[i%len(clients)]
		shard := &hist.shards[i%histShards]
		wg.Go(func() {
			for !failed.Load() {
				k := next.Add(1)
				if k > int64(calls) {
					return
				}
				if interval > 0 {
					if wait := time.Until(began.Add(time.Duration(k-1) * interval)); wait > 0 {
						time.Sleep(wait)
					}
				}
				t0 := time.Now()
				out, err := c.Echo(ctx, payload)
				d := time.Since(t0)
				if err == nil && out != payload {
					err = fmt.Errorf("echo returned %d bytes, not the %d sent", len(out), len(payload))
				}
				if err != nil {
					errOnce.Do(func() { first = err })
					failed.Store(true)
					return
				}
				shard.record(d)
			}
		})
	}
	wg.Wait()
	return first
}
