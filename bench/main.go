// Command bench compares lymph's request/reply path with Go's net/rpc and
// gRPC-go on the same echo, in the same run, and prints a table.
//
//	cd bench && go run .                 # 200k calls per row, under 2 minutes on 2 cores
//	cd bench && go run . -million        # 1M calls per row: the flat-memory check
//	cd bench && go run . -calls 20000 -targets lymph,grpc
//	cd bench && go run . -targets lymph,lymph-poll   # what busy polling does
//
// Client and server are two processes, as in production: the command
// re-executes itself with -serve NAME for each target; the server prints
// its address on stdout and serves until its stdin closes (so a killed
// client never leaves a server behind). This process only runs the client
// path, so its allocation and heap figures are the client's.
//
// Each target gets two rows, each after a warm-up: one caller making one
// call at a time (round-trip latency), then 64 callers sharing one client,
// so 64 calls are always in flight (throughput). The payload is the same
// 16-byte string for all; every reply is checked against it.
//
// It lives in its own module so that the library's go.mod does not pull in
// gRPC for its users.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unsafe"
)

// payload is what every call of every target sends and expects back.
const payload = "hello, lymph!!!!"

// echoClient is one target's client, safe for concurrent calls.
type echoClient interface {
	Echo(ctx context.Context, text string) (string, error)
	Close() error
}

type target struct {
	name  string
	label string
	serve func() (addr string, stop func() error, err error)
	dial  func(addr string) (echoClient, error)
}

var targets = []target{
	{name: "lymph", label: "lymph", serve: serveLymph, dial: dialLymph},
	{name: "lymph-poll", label: "lymph-poll", serve: serveLymphPoll, dial: dialLymphPoll},
	{name: "netrpc", label: "net/rpc", serve: serveNetRPC, dial: dialNetRPC},
	{name: "grpc", label: "gRPC", serve: serveGRPC, dial: dialGRPC},
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
	serve := flag.String("serve", "", "run as the server of target `NAME` (lymph, lymph-poll, netrpc, grpc); the client starts these itself")
	calls := flag.Int("calls", 200_000, "measured calls per row")
	million := flag.Bool("million", false, "shorthand for -calls 1000000")
	warmup := flag.Int("warmup", 10_000, "unmeasured calls before each row")
	inFlight := flag.Int("inflight", 64, "callers (calls in flight) in the concurrent rows")
	only := flag.String("targets", "lymph,netrpc,grpc", "comma-separated targets to run, lymph first for the ratios (also: lymph-poll, lymph with busy polling opted in)")
	flag.Parse()

	var err error
	if *serve != "" {
		err = serveMain(*serve, os.Stdin, os.Stdout)
	} else {
		if *million {
			*calls = 1_000_000
		}
		if *calls < 1 || *warmup < 0 || *inFlight < 1 {
			fmt.Fprintln(os.Stderr, "bench: -calls and -inflight must be at least 1, -warmup at least 0")
			os.Exit(2)
		}
		err = clientMain(os.Stdout, strings.Split(*only, ","), *calls, *warmup, *inFlight)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveMain is the server process: it starts the target's server, prints
// the address, and serves until stdin reaches EOF or a signal comes.
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
		io.Copy(io.Discard, stdin)
		close(eof)
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
	p := &serverProcess{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
		io.Copy(io.Discard, stdout) // never block the child on a full pipe
	}()
	select {
	case p.addr = <-line:
	case <-time.After(10 * time.Second):
	}
	if p.addr == "" {
		p.stop()
		return nil, fmt.Errorf("server %v printed no address", args)
	}
	return p, nil
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

// clientMain measures each target against its own server process.
func clientMain(w io.Writer, names []string, calls, warmup, inFlight int) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "echo of %q (%d bytes), %d calls per row after %d warm-up calls; client and server in separate processes over loopback TCP\n",
		payload, len(payload), calls, warmup)
	fmt.Fprintf(w, "%s %s/%s, %d CPUs, GOMAXPROCS %d (client and server each)\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		// Other work on the machine skews every row; say how busy it was.
		fmt.Fprintf(w, "load average at start: %s\n", strings.Join(strings.Fields(string(load))[:3], " "))
	}
	fmt.Fprintln(w)

	// One histogram per caller, made once for all rows: see runRow.
	hists := make([]histogram, inFlight)
	var results []result
	for _, name := range names {
		t, ok := findTarget(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("unknown target %q", name)
		}
		rs, err := measureTarget(exe, t, calls, warmup, hists)
		if err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
		results = append(results, rs...)
	}
	printResults(w, results, inFlight)
	return nil
}

func measureTarget(exe string, t target, calls, warmup int, hists []histogram) (rs []result, err error) {
	srv, err := startServer(exe, "-serve", t.name)
	if err != nil {
		return nil, err
	}
	defer func() {
		if stopErr := srv.stop(); stopErr != nil && err == nil {
			err = fmt.Errorf("server: %w", stopErr)
		}
	}()
	client, err := t.dial(srv.addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if closeErr := client.Close(); closeErr != nil && err == nil {
			err = closeErr
		}
	}()
	for _, workers := range []int{1, len(hists)} {
		fmt.Fprintf(os.Stderr, "bench: %s, %d caller(s)...\n", t.label, workers)
		if err := warmUp(client, warmup, hists[:workers]); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		r, err := runRow(client, calls, hists[:workers], processCPU(srv.cmd.Process.Pid))
		if err != nil {
			return nil, err
		}
		r.target = t.label
		rs = append(rs, r)
	}
	return rs, nil
}

func printResults(w io.Writer, rs []result, inFlight int) {
	mode := func(r result) string {
		if r.workers == 1 {
			return "sequential"
		}
		return fmt.Sprintf("%d in flight", inFlight)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\ttarget\tcalls\tcalls/s\tp50\tp99\tallocs/call\tCPU/call\t")
	for _, r := range rs {
		cpu := "?"
		if r.cpu > 0 {
			cpu = fmtDur(r.cpuPerCall())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t%.1f\t%s\t\n",
			mode(r), r.target, r.calls, r.rate(), fmtDur(r.hist.percentile(0.50)), fmtDur(r.hist.percentile(0.99)), r.allocsPerCall(), cpu)
	}
	tw.Flush()

	// Ratios of lymph to each other target, row by row: calls/s above 1
	// and latencies below 1 mean lymph is faster.
	var ratios strings.Builder
	tw = tabwriter.NewWriter(&ratios, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tratio\tcalls/s\tp50\tp99\t")
	pairs := 0
	for _, l := range rs {
		if l.target != "lymph" {
			continue
		}
		for _, o := range rs {
			if o.target == "lymph" || o.workers != l.workers {
				continue
			}
			pairs++
			fmt.Fprintf(tw, "%s\tlymph / %s\t%.2fx\t%.2fx\t%.2fx\t\n", mode(l), o.target,
				l.rate()/o.rate(),
				float64(l.hist.percentile(0.50))/float64(o.hist.percentile(0.50)),
				float64(l.hist.percentile(0.99))/float64(o.hist.percentile(0.99)))
		}
	}
	tw.Flush()
	if pairs > 0 { // none when -targets leaves out lymph or all the others
		fmt.Fprintln(w, "\nratios, lymph / other (calls/s > 1x and p50/p99 < 1x favour lymph)")
		io.WriteString(w, ratios.String())
	}

	fmt.Fprintf(w, "\nclient process memory after a collection, at the start of each row (after its warm-up) and at its end\n(the heap includes the harness's %d latency histograms, %s, in every row)\n",
		inFlight, fmtBytes(uint64(inFlight)*uint64(unsafe.Sizeof(histogram{}))))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\ttarget\tHeapAlloc start\tHeapAlloc end\tHeapInuse start\tHeapInuse end\tSys start\tSys end\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", mode(r), r.target,
			fmtBytes(r.start.HeapAlloc), fmtBytes(r.end.HeapAlloc),
			fmtBytes(r.start.HeapInuse), fmtBytes(r.end.HeapInuse), fmtBytes(r.start.Sys), fmtBytes(r.end.Sys))
	}
	tw.Flush()
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
}

func fmtBytes(b uint64) string {
	return fmt.Sprintf("%d KiB", b>>10) // KiB, so a drift of a few KiB shows
}
