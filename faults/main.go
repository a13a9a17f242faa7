// Command faults is the fault suite: it starts real echo servers, load
// drivers and a private ZooKeeper, runs each fault scenario (kill -9,
// rolling SIGTERM, SIGSTOP, client churn, ZooKeeper restarts, hostile
// neighbours, a soak...) and prints one table, exiting non-zero when a
// scenario misses its target by a wide margin. See the README's "Fault
// suite" section.
//
//	go run ./faults            # the full run (many minutes)
//	go run ./faults -short     # the CI run (a few seconds per scenario)
//	go run ./faults -run 'kill|sigterm'
//
// "faults load ..." is the hidden load driver the suite starts as a
// subprocess.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "load" {
		if err := runDriver(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "faults load:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(orchestrate(os.Args[1:]))
}

// orchestrate runs the suite and returns the exit code: 0 when every
// scenario passed (misses included), 1 when one failed, 2 on bad usage, 130
// when interrupted.
func orchestrate(args []string) int {
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	short := fs.Bool("short", false, "the CI run: a few seconds per scenario")
	run := fs.String("run", "", "run only the scenarios whose name matches this regexp")
	zkPort := fs.Int("zk-port", 2191, "port of the suite's private ZooKeeper (never the shared 2181)")
	keep := fs.Bool("keep", false, "keep the temp dir (servers' and drivers' logs)")
	verbose := fs.Bool("v", false, "list every check, passed ones too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	only, err := regexp.Compile(*run)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: -run:", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "lymph-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := &env{ctx: ctx, short: *short, dir: dir, g: newGroup(dir),
		zk: &zookeeper{script: filepath.Join(".ci", "zookeeper.sh"), dir: filepath.Join(dir, "zookeeper"), port: *zkPort}}

	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			cancel()
			if e.probe != nil {
				stopCtx, stop := context.WithTimeout(context.Background(), 2*time.Second)
				e.probe.Stop(stopCtx)
				stop()
			}
			e.g.close()
			e.zk.cleanup()
			e.deleteNets()
			if *keep {
				fmt.Fprintln(os.Stderr, "faults: logs kept in", dir)
			} else {
				os.RemoveAll(dir)
			}
		})
	}
	defer cleanup()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		// Every wait of the scenarios ends with the context: the suite
		// cleans up and returns. Should it not within 15 s, or on a second
		// signal, clean up from here.
		fmt.Fprintln(os.Stderr, "faults: interrupted; killing every child")
		cancel()
		select {
		case <-sigs:
		case <-time.After(15 * time.Second):
		}
		cleanup()
		os.Exit(130)
	}()

	if err := prepare(e); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	var rows []*row
	for _, sc := range scenarios {
		if !only.MatchString(sc.name) {
			continue
		}
		rows = append(rows, runScenario(e, sc))
		if ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	mode := "full"
	if *short {
		mode = "short"
	}
	fmt.Printf("\nfault suite (%s run, %s)\n\n%s\n%s", mode, time.Now().Format(time.DateTime), formatTable(rows), formatDetails(rows, *verbose))
	code := 0
	for _, r := range rows {
		if r.verdict() == fail {
			code = 1
		}
	}
	if code != 0 {
		fmt.Println("\nfaults: FAILED (a FAIL line above names each criterion missed by a wide margin)")
	}
	return code
}

// prepare builds the echo server and starts the probe container.
func prepare(e *env) error {
	if _, err := os.Stat(filepath.Join("examples", "echo")); err != nil {
		return errors.New("run from the repository root (examples/echo not found)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	e.self = self
	e.echo = filepath.Join(e.dir, "echo")
	fmt.Fprintln(os.Stderr, "faults: building examples/echo")
	build := exec.CommandContext(e.ctx, "go", "build", "-o", e.echo, "./examples/echo")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/echo: %w: %s", err, out)
	}
	return e.startProbe()
}

// runScenario runs one scenario; whatever it started is killed when it
// ends (scenarios run one after another, so every live child is its own).
func runScenario(e *env, sc scenario) *row {
	r := &row{name: sc.name}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "faults: %s ...\n", sc.name)
	defer func() {
		e.g.killAll()
		fmt.Fprintf(os.Stderr, "faults: %s %s in %v\n", sc.name, r.verdict(), time.Since(start).Round(100*time.Millisecond))
	}()
	if sc.zk && !e.zkUp {
		if err := e.zk.start(e.ctx); err != nil {
			r.err = err
			return r
		}
		e.zkUp = true
	}
	if sc.zk {
		// A scenario may leave it stopped; the next one wants it up.
		defer func() {
			if err := e.zk.start(e.ctx); err != nil && r.err == nil {
				r.err = err
			}
		}()
	}
	if err := sc.run(e, r); err != nil {
		r.err = err
	}
	return r
}
