package main

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// result is one row: one target, one number of callers.
type result struct {
	target  string
	workers int
	calls   int
	elapsed time.Duration
	hist    histogram
	mallocs uint64        // heap objects the process allocated during the row
	cpu     time.Duration // CPU time of client and server during the row; 0 if unknown
	start   memory        // after the warm-up, before the first measured call
	end     memory        // after the last measured call
}

// memory is the client process's heap: HeapAlloc is the bytes of live
// objects, HeapInuse the spans holding them (it can creep up by a few
// hundred KiB from fragmentation while HeapAlloc stays put), Sys all the
// memory the runtime got from the OS.
type memory struct{ HeapAlloc, HeapInuse, Sys uint64 }

func (r *result) rate() float64 { return float64(r.calls) / r.elapsed.Seconds() }

func (r *result) allocsPerCall() float64 { return float64(r.mallocs) / float64(r.calls) }

// cpuPerCall is client plus server CPU time per call, or 0 if unknown.
func (r *result) cpuPerCall() time.Duration { return r.cpu / time.Duration(r.calls) }

// runRow makes calls calls through c from len(hists) goroutines, each
// recording into its own histogram (no shared counters), and measures them.
// The caller passes the same histograms to every row, so the harness's
// share of the heap is the same constant in all of them.
//
// Mallocs is read right after the last call: it counts every heap
// allocation in this process during the row, which here is the RPC client
// path (the harness allocates nothing per call). The heap is read after
// collections, so that HeapInuse shows what is live, not how far the
// collector lagged: a leak shows as an end larger than the start.
func runRow(c echoClient, calls int, hists []histogram, server cpuTime) (result, error) {
	r := result{workers: len(hists), calls: calls}
	clear(hists)
	r.start = liveMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs

	cpu0, cpuErr := cpuSum(server)
	began := time.Now()
	err := callLoop(c, calls, hists)
	r.elapsed = time.Since(began)
	if cpu1, err := cpuSum(server); err == nil && cpuErr == nil {
		r.cpu = cpu1 - cpu0
	}

	runtime.ReadMemStats(&ms)
	r.mallocs = ms.Mallocs - mallocs
	r.end = liveMemory()
	for i := range hists {
		r.hist.merge(&hists[i])
	}
	return r, err
}

// cpuSum is the CPU time of this process and the server together.
func cpuSum(server cpuTime) (time.Duration, error) {
	c, err := selfCPU()
	if err != nil {
		return 0, err
	}
	s, err := server()
	return c + s, err
}

// liveMemory collects twice before reading: objects in sync.Pools (gRPC's
// and msgpack's buffers) survive one collection in the pools' victim cache
// and would otherwise count as live.
func liveMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{ms.HeapAlloc, ms.HeapInuse, ms.Sys}
}

// warmUp makes calls unmeasured calls, so connections, buffers and pools
// are in place (and the code is hot) before a row starts.
func warmUp(c echoClient, calls int, hists []histogram) error {
	return callLoop(c, calls, hists)
}

// callLoop has one goroutine per histogram take call numbers from a shared
// counter until calls have been made, so exactly len(hists) calls are in
// flight until the last few. The first error stops every worker.
func callLoop(c echoClient, calls int, hists []histogram) error {
	ctx := context.Background()
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for i := range hists {
		h := &hists[i]
		wg.Go(func() {
			for next.Add(1) <= int64(calls) && !failed.Load() {
				t0 := time.Now()
				out, err := c.Echo(ctx, payload)
				d := time.Since(t0)
				if err == nil && out != payload {
					err = fmt.Errorf("echo returned %q, want %q", out, payload)
				}
				if err != nil {
					errOnce.Do(func() { first = err })
					failed.Store(true)
					return
				}
				h.record(d)
			}
		})
	}
	wg.Wait()
	return first
}

// histogram counts latencies in log-linear buckets: values below 64 ns
// exactly, above that 64 buckets per power of two, so a percentile is off by
// at most 1/64 (1.6 %). It is a fixed-size array rather than a slice of
// samples so that recording never allocates and the client's memory stays
// the same whether a row runs 200k calls or 1M: the allocation and heap
// figures the command prints are the RPC client's, not the harness's.
type histogram struct {
	counts [subBuckets * 60]uint64
	n      uint64
}

const (
	subBits    = 6
	subBuckets = 1 << subBits
)

func bucketOf(ns uint64) int {
	if ns < subBuckets {
		return int(ns)
	}
	shift := bits.Len64(ns) - subBits - 1 // ns>>shift is in [64, 128)
	return (shift+1)*subBuckets + int(ns>>shift) - subBuckets
}

// bucketMid is the middle of bucket i's range: the value a percentile that
// lands in it reports.
func bucketMid(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	low := uint64(i%subBuckets+subBuckets) << shift
	return low + (uint64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the latency below which the fraction p of the calls
// fell (nearest rank).
func (h *histogram) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(len(h.counts) - 1))
}
