package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph/logstream"
	"github.com/lymphgo/lymph/registry"
)

// tailRetry is how long tail waits before it reconnects to a log endpoint
// that is still registered but did not answer.
const tailRetry = time.Second

var tailLevels = map[string]int{"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

func newTailCmd(a *app) *cobra.Command {
	var level string
	cmd := &cobra.Command{
		Use:   "tail [flags] SERVICE...",
		Short: "Stream the log output of services",
		Long: `Subscribe to the log stream of every instance of each SERVICE (the
log_endpoint an instance registered: Go services with a logstream
publisher, Python lymph services always) and print each record at --level
or above to stderr, as Python lymph's tail does:

    [tcp://10.0.0.5:4000][c3c1fb6a5e] [INFO] 2024-01-31 12:30:15,123 [INFO] echo: ...

Instances that register later are followed, and those that go away are
dropped, until interrupted. A SERVICE without any instance with a log
endpoint gets "Couldn't connect to log endpoint of 'SERVICE'"; when none
has one, tail exits 1.

` + exitCodesHelp,
		Example: `  lymph tail echo
  lymph tail -l DEBUG echo billing`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			minLevel, ok := tailLevels[strings.ToUpper(level)]
			if !ok {
				return usageErrorf("--level %q: want DEBUG, INFO, WARNING, ERROR or CRITICAL", level)
			}
			for _, s := range args {
				if name, version, err := parseAddress(s); err != nil || version != "" || name != s {
					return usageErrorf("bad service name %q", s)
				}
			}
			return runTail(cmd.Context(), a, args, minLevel)
		},
	}
	cmd.Flags().StringVarP(&level, "level", "l", "INFO", "lowest log level shown: DEBUG, INFO, WARNING, ERROR, CRITICAL")
	return cmd
}

// tailer follows the log endpoints of the watched services' instances.
type tailer struct {
	a        *app
	minLevel int
	wg       sync.WaitGroup

	mu    sync.Mutex
	tails map[string]*tailConn       // by log endpoint
	owned map[string]map[string]bool // service -> log endpoints it has now
	outMu sync.Mutex
}

// tailConn is one followed log endpoint, shared by the services whose
// instances registered it.
type tailConn struct {
	refs     int
	cancel   context.CancelFunc
	endpoint string // the instance's RPC endpoint, for the prefix
	identity string
}

func runTail(ctx context.Context, a *app, services []string, minLevel int) error {
	reg, src, err := a.openRegistry()
	if err != nil {
		return err
	}
	defer reg.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := &tailer{a: a, minLevel: minLevel, tails: map[string]*tailConn{}, owned: map[string]map[string]bool{}}
	defer t.wg.Wait()
	defer cancel() // runs first: ends the watches and tails, then Wait

	found := false
	for _, name := range services {
		ch, err := reg.Watch(ctx, name)
		if err != nil {
			return &exitError{code: exitLookup, err: fmt.Errorf("registry %s: watching %s: %w", src.url, name, err)}
		}
		// The first set decides, as in lymph, whether the service has a
		// log endpoint at all; later sets are followed.
		var first []registry.Instance
		select {
		case first = <-ch:
		case <-ctx.Done():
			return nil
		}
		if t.update(ctx, name, first) == 0 {
			a.out.printf("Couldn't connect to log endpoint of '%s'\n", name)
		} else {
			found = true
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			for set := range ch {
				t.update(ctx, name, set)
			}
		}()
	}
	if !found {
		return &exitError{code: exitUsage, err: errors.New("no instance with a log endpoint")}
	}
	<-ctx.Done()
	return nil
}

// update makes the service's followed endpoints those of instances; it
// returns how many there are.
func (t *tailer) update(ctx context.Context, service string, instances []registry.Instance) int {
	now := map[string]registry.Instance{}
	for _, inst := range instances {
		if ep, _ := inst.Fields["log_endpoint"].(string); strings.HasPrefix(ep, "tcp://") {
			now[ep] = inst
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.owned[service]
	for ep := range old {
		if _, ok := now[ep]; !ok {
			tc := t.tails[ep]
			if tc.refs--; tc.refs == 0 {
				tc.cancel()
				delete(t.tails, ep)
			}
		}
	}
	owned := map[string]bool{}
	for ep, inst := range now {
		owned[ep] = true
		if old[ep] {
			continue
		}
		if tc, ok := t.tails[ep]; ok {
			tc.refs++
			continue
		}
		tctx, cancel := context.WithCancel(ctx)
		tc := &tailConn{refs: 1, cancel: cancel, endpoint: inst.Endpoint, identity: inst.Identity}
		t.tails[ep] = tc
		t.wg.Add(1)
		go t.follow(tctx, ep, tc)
	}
	t.owned[service] = owned
	return len(owned)
}

// follow prints the records of one log endpoint until ctx ends,
// reconnecting while the instance stays registered.
func (t *tailer) follow(ctx context.Context, logEndpoint string, tc *tailConn) {
	defer t.wg.Done()
	id := tc.identity
	if len(id) > 10 {
		id = id[:10]
	}
	prefix := "[" + tc.endpoint + "][" + id + "] "
	for {
		err := logstream.Tail(ctx, logEndpoint, func(r logstream.Record) {
			if lvl, ok := tailLevels[r.Level]; ok && lvl < t.minLevel {
				return
			}
			line := prefix + "[" + r.Level + "] " + strings.TrimRight(r.Line, "\n")
			t.outMu.Lock()
			t.a.errOut.println(line)
			t.outMu.Unlock()
		})
		if err != nil {
			t.a.logger.Info("log stream lost; retrying", "log_endpoint", logEndpoint, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tailRetry):
		}
	}
}
