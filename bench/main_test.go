package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines, the repo's rule. When this test
// binary is re-executed with -serve NAME (TestTwoProcesses) it is the
// server instead, as the bench command is.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "-serve" {
		if err := serveMain(os.Args[2], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	idleSettle = 10 * time.Millisecond
	goleak.VerifyTestMain(m)
}

// TestHarness runs each target's server and client in this process for a
// few calls per row kind, through the same code as the command: it proves
// the harness works, not how fast anything is.
func TestHarness(t *testing.T) {
	for _, tg := range targets {
		if tg.name == "lymph-named" {
			continue // the byname row of TestTwoProcesses
		}
		t.Run(tg.name, func(t *testing.T) {
			addr, stop, err := tg.serve()
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := stop(); err != nil {
					t.Error(err)
				}
			}()
			checkRows(t, tg, addr, dialOptions{}, noServerCPU, quickRows(false)) // selfCPU counts the server too
		})
	}
}

// TestTwoProcesses is the command's own layout: the server is this binary
// re-executed, the address read from its stdout, its CPU time and profile
// asked for over its stdin.
func TestTwoProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tcp", "lymph", "lymph-named"} {
		t.Run(name, func(t *testing.T) {
			server, _ := findTarget(name)
			srv, err := startServer(exe, "-serve", server.name)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.stop(); err != nil {
					t.Error(err)
				}
			}()
			tg, rows, o := server, quickRows(false), dialOptions{}
			if name == "lymph-named" {
				tg, _ = findTarget("lymph")
				rows, o = quickRows(true), dialOptions{named: true}
			}
			prof := &profiler{dir: t.TempDir(), srv: srv}
			if err := prof.start("check", tg.name); err != nil {
				t.Fatal(err)
			}
			checkRows(t, tg, srv.addr, o, srv.cpu, rows)
			if err := prof.stop(); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{"client", "server"} {
				if st, err := os.Stat(prof.dir + "/check-" + tg.name + "-" + side + ".pprof"); err != nil || st.Size() == 0 {
					t.Errorf("%s profile: %v", side, err)
				}
			}
		})
	}
}

// TestMeasure runs the command's loop, rows outside and targets inside,
// over two targets and a by-name row, and prints the table.
func TestMeasure(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tcp, _ := findTarget("tcp")
	lymph, _ := findTarget("lymph")
	rows := append(quickRows(false)[:2], quickRows(true)...)
	rs, err := measure(exe, []target{tcp, lymph}, runConfig{rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 { // two rows for both, the by-name row for lymph
		t.Fatalf("%d results, want 5", len(rs))
	}
	if rs[0].row.name != "seq" || rs[1].row.name != "seq" || rs[0].target != "raw TCP" || rs[1].target != "lymph" {
		t.Errorf("not row by row: %s %s, %s %s", rs[0].row.name, rs[0].target, rs[1].row.name, rs[1].target)
	}
	var sb strings.Builder
	printResults(&sb, rs)
	if !strings.Contains(sb.String(), "byname") {
		t.Errorf("no by-name row in:\n%s", sb.String())
	}
}

// quickRows is one row of each kind, a few calls each.
func quickRows(named bool) []rowSpec {
	if named {
		return []rowSpec{{name: "byname", size: 16, inflight: 4, calls: 50, named: true}}
	}
	return []rowSpec{
		{name: "seq", size: 16, inflight: 1, calls: 50},
		{name: "big", size: 70 << 10, inflight: 4, calls: 20},
		{name: "conns", size: 16, inflight: 6, conns: 3, calls: 60},
		{name: "paced", size: 16, inflight: 4, rate: 2000, calls: 40},
		{name: "idle", size: 16, conns: 2, idle: 50 * time.Millisecond},
	}
}

func noServerCPU() (time.Duration, error) { return 0, nil }

func checkRows(t *testing.T, tg target, addr string, o dialOptions, server cpuTime, rows []rowSpec) {
	t.Helper()
	client, err := tg.dial(addr, o)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := client.Close(); err != nil {
			t.Error(err)
		}
	}()
	env := rowEnv{target: tg, addr: addr, dial: o, client: client, serverCPU: server, prof: &profiler{}}
	var rs []result
	for _, row := range rows {
		r, err := runRow(env, row)
		if err != nil {
			t.Fatalf("%s: %v", row.name, err)
		}
		r.target = tg.label
		rs = append(rs, r)
		if row.idle > 0 {
			if r.elapsed < row.idle {
				t.Errorf("%s: waited %v, want %v", row.name, r.elapsed, row.idle)
			}
			continue
		}
		if n := r.hist.count(); n != uint64(row.calls) {
			t.Errorf("%s: %d latencies recorded, want %d", row.name, n, row.calls)
		}
		if r.hist.percentile(0.99) < r.hist.percentile(0.50) {
			t.Errorf("%s: p99 %v below p50 %v", row.name, r.hist.percentile(0.99), r.hist.percentile(0.50))
		}
	}
	var sb strings.Builder
	printResults(&sb, rs)
	if !strings.Contains(sb.String(), rows[0].name) {
		t.Errorf("table lacks row %s:\n%s", rows[0].name, sb.String())
	}
}

// TestHistogram checks the bucket arithmetic: every value lands in a bucket
// whose middle is within 1/64 of it.
func TestHistogram(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 12345, 1 << 20, 987654321, 1<<63 + 12345} {
		mid := bucketMid(bucketOf(v))
		diff := float64(mid) - float64(v)
		if diff < 0 {
			diff = -diff
		}
		if v >= 64 && diff > float64(v)/64 || v < 64 && mid != v {
			t.Errorf("value %d: bucket middle %d", v, mid)
		}
	}
	h := new(histogram)
	for i := 1; i <= 1000; i++ {
		h.shards[i%histShards].record(time.Duration(i) * time.Microsecond)
	}
	if p := h.percentile(0.5); p < 490*time.Microsecond || p > 510*time.Microsecond {
		t.Errorf("p50 of 1..1000µs = %v", p)
	}
	if p := h.percentile(0.99); p < 975*time.Microsecond || p > 1005*time.Microsecond {
		t.Errorf("p99 of 1..1000µs = %v", p)
	}
}

// TestSelectRows checks the -rows and -scale handling.
func TestSelectRows(t *testing.T) {
	all, err := selectRows("", 1, time.Second, time.Second)
	if err != nil || len(all) != len(plan) {
		t.Fatalf("all rows: %d, %v", len(all), err)
	}
	some, err := selectRows("1M-1,paced5k", 2, time.Second, 3*time.Second)
	if err != nil || len(some) != 2 {
		t.Fatalf("two rows: %v, %v", some, err)
	}
	if some[0].calls != 600 || some[1].calls != 30_000 {
		t.Errorf("scaled calls: %d and %d", some[0].calls, some[1].calls)
	}
	if _, err := selectRows("nope", 1, time.Second, time.Second); err == nil {
		t.Error("no error for an unknown row")
	}
}

// TestMedian: each target's median run, by calls per second, or by CPU per
// call for the paced and idle rows.
func TestMedian(t *testing.T) {
	run := func(row rowSpec, elapsed, cpu time.Duration) result {
		return result{row: row, calls: 100, elapsed: elapsed, clientCPU: cpu, serverCPU: cpu}
	}
	plain := rowSpec{name: "16B-1"}
	if got := median([]result{run(plain, 3*time.Second, 0), run(plain, time.Second, 0), run(plain, 2*time.Second, 0)}); got.elapsed != 2*time.Second {
		t.Errorf("median of three took %v, want the middle rate's 2s", got.elapsed)
	}
	if got := median([]result{run(plain, 3*time.Second, 0), run(plain, time.Second, 0)}); got.elapsed != time.Second {
		t.Errorf("median of two took %v, want the faster's 1s", got.elapsed)
	}
	paced := rowSpec{name: "paced5k", rate: 5000}
	if got := median([]result{run(paced, time.Second, 3*time.Millisecond), run(paced, time.Second, time.Millisecond), run(paced, time.Second, 2*time.Millisecond)}); got.clientCPU != 2*time.Millisecond {
		t.Errorf("paced median has %v of client CPU, want the middle 2ms", got.clientCPU)
	}
}
