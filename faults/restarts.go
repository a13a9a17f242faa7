package main

// The scenarios that kill, stop, freeze or restart processes under load.

import (
	"fmt"
	"syscall"
	"time"
)

var signalName = map[syscall.Signal]string{syscall.SIGKILL: "kill -9", syscall.SIGTERM: "SIGTERM"}

// rolling runs a driver against three servers and, every 3 s from 2 s on,
// hits one of servers 1 and 2 with hit, restarting it 1 s after it is gone.
// Server 0 is never hit: its RSS and FDs are the row's.
func rolling(e *env, r *row, registry string, sig syscall.Signal, driverArgs ...string) ([]int64, *Result, error) {
	srv, err := e.servers(3, registry)
	if err != nil {
		return nil, nil, err
	}
	d := pick(e, 8*time.Second, 45*time.Second) // 2 faults in the short run, 14 in the full one
	p, err := e.driver(loadArgs(registry, d, driverArgs...)...)
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

// killScenario is kill-9: only the calls in flight on a killed instance may fail, each within
// 100 ms of the drop; none sent after it may go there.
func killScenario(e *env, r *row, driverArgs ...string) error {
	faults, res, err := rolling(e, r, e.localRegistry(r.name), syscall.SIGKILL, driverArgs...)
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

// sigtermScenario is sigterm-*: a rolling graceful restart loses no call at all.
func sigtermScenario(e *env, r *row, registry string, driverArgs ...string) error {
	faults, res, err := rolling(e, r, registry, syscall.SIGTERM, driverArgs...)
	if err != nil {
		return err
	}
	finish(r, res, faults)
	r.checks = append(r.checks, exact("failed calls", float64(res.Failed()), 0))
	return nil
}

// sigstopScenario is sigstop: a frozen instance must stop getting new calls as soon as its
// outstanding ones pile up, so throughput stays above 2/3 of normal.
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
	r.checks = append(r.checks, throughputCheck(r))
	return nil
}

// fixedClientScenario is fixed-endpoint-client: a client process restarted on the same endpoint
// again and again gets every reply (the server must not answer, or ping,
// its dead predecessor instead).
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
