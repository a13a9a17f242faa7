package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// The partition scenario puts the client and each server in network
// namespaces of their own, joined by veth pairs (client side 10.200.K.1,
// server side 10.200.K.2; the client listens on 10.201.0.1, which servers
// reach through their veth), then takes one server's link down: no RST,
// packets just vanish. Nothing is added to the suite's own namespace.

// ipCmd runs ip(8) with a bound on its time.
func (e *env) ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %v: %w: %s", args, err, out)
	}
	return nil
}

func (e *env) addNet(name string) error {
	if err := e.ipCmd("netns", "add", name); err != nil {
		return err
	}
	e.nets = append(e.nets, name)
	return e.ipCmd("-n", name, "link", "set", "lo", "up")
}

// deleteNets deletes the namespaces the suite made (and so their veths).
func (e *env) deleteNets() {
	for _, n := range e.nets {
		_ = exec.Command("ip", "netns", "del", n).Run()
	}
	e.nets = nil
}

// partitionNets makes the client's namespace and n servers' ones.
func (e *env) partitionNets(n int) (client string, servers []string, err error) {
	pfx := fmt.Sprintf("lf%d", os.Getpid())
	client = pfx + "c"
	if err := e.addNet(client); err != nil {
		return "", nil, err
	}
	if err := e.ipCmd("-n", client, "addr", "add", "10.201.0.1/32", "dev", "lo"); err != nil {
		return "", nil, err
	}
	for k := range n {
		srv := fmt.Sprintf("%ss%d", pfx, k)
		if err := e.addNet(srv); err != nil {
			return "", nil, err
		}
		c, s := fmt.Sprintf("c%d", k), fmt.Sprintf("s%d", k)
		for _, args := range [][]string{
			{"-n", client, "link", "add", c, "type", "veth", "peer", "name", s, "netns", srv},
			{"-n", client, "addr", "add", fmt.Sprintf("10.200.%d.1/30", k+1), "dev", c},
			{"-n", srv, "addr", "add", fmt.Sprintf("10.200.%d.2/30", k+1), "dev", s},
			{"-n", client, "link", "set", c, "up"},
			{"-n", srv, "link", "set", s, "up"},
			{"-n", srv, "route", "add", "default", "via", fmt.Sprintf("10.200.%d.1", k+1)},
		} {
			if err := e.ipCmd(args...); err != nil {
				return "", nil, err
			}
		}
		servers = append(servers, srv)
	}
	return client, servers, nil
}

func partitionScenario(e *env, r *row) error {
	if os.Geteuid() != 0 {
		r.skipped = "needs root for ip netns"
		return nil
	}
	if _, err := exec.LookPath("ip"); err != nil {
		r.skipped = "no ip(8) command"
		return nil
	}
	defer e.deleteNets()
	client, nets, err := e.partitionNets(3)
	if err != nil {
		return err
	}
	reg := e.localRegistry(r.name) // a directory: shared across namespaces
	srv := make([]*server, len(nets))
	for k, n := range nets {
		srv[k] = &server{e: e, endpoint: fmt.Sprintf("tcp://10.200.%d.2:4000", k+1), registry: reg, netns: n}
		if err := srv[k].start(); err != nil {
			return err
		}
	}
	down := pick(e, 3*time.Second, 10*time.Second)
	d := 2*time.Second + down + pick(e, 3*time.Second, 5*time.Second)
	p, err := e.driverIn(client, loadArgs(reg, d, "-endpoint", "tcp://10.201.0.1:0")...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	r.before, r.hasUsage = srv[0].usage(), true
	if err := e.sleepUntil(t0.Add(2 * time.Second)); err != nil {
		return err
	}
	fault := time.Now().UnixNano()
	if err := e.ipCmd("-n", nets[1], "link", "set", "s1", "down"); err != nil {
		return err
	}
	err = e.sleepUntil(time.Now().Add(down))
	if uerr := e.ipCmd("-n", nets[1], "link", "set", "s1", "up"); err == nil {
		err = uerr
	}
	if err != nil {
		return err
	}
	res, err := e.result(p, d+30*time.Second)
	if err != nil {
		return err
	}
	r.after = srv[0].usage()
	finish(r, res, []int64{fault})
	r.notes = append(r.notes, fmt.Sprintf("one of 3 instances' links down for %v (network namespaces, veth)", down))
	r.checks = append(r.checks, throughputCheck(r))
	return nil
}
