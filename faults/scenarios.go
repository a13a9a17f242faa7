package main

import (
	"fmt"
	"syscall"
	"time"
)

// scenario is one row of the table.
type scenario struct {
	name string
	zk   bool // needs the private ZooKeeper
	run  func(e *env, r *row) error
}

var scenarios = []scenario{
	{name: "kill-9", run: killScenario},
	{name: "sigterm-local", run: func(e *env, r *row) error { return sigtermScenario(e, r, e.localRegistry(r.name), "") }},
	{name: "sigterm-zk", zk: true, run: func(e *env, r *row) error { return sigtermScenario(e, r, e.zk.url("faults-sigterm"), "faults-sigterm") }},
	{name: "sigstop", run: sigstopScenario},
	{name: "client-churn", run: churnScenario},
	{name: "fixed-endpoint-client", run: fixedClientScenario},
	{name: "zk-restart", zk: true, run: func(e *env, r *row) error { return zkRestartScenario(e, r, false) }},
	{name: "zk-restart-empty", zk: true, run: func(e *env, r *row) error { return zkRestartScenario(e, r, true) }},
	{name: "zk-down-at-start", zk: true, run: zkDownStartScenario},
	{name: "new-instance", run: newInstanceScenario},
	{name: "5MiB-request", run: bigRequestScenario},
	{name: "1024-in-flight", run: inflightScenario},
	{name: "hostile-neighbours", run: hostileScenario},
	{name: "soak", run: soakScenario},
	{name: "partition", run: partitionScenario},
}

// loadArgs are a timed driver's flags: 64 calls in flight by name.
func loadArgs(registry string, d time.Duration, extra ...string) []string {
	return append([]string{"-registry", registry, "-duration", d.String()}, extra...)
}

// always are the checks every scenario has: no wrong reply, no hung call.
func always(r *row) {
	r.checks = append(r.checks,
		exact("wrong replies", float64(r.res.Kinds[kindWrong]), 0),
		exact("hung calls", float64(r.res.Kinds[kindHung]), 0))
}

// finish fills the row from the result and the fault times.
func finish(r *row, res *Result, faults []int64) {
	r.res.merge(res)
	r.ttf = percentilesOf(timeToFail(r.res.Failures, faults))
	r.tput = throughputOf(r.res.PerSecond, r.res.StartNs, faults)
	always(r)
	if r.res.Dropped > 0 {
		r.notes = append(r.notes, fmt.Sprintf("%d failures beyond the first %d not timed", r.res.Dropped, maxFailures))
	}
}

func failedAfter(res *Result, faults []int64, gap time.Duration) int {
	n := 0
	for _, f := range res.Failures {
		for _, t := range faults {
			if f.Start >= t+int64(gap) && f.Start < t+int64(time.Second) {
				n++
				break
			}
		}
	}
	return n
}

var signalName = map[syscall.Signal]string{syscall.SIGKILL: "kill -9", syscall.SIGTERM: "SIGTERM"}

// rolling runs a driver against three servers and, every 3 s from 2 s on,
// hits one of servers 1 and 2 with hit, restarting it 1 s after it is gone.
// Server 0 is never hit: its RSS and FDs are the row's.
func rolling(e *env, r *row, registry string, sig syscall.Signal) ([]int64, *Result, error) {
	srv, err := e.servers(3, registry)
	if err != nil {
		return nil, nil, err
	}
	d := pick(e, 9*time.Second, 45*time.Second)
	p, err := e.driver(loadArgs(registry, d)...)
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	r.before, r.hasUsage = srv[0].usage(), true
	var faults []int64
	for k := 0; ; k++ {
		at := t0.Add(2*time.Second + time.Duration(k)*3*time.Second)
		if at.Add(2 * time.Second).After(t0.Add(d)) {
			break
		}
		if err := e.sleepUntil(at); err != nil {
			return nil, nil, err
		}
		victim := srv[1+k%2]
		faults = append(faults, time.Now().UnixNano())
		if err := victim.p.signal(sig); err != nil {
			return nil, nil, err
		}
		if !victim.p.waitExit(10 * time.Second) {
			return nil, nil, fmt.Errorf("server %s still running 10 s after %v", victim.endpoint, sig)
		}
		if err := e.sleepUntil(time.Now().Add(time.Second)); err != nil {
			return nil, nil, err
		}
		if err := victim.start(); err != nil {
			return nil, nil, err
		}
	}
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	r.after = srv[0].usage()
	r.notes = append(r.notes, fmt.Sprintf("%d × %s over %v (servers 1 and 2 in turn, restarted 1 s after exiting)", len(faults), signalName[sig], d))
	return faults, res, nil
}

func killScenario(e *env, r *row) error {
	faults, res, err := rolling(e, r, e.localRegistry(r.name), syscall.SIGKILL)
	if err != nil {
		return err
	}
	finish(r, res, faults)
	perKill := float64(res.Failed()) / float64(max(1, len(faults)))
	r.checks = append(r.checks,
		check{name: "p99 time to fail", value: ms64(r.ttf.p99), target: 100, limit: 500, unit: "ms", na: r.ttf.n == 0 && res.Failed() > 0},
		check{name: "failed calls per kill", value: perKill, target: 64, limit: 128},
		check{name: "failed calls sent 10ms+ after a kill", value: float64(failedAfter(res, faults, 10*time.Millisecond)) / float64(max(1, len(faults))), target: 0, limit: 10})
	return nil
}

func ms64(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sigtermScenario(e *env, r *row, registry, chroot string) error {
	faults, res, err := rolling(e, r, registry, syscall.SIGTERM)
	if err != nil {
		return err
	}
	finish(r, res, faults)
	r.checks = append(r.checks, exact("failed calls", float64(res.Failed()), 0))
	return nil
}

func sigstopScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(3, reg)
	if err != nil {
		return err
	}
	freeze := pick(e, 3*time.Second, 10*time.Second)
	d := 2*time.Second + freeze + pick(e, 3*time.Second, 5*time.Second)
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
	if err := srv[1].p.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	err = e.sleepUntil(time.Now().Add(freeze))
	_ = srv[1].p.signal(syscall.SIGCONT)
	if err != nil {
		return err
	}
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, []int64{fault})
	r.notes = append(r.notes, fmt.Sprintf("one of 3 instances stopped for %v", freeze))
	r.checks = append(r.checks, check{name: "worst second / normal", value: 100 * r.tput.ratio, target: 67, limit: 33, higherBetter: true, unit: "%", na: !r.tput.ok})
	return nil
}

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

func fixedClientScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	n := pick(e, 20, 40)
	r.before, r.hasUsage = srv[0].usage(), true
	total := &Result{}
	for i := range n {
		// Spaced like CLI calls, at a step that is no multiple of the
		// heartbeat's second, so the restarts meet every phase of it.
		if i > 0 {
			if err := e.sleepUntil(time.Now().Add(370 * time.Millisecond)); err != nil {
				return err
			}
		}
		res, err := e.run(15*time.Second, "-registry", reg, "-endpoint", fmt.Sprintf("tcp://127.0.0.1:%d", port),
			"-calls", "1", "-workers", "1", "-warmup=false")
		if err != nil {
			return err
		}
		total.merge(res)
	}
	r.after = srv[0].usage()
	finish(r, total, nil)
	r.tput = throughput{}
	r.notes = append(r.notes, fmt.Sprintf("%d client processes, 370 ms apart, all on 127.0.0.1:%d", n, port))
	r.checks = append(r.checks, exact("failed calls", float64(total.Failed()), 0))
	return nil
}

func zkRestartScenario(e *env, r *row, empty bool) error {
	chroot := "faults-zk-restart"
	if empty {
		chroot += "-empty"
	}
	reg := e.zk.url(chroot)
	srv, err := e.servers(3, reg)
	if err != nil {
		return err
	}
	down := pick(e, 3*time.Second, 20*time.Second)
	d := 2*time.Second + down + pick(e, 6*time.Second, 10*time.Second)
	p, err := e.driver(loadArgs(reg, d)...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	r.before, r.hasUsage = srv[0].usage(), true
	if err := e.sleepUntil(t0.Add(2 * time.Second)); err != nil {
		return err
	}
	faults := []int64{time.Now().UnixNano()}
	stop := e.zk.stop
	if empty {
		stop = e.zk.wipe
	}
	if err := stop(e.ctx); err != nil {
		return err
	}
	if err := e.sleepUntil(time.Now().Add(down)); err != nil {
		return err
	}
	if err := e.zk.start(e.ctx); err != nil {
		return err
	}
	faults = append(faults, time.Now().UnixNano())
	took, ok := e.zk.waitInstances(e.ctx, chroot, "echo", 3, 15*time.Second)
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, faults)
	what := "kept"
	if empty {
		what = "deleted"
	}
	r.notes = append(r.notes, fmt.Sprintf("ZooKeeper down %v, data %s; all 3 instances registered %v after it answered again (found: %v)", down, what, took.Round(time.Millisecond), ok))
	r.checks = append(r.checks,
		exact("failed calls", float64(res.Failed()), 0),
		check{name: "re-registration after ZooKeeper answers", value: took.Seconds(), target: 1, limit: 4, unit: "s", na: !ok})
	return nil
}

func zkDownStartScenario(e *env, r *row) error {
	chroot := "faults-zk-down"
	reg := e.zk.url(chroot)
	if err := e.zk.stop(e.ctx); err != nil {
		return err
	}
	s, err := e.newServer(reg)
	if err != nil {
		return err
	}
	if err := s.launch(); err != nil {
		return err
	}
	t0 := time.Now()
	// A caller by name while ZooKeeper is down: how fast does it learn?
	first, err := e.run(30*time.Second, "-registry", reg, "-calls", "1", "-workers", "1", "-warmup=false")
	if err != nil {
		return err
	}
	callerTTF := percentilesOf(timeToFail(first.Failures, nil))
	if err := e.sleepUntil(t0.Add(12 * time.Second)); err != nil {
		return err
	}
	alive := !s.p.exited()
	if err := e.zk.start(e.ctx); err != nil {
		return err
	}
	took, registered := e.zk.waitInstances(e.ctx, chroot, "echo", 1, 10*time.Second)
	var res *Result
	if alive && registered {
		if res, err = e.run(30*time.Second, loadArgs(reg, 2*time.Second)...); err != nil {
			return err
		}
	} else {
		res = &Result{}
	}
	finish(r, res, nil)
	kinds := fmt.Sprint(first.Kinds)
	r.notes = append(r.notes,
		fmt.Sprintf("server alive 12 s after starting with ZooKeeper down: %v; registered %v after ZooKeeper answered (found: %v)", alive, took.Round(time.Millisecond), registered),
		fmt.Sprintf("a caller by name while ZooKeeper was down: %d ok, errors %s, after %v", first.OK, kinds, callerTTF.max.Round(time.Millisecond)))
	for _, msg := range first.Samples {
		r.notes = append(r.notes, "  its error: "+msg)
	}
	r.checks = append(r.checks,
		exact("server still running", b2f(alive), 1),
		check{name: "caller fails within", value: callerTTF.max.Seconds(), target: 1, limit: 3, unit: "s", na: first.OK > 0 || callerTTF.n == 0},
		check{name: "registration after ZooKeeper answers", value: took.Seconds(), target: 1, limit: 4, unit: "s", na: !registered},
		exact("failed calls once registered", float64(res.Failed()), 0))
	if !alive || !registered {
		r.checks = append(r.checks, check{name: "calls served once ZooKeeper is back (the server exited or never registered)", na: true})
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

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

func hostileScenario(e *env, r *row) error {
	reg := e.localRegistry(r.name)
	srv, err := e.servers(1, reg)
	if err != nil {
		return err
	}
	d := pick(e, 7*time.Second, 20*time.Second)
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
	r.notes = append(r.notes, fmt.Sprintf("2,000 silent + 50 random-byte + 50 huge-frame connections: server RSS %.1f MiB, %d FDs while they were open",
		mib(held.rssKiB), held.fds))
	r.checks = append(r.checks,
		exact("failed calls", float64(res.Failed()), 0),
		check{name: "worst second / normal", value: 100 * r.tput.ratio, target: 50, limit: 25, higherBetter: true, unit: "%", na: !r.tput.ok})
	return nil
}

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
