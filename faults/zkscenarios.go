package main

// The scenarios that take the private ZooKeeper away.

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// zkRestartScenario is zk-restart(-empty): calls on cached instances go on while ZooKeeper is
// away; once it answers, every instance is registered again within 1 s,
// also when it came back empty.
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
	d := 2*time.Second + down + pick(e, 5*time.Second, 10*time.Second)
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
	reregistered := check{name: "re-registration after ZooKeeper answers", value: took.Seconds(), target: 1, limit: 4, unit: "s", na: !ok}
	r.checks = append(r.checks, exact("failed calls", float64(res.Failed()), 0), reregistered)
	if reregistered.verdict() != pass {
		// What each server's registry said, to tell a slow ZooKeeper from
		// a slow reconnection.
		r.notes = append(r.notes, "  ZooKeeper gave sessions again at "+time.Unix(0, faults[1]).UTC().Format("15:04:05.000"))
		for i, s := range srv {
			for _, line := range registryLines(s.p.log, faults[0]) {
				r.notes = append(r.notes, fmt.Sprintf("  server %d: %s", i+1, line))
			}
		}
	}
	return nil
}

// registryLines returns what a server logged about ZooKeeper since the
// unix-nanosecond time since, each line cut to its time and message.
func registryLines(path string, since int64) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "registry=zookeeper") {
			continue
		}
		stamp, rest, ok := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		t, err := time.Parse(time.RFC3339Nano, stamp)
		if !ok || err != nil || t.UnixNano() < since {
			continue
		}
		if i := strings.Index(rest, " registry="); i > 0 {
			rest = rest[:i]
		}
		out = append(out, t.Format("15:04:05.000")+" "+rest)
	}
	return out
}

// zkDownStartScenario is zk-down-at-start: a server started while ZooKeeper is down keeps running
// and registers when it returns; a caller by name fails fast meanwhile.
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
	// Today's server gives up after 10 s without ZooKeeper.
	alone := pick(e, 11*time.Second, 12*time.Second)
	if err := e.sleepUntil(t0.Add(alone)); err != nil {
		return err
	}
	alive := !s.p.exited()
	if err := e.zk.start(e.ctx); err != nil {
		return err
	}
	took, registered := e.zk.waitInstances(e.ctx, chroot, "echo", 1, pick(e, 5*time.Second, 10*time.Second))
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
		fmt.Sprintf("server alive %v after starting with ZooKeeper down: %v; registered %v after ZooKeeper answered (found: %v)", alone, alive, took.Round(time.Millisecond), registered),
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
