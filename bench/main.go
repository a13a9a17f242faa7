// Command bench compares lymph's request/reply path with a raw TCP echo,
// Go's net/rpc and gRPC-go on the same echo, in the same run, and prints
// one table with ratios.
//
//	cd bench && go run .                          # every row, every target: ~3 minutes on 2 cores
//	cd bench && go run . -rows 16B-64,1M-16       # some rows
//	cd bench && go run . -targets lymph,netrpc    # some targets
//	cd bench && go run . -cpuprofile /tmp/prof    # client and server CPU profiles per row
//	cd bench && go run . -scale 5                 # five times the calls per row
//
// Every target's server and client are started first; then each row runs
// for every target in turn, so the figures a ratio compares are taken
// seconds apart, under the same load.
//
// Client and server are two processes, as in production: the command
// re-executes itself with -serve NAME for each target; the server prints
// its address on stdout and serves until its stdin closes (so a killed
// client never leaves a server behind). Over its stdin the client also asks
// for the server's CPU time (getrusage) and starts and stops its CPU
// profile. This process only runs the client path, so its allocation and
// heap figures are the client's.
//
// The rows (see plan in rows.go): payload sizes 16 B, 1 KiB, 64 KiB and
// 1 MiB; 1, 16, 64 and 1,024 calls in flight; 200 client connections
// sharing 200 calls in flight; paced rates of 5,000 and 10,000 calls/s
// with each side's CPU per call; 100 connected idle clients; and calls by
// service name through a registry with 10 versioned instances (lymph
// only). Every reply is checked against the payload.
//
// It lives in its own module so that the library's go.mod does not pull in
// gRPC for its users.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// echoClient is one target's client, safe for concurrent calls.
type echoClient interface {
	Echo(ctx context.Context, text string) (string, error)
	Close() error
}

// dialOptions are what some rows ask of a client.
type dialOptions struct {
	heartbeat bool // lymph: heartbeats on, as in production (the idle row)
	named     bool // lymph: addr is a registry URL; call echo by name
}

type target struct {
	name  string
	label string
	serve func() (addr string, stop func() error, err error)
	dial  func(addr string, o dialOptions) (echoClient, error)
}

var targets = []target{
	{name: "tcp", label: "raw TCP", serve: serveTCP, dial: dialTCP},
	{name: "netrpc", label: "net/rpc", serve: serveNetRPC, dial: dialNetRPC},
	{name: "grpc", label: "gRPC", serve: serveGRPC, dial: dialGRPC},
	{name: "lymph", label: "lymph", serve: serveLymph, dial: dialLymph},
	{name: "lymph-poll", label: "lymph-poll", serve: serveLymphPoll, dial: dialLymphPoll},
	// The calls-by-name row's server: ten versioned instances.
	{name: "lymph-named", label: "lymph", serve: serveLymphNamed, dial: dialLymph},
}

func findTarget(name string) (target, bool) {
	for _, t := range targets {
		if t.name == name {
			return t, true
		}
	}
	return target{}, false
}

func main() {
	serve := flag.String("serve", "", "run as the server of target `NAME`; the client starts these itself")
	only := flag.String("targets", "tcp,netrpc,grpc,lymph,lymph-poll", "comma-separated targets to run (tcp, netrpc, grpc, lymph, lymph-poll)")
	rows := flag.String("rows", "", "comma-separated rows to run (default all): "+strings.Join(rowNames(), ","))
	scale := flag.Float64("scale", 1, "multiplies every row's calls (e.g. 5 for 500k calls in the 16-byte concurrent rows)")
	idle := flag.Duration("idle", 10*time.Second, "how long the idle row waits")
	paced := flag.Duration("paced", 2*time.Second, "how long each paced row runs")
	profDir := flag.String("cpuprofile", "", "write client and server CPU profiles of each row into `DIR`")
	rounds := flag.Int("rounds", 1, "run each row `N` times, the targets in turn each time, and report each target's median run")
	flag.Parse()

	var err error
	if *serve != "" {
		err = serveMain(*serve, os.Stdin, os.Stdout)
	} else {
		var plan []rowSpec
		plan, err = selectRows(*rows, *scale, *idle, *paced)
		if err == nil && *rounds < 1 {
			err = fmt.Errorf("-rounds %d: at least 1", *rounds)
		}
		if err == nil {
			cfg := runConfig{rows: plan, profDir: *profDir, rounds: *rounds}
			err = clientMain(os.Stdout, strings.Split(*only, ","), cfg)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveMain is the server process: it starts the target's server, prints
// the address, and serves until stdin reaches EOF or a signal comes. Lines
// on stdin are requests, each answered with one line on stdout:
//
//	cpu            the process's CPU time so far, in nanoseconds (getrusage)
//	prof PATH      start a CPU profile into PATH; "ok"
//	unprof         stop it; "ok"
func serveMain(name string, stdin io.Reader, stdout io.Writer) error {
	t, ok := findTarget(name)
	if !ok {
		return fmt.Errorf("unknown target %q", name)
	}
	addr, stop, err := t.serve()
	if err != nil {
		return fmt.Errorf("%s server: %w", name, err)
	}
	fmt.Fprintln(stdout, addr)
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(stdin)
		var prof *os.File
		for sc.Scan() {
			cmd, arg, _ := strings.Cut(sc.Text(), " ")
			switch cmd {
			case "cpu":
				d, err := selfCPU()
				if err != nil {
					d = -1
				}
				fmt.Fprintln(stdout, int64(d))
			case "prof":
				f, err := os.Create(arg)
				if err == nil {
					err = pprof.StartCPUProfile(f)
				}
				if err != nil {
					fmt.Fprintln(stdout, "error:", err)
					continue
				}
				prof = f
				fmt.Fprintln(stdout, "ok")
			case "unprof":
				if prof != nil {
					pprof.StopCPUProfile()
					prof.Close()
					prof = nil
				}
				fmt.Fprintln(stdout, "ok")
			default:
				fmt.Fprintln(stdout, "error: unknown request", cmd)
			}
		}
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-eof:
	case <-sig:
	}
	return stop()
}

// serverProcess is a running `-serve NAME` child.
type serverProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, line by line
	addr  string
}

// startServer runs exe with args (ending in -serve NAME) and waits for the
// address it prints.
func startServer(exe string, args ...string) (*serverProcess, error) {
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &serverProcess{cmd: cmd, stdin: stdin, lines: make(chan string, 1)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- strings.TrimSpace(sc.Text())
		}
		io.Copy(io.Discard, stdout) // never block the child on a full pipe
	}()
	select {
	case p.addr = <-p.lines:
	case <-time.After(20 * time.Second):
	}
	if p.addr == "" {
		p.stop()
		return nil, fmt.Errorf("server %v printed no address", args)
	}
	return p, nil
}

// request sends one request line and returns the answer.
func (p *serverProcess) request(line string) (string, error) {
	if _, err := fmt.Fprintln(p.stdin, line); err != nil {
		return "", err
	}
	select {
	case s, ok := <-p.lines:
		if !ok {
			return "", errors.New("server exited")
		}
		if strings.HasPrefix(s, "error:") {
			return "", errors.New(s)
		}
		return s, nil
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("server did not answer %q", line)
	}
}

// cpu is the server's CPU time so far.
func (p *serverProcess) cpu() (time.Duration, error) {
	s, err := p.request("cpu")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("server CPU: %q", s)
	}
	return time.Duration(n), nil
}

// stop closes the child's stdin, which tells it to stop, and kills it if it
// has not exited in time.
func (p *serverProcess) stop() error {
	p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
		return errors.New("server did not stop within 10s; killed")
	}
}

// runConfig is what clientMain runs.
type runConfig struct {
	rows    []rowSpec
	profDir string // "" for no profiles (with rounds, the last round's)
	rounds  int    // runs of each row per target; the median is reported (0 means 1)
}

// profiler starts and stops the client's and the server's CPU profiles
// around one row.
type profiler struct {
	dir string
	srv *serverProcess
	f   *os.File
}

func (p *profiler) start(row, target string) error {
	if p.dir == "" {
		return nil
	}
	base := filepath.Join(p.dir, row+"-"+target)
	f, err := os.Create(base + "-client.pprof")
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	p.f = f
	if p.srv != nil {
		if _, err := p.srv.request("prof " + base + "-server.pprof"); err != nil {
			return err
		}
	}
	return nil
}

func (p *profiler) stop() error {
	if p.f == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := p.f.Close()
	p.f = nil
	if p.srv != nil {
		if _, e := p.srv.request("unprof"); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// clientMain measures each target against its own server process.
func clientMain(w io.Writer, names []string, cfg runConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if cfg.profDir != "" {
		if cfg.profDir, err = filepath.Abs(cfg.profDir); err != nil {
			return err
		}
		if err := os.MkdirAll(cfg.profDir, 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "echo of a string payload; client and server in separate processes over loopback TCP\n")
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS %d (client and server each)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		// Other work on the machine skews every row; say how busy it was.
		fmt.Fprintf(w, "load average at start: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	if cfg.rounds > 1 {
		fmt.Fprintf(w, "each line: the median of %d runs, the targets in turn each round\n", cfg.rounds)
	}
	fmt.Fprintln(w)

	var ts []target
	for _, name := range names {
		name = strings.TrimSpace(name)
		t, ok := findTarget(name)
		if !ok || name == "lymph-named" {
			return fmt.Errorf("unknown target %q", name)
		}
		ts = append(ts, t)
	}
	results, err := measure(exe, ts, cfg)
	if err != nil {
		return err
	}
	printResults(w, results)
	return nil
}

// subject is one target's server process and shared client, for the rows
// of one kind (plain, or by name).
type subject struct {
	env   rowEnv
	srv   *serverProcess
	named bool
}

func (s *subject) close() error {
	err := s.env.client.Close()
	if e := s.srv.stop(); e != nil && err == nil {
		err = fmt.Errorf("server: %w", e)
	}
	return err
}

// measure starts every target's server and client first, then runs the
// rows one by one, each for every target in turn: the targets a ratio
// compares run seconds apart, not minutes, so that a change in the
// machine's load (other work on a shared machine) skews them alike.
func measure(exe string, ts []target, cfg runConfig) (rs []result, err error) {
	var subjects []*subject
	defer func() {
		for _, s := range subjects {
			if e := s.close(); e != nil && err == nil {
				err = fmt.Errorf("%s: %w", s.env.target.label, e)
			}
		}
	}()
	anyNamed := false
	for _, row := range cfg.rows {
		anyNamed = anyNamed || row.named
	}
	start := func(server, t target, o dialOptions) error {
		srv, err := startServer(exe, "-serve", server.name)
		if err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		// One client, shared by all callers as net/rpc's *rpc.Client and
		// gRPC's *grpc.ClientConn are, for the rows of one connection.
		client, err := t.dial(srv.addr, o)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s: %w", t.label, err)
		}
		subjects = append(subjects, &subject{
			env: rowEnv{target: t, addr: srv.addr, dial: o, client: client, serverCPU: srv.cpu,
				prof: &profiler{dir: cfg.profDir, srv: srv}},
			srv: srv, named: o.named,
		})
		return nil
	}
	for _, t := range ts {
		if err := start(t, t, dialOptions{}); err != nil {
			return nil, err
		}
		if anyNamed && t.name == "lymph" {
			nt, _ := findTarget("lymph-named")
			if err := start(nt, t, dialOptions{named: true}); err != nil {
				return nil, err
			}
		}
	}
	rounds := max(cfg.rounds, 1)
	for _, row := range cfg.rows {
		// Round after round, every target in turn: a target's runs are
		// spread over the row's minutes as the others' are.
		runs := make([][]result, len(subjects))
		for round := range rounds {
			for i, s := range subjects {
				if s.named != row.named {
					continue
				}
				t := s.env.target
				fmt.Fprintf(os.Stderr, "bench: %s, %s (round %d of %d)...\n", row.name, t.label, round+1, rounds)
				r, err := runRow(s.env, row)
				if err != nil {
					return rs, fmt.Errorf("%s, %s: %w", row.name, t.label, err)
				}
				r.target = t.label
				runs[i] = append(runs[i], r)
			}
		}
		for _, rr := range runs {
			if len(rr) > 0 {
				rs = append(rs, median(rr))
			}
		}
	}
	return rs, nil
}

// median returns the median of one target's runs of a row: by calls per
// second, or, for the paced and idle rows, by CPU time per call (an odd
// count gives the middle run; an even one the better of the two middle
// ones).
func median(runs []result) result {
	cost := func(r *result) float64 {
		if r.row.rate > 0 || r.row.idle > 0 {
			return float64(r.clientCPU+r.serverCPU) / float64(max(r.calls, 1))
		}
		return -r.rate()
	}
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b result) int { return cmp.Compare(cost(&a), cost(&b)) })
	return sorted[(len(sorted)-1)/2]
}
