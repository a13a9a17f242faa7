package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/go-zookeeper/zk"
)

// zookeeper is the suite's PRIVATE ZooKeeper, run by the project's
// .ci/zookeeper.sh on its own port and data directory: the shared one on
// 2181 is never touched.
type zookeeper struct {
	script string
	dir    string
	port   int
	used   bool
}

func (z *zookeeper) addr() string { return fmt.Sprintf("127.0.0.1:%d", z.port) }

// url is the registry URL of a chroot of its own for one scenario.
func (z *zookeeper) url(chroot string) string {
	return fmt.Sprintf("zookeeper://%s/%s", z.addr(), chroot)
}

func (z *zookeeper) run(ctx context.Context, action string) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", z.script, action)
	cmd.Env = append(os.Environ(), "LYMPH_ZK_DIR="+z.dir, fmt.Sprintf("LYMPH_ZK_PORT=%d", z.port))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("zookeeper.sh %s: %w: %s", action, err, out)
	}
	return nil
}

// start starts it (on the data it has) and returns once it answers.
func (z *zookeeper) start(ctx context.Context) error {
	if !z.used {
		// The script would use whatever answers on the port: make sure that
		// is nobody else's server (another run of the suite, say), or take
		// a free port instead.
		if c, err := net.DialTimeout("tcp", z.addr(), time.Second); err == nil {
			c.Close()
			port, err := freePort()
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "faults: %s is taken; the private ZooKeeper uses port %d\n", z.addr(), port)
			z.port = port
		}
		z.used = true
	}
	if err := z.run(ctx, "start"); err != nil {
		return err
	}
	return z.waitServing(ctx, 60*time.Second)
}

// waitServing returns once a new client gets a session. The script's
// "imok" comes earlier: ZooKeeper answers ruok while it still loads (or,
// empty, first writes) its database, refusing sessions meanwhile, and how
// long that takes is the disk's business, not what the scenarios measure.
func (z *zookeeper) waitServing(ctx context.Context, d time.Duration) error {
	start := time.Now()
	for {
		if _, err := z.instances("", "any"); err == nil {
			return nil
		}
		if time.Since(start) > d || ctx.Err() != nil {
			return fmt.Errorf("zookeeper on %s answers ruok but gives no session after %v", z.addr(), d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (z *zookeeper) stop(ctx context.Context) error { return z.run(ctx, "stop") }

// wipe stops it and deletes its data: a restart then starts empty.
func (z *zookeeper) wipe(ctx context.Context) error { return z.run(ctx, "clean") }

// cleanup stops it and deletes its directory, if it was ever started.
func (z *zookeeper) cleanup() {
	if z.used {
		_ = z.run(context.Background(), "clean")
	}
}

// instances counts the nodes under chroot/services/name, through a session
// of its own (what a fresh caller would find). It gives up after 500 ms,
// so that one slow attempt (zk pauses a second between rounds of dials)
// does not stand for the registration being slow.
func (z *zookeeper) instances(chroot, name string) (int, error) {
	conn, events, err := zk.Connect([]string{z.addr()}, 2*time.Second,
		zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	deadline := time.After(500 * time.Millisecond)
	for session := false; !session; {
		select {
		case ev := <-events:
			session = ev.State == zk.StateHasSession
		case <-deadline:
			return 0, errors.New("no session within 500ms")
		}
	}
	kids, _, err := conn.Children(filepath.Join("/", chroot, "services", name))
	if err == zk.ErrNoNode {
		return 0, nil
	}
	return len(kids), err
}

// waitInstances polls until at least n instances are registered, and says
// how long that took; ok is false when d passed first.
func (z *zookeeper) waitInstances(ctx context.Context, chroot, name string, n int, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		if got, err := z.instances(chroot, name); err == nil && got >= n {
			return time.Since(start), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), false
}
