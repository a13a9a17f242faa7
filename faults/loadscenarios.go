package main

// The scenarios that load one service in unusual ways.

import (
	"fmt"
	"time"
)

// churnScenario is client-churn: short-lived clients one after another; the server must
// forget them: memory and CPU back to baseline, no dials to departed peers.
func churnScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	s := srv[0]
	n := pick(e, 300, 20000)
	cpuBefore := cpuShare(s.p.pid(), time.Second)
	m0, _ := e.metrics(s.endpoint)
	dials0, _ := metricValue(m0, "transport.dial_failures", "", "")
	r.before, r.hasUsage = s.usage(), true
	res, err := e.run(time.Duration(n)*time.Second, "-registry", reg, "-count", fmt.Sprint(n))
	if err != nil {
		return err
	}
	m1, _ := e.metrics(s.endpoint)
	dials1, _ := metricValue(m1, "transport.dial_failures", "", "")
	peak := s.usage()
	settle := 3 * time.Second
	if err := e.sleepUntil(time.Now().Add(settle)); err != nil {
		return err
	}
	r.after = s.usage()
	cpuAfter := cpuShare(s.p.pid(), time.Second)
	m2, err := e.metrics(s.endpoint)
	dials2, ok := metricValue(m2, "transport.dial_failures", "", "")
	finish(r, res, nil)
	r.notes = append(r.notes,
		fmt.Sprintf("%d client containers; server RSS %.1f MiB at the end of the churn, %.1f MiB %v later",
			n, mib(peak.rssKiB), mib(r.after.rssKiB), settle),
		fmt.Sprintf("server CPU %.1f%% before, %.1f%% %v after", 100*cpuBefore, 100*cpuAfter, settle),
		fmt.Sprintf("server dial failures: %.0f during the churn, %.0f in the %v after", dials1-dials0, dials2-dials1, settle))
	r.checks = append(r.checks,
		exact("failed calls", float64(res.Failed()), 0),
		check{name: "RSS growth after settling", value: mib(r.after.rssKiB - r.before.rssKiB), target: 8, limit: 24, unit: "MiB"},
		check{name: "CPU after minus before", value: 100 * (cpuAfter - cpuBefore), target: 5, limit: 20, unit: "%"},
		check{name: "dial failures after settling", value: dials2 - dials1, target: 0, limit: 10, na: err != nil || !ok})
	return nil
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// newInstanceScenario is new-instance: a running client finds a new instance within 20 ms of its
// registration (the time until the first call lands on it).
func newInstanceScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	d := pick(e, 4*time.Second, 10*time.Second)
	p, err := e.driver(loadArgs(reg, d)...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	r.before, r.hasUsage = srv[0].usage(), true
	if err := e.sleepUntil(t0.Add(1500 * time.Millisecond)); err != nil {
		return err
	}
	fresh, err := e.newServer(reg)
	if err != nil {
		return err
	}
	if err := fresh.start(); err != nil {
		return err
	}
	registered := time.Now()
	var took time.Duration
	found := false
	for time.Since(registered) < 5*time.Second && e.ctx.Err() == nil {
		m, err := e.metrics(fresh.endpoint)
		if n, _ := metricValue(m, "rpc.requests", "subject", "echo.echo"); err == nil && n > 0 {
			took, found = time.Since(registered), true
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, nil)
	r.notes = append(r.notes, fmt.Sprintf("first call on the new instance %v after it registered (found: %v)", took.Round(time.Millisecond), found))
	r.checks = append(r.checks,
		exact("failed calls", float64(res.Failed()), 0),
		check{name: "new instance's first call after registering", value: ms64(took), target: 20, limit: 100, unit: "ms", na: !found})
	return nil
}

// bigRequestScenario is 5MiB-request: a request over the server's 4 MiB limit gets an error at
// once rather than waiting out its deadline.
func bigRequestScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	r.before, r.hasUsage = srv[0].usage(), true
	calls := 3
	res, err := e.run(60*time.Second, "-registry", reg, "-calls", fmt.Sprint(calls), "-workers", "1",
		"-size", fmt.Sprint(5<<20), "-max-message", fmt.Sprint(16<<20))
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, nil)
	r.tput = throughput{}
	r.checks = append(r.checks,
		check{name: "5 MiB calls refused by the server", value: float64(res.Failed()), target: float64(calls), limit: float64(calls), higherBetter: true},
		check{name: "max time to the error", value: ms64(r.ttf.max), target: 100, limit: 500, unit: "ms", na: r.ttf.n == 0})
	return nil
}

// inflightScenario is 1024-in-flight: a full per-peer send queue must never drop a reply.
func inflightScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	r.before, r.hasUsage = srv[0].usage(), true
	calls := pick(e, 1024*5, 1024*50)
	// By endpoint: one client container, so one connection, 1,024 calls on it.
	res, err := e.run(120*time.Second, "-registry", reg, "-address", srv[0].endpoint, "-workers", "1024", "-calls", fmt.Sprint(calls))
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, nil)
	r.checks = append(r.checks, exact("failed calls", float64(res.Failed()), 0))
	return nil
}

// hostileScenario is hostile-neighbours: silent, noisy and lying connections must not disturb
// normal calls.
func hostileScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	d := pick(e, 6*time.Second, 20*time.Second)
	p, err := e.driver(loadArgs(reg, d)...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	r.before, r.hasUsage = srv[0].usage(), true
	if err := e.sleepUntil(t0.Add(2 * time.Second)); err != nil {
		return err
	}
	fault := time.Now().UnixNano()
	n, err := openNeighbours(srv[0].hostPort(), 2000, 50, 50)
	if err != nil {
		return err
	}
	held := srv[0].usage()
	err = e.sleepUntil(t0.Add(d - 2*time.Second))
	n.close()
	if err != nil {
		return err
	}
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, []int64{fault})
	r.notes = append(r.notes, fmt.Sprintf("2,000 silent + 50 random-byte + 50 huge-frame connections (%d turned away by the handshake cap): server RSS %.1f MiB, %d FDs while they were open",
		n.refused, mib(held.rssKiB), held.fds))
	// No throughput check: the issue sets none here, and on a shared host
	// the orchestrator's own 2,100 dials make the worst second noisy. The
	// column still shows it.
	r.checks = append(r.checks, exact("failed calls", float64(res.Failed()), 0))
	return nil
}

// soakScenario is soak: many calls, none lost, memory flat.
func soakScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(3, reg)
	if err != nil {
		return err
	}
	calls := pick(e, 20_000, 1_000_000)
	r.before, r.hasUsage = srv[0].usage(), true
	res, err := e.run(30*time.Minute, "-registry", reg, "-calls", fmt.Sprint(calls))
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, nil)
	r.checks = append(r.checks,
		exact("failed calls", float64(res.Failed()), 0),
		check{name: "server RSS growth", value: mib(r.after.rssKiB - r.before.rssKiB), target: 16, limit: 64, unit: "MiB"})
	return nil
}
