package main

import (
	"fmt"
	"os"
	"runtime"
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
	goleak.VerifyTestMain(m)
}

// TestHarness runs each target's server and client in this process for a
// few calls per mode, through the same code as the command: it proves the
// harness works, not how fast anything is.
func TestHarness(t *testing.T) {
	for _, tg := range targets {
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
			checkRows(t, tg, addr, noServerCPU) // selfCPU counts the server too
		})
	}
}

// TestTwoProcesses is the command's own layout: the server is this binary
// re-executed, the address read from its stdout.
func TestTwoProcesses(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			srv, err := startServer(exe, "-serve", tg.name)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.stop(); err != nil {
					t.Error(err)
				}
			}()
			checkRows(t, tg, srv.addr, processCPU(srv.cmd.Process.Pid))
		})
	}
}

func noServerCPU() (time.Duration, error) { return 0, nil }

func checkRows(t *testing.T, tg target, addr string, server cpuTime) {
	t.Helper()
	client, err := tg.dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := client.Close(); err != nil {
			t.Error(err)
		}
	}()
	hists := make([]histogram, 8)
	for _, workers := range []int{1, 8} {
		if err := warmUp(client, 10, hists[:workers]); err != nil {
			t.Fatal(err)
		}
		r, err := runRow(client, 100, hists[:workers], server)
		if err != nil {
			t.Fatal(err)
		}
		if r.hist.n != 100 {
			t.Errorf("%d workers: %d latencies recorded, want 100", workers, r.hist.n)
		}
		if r.hist.percentile(0.99) < r.hist.percentile(0.50) {
			t.Errorf("%d workers: p99 %v below p50 %v", workers, r.hist.percentile(0.99), r.hist.percentile(0.50))
		}
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
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	if p := h.percentile(0.5); p < 490*time.Microsecond || p > 510*time.Microsecond {
		t.Errorf("p50 of 1..1000µs = %v", p)
	}
	if p := h.percentile(0.99); p < 975*time.Microsecond || p > 1005*time.Microsecond {
		t.Errorf("p99 of 1..1000µs = %v", p)
	}
}

// TestProcessCPU checks the /proc reading against getrusage for this
// process: after burning some CPU, both have moved, and agree to within
// /proc's 10 ms resolution.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	proc := processCPU(os.Getpid())
	before, err := proc()
	if err != nil {
		t.Fatal(err)
	}
	self0, err := selfCPU()
	if err != nil {
		t.Fatal(err)
	}
	for burn := self0; burn-self0 < 100*time.Millisecond; {
		if burn, err = selfCPU(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := proc()
	if err != nil {
		t.Fatal(err)
	}
	self1, _ := selfCPU()
	if after <= before {
		t.Fatalf("/proc CPU time did not grow: %v then %v", before, after)
	}
	if d := (self1 - self0) - (after - before); d > 30*time.Millisecond || d < -30*time.Millisecond {
		t.Errorf("/proc says %v used, getrusage %v", after-before, self1-self0)
	}
	if _, err := processCPU(-1)(); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
