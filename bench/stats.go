package main

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"time"
)

// result is one row: one target, one rowSpec.
type result struct {
	row       rowSpec
	target    string
	calls     int
	elapsed   time.Duration
	hist      *histogram
	mallocs   uint64        // heap objects the client process allocated during the row
	clientCPU time.Duration // CPU time of each process during the row; 0 if unknown
	serverCPU time.Duration
	start     memory // after the warm-up, before the first measured call
	end       memory // after the last measured call
}

// memory is the client process's heap: HeapAlloc is the bytes of live
// objects, HeapInuse the spans holding them (it can creep up by a few
// hundred KiB from fragmentation while HeapAlloc stays put), Sys all the
// memory the runtime got from the OS.
type memory struct{ HeapAlloc, HeapInuse, Sys uint64 }

func (r *result) rate() float64 { return float64(r.calls) / r.elapsed.Seconds() }

// mbps is the payload echoed per second, one way, in MB (10^6 bytes).
func (r *result) mbps() float64 { return r.rate() * float64(r.row.size) / 1e6 }

func (r *result) allocsPerCall() float64 { return float64(r.mallocs) / float64(r.calls) }

// perCall divides a CPU time by the calls; 0 if unknown.
func (r *result) perCall(d time.Duration) time.Duration {
	if r.calls == 0 {
		return 0
	}
	return d / time.Duration(r.calls)
}

// cpuShare is a CPU time over the row's wall time: the share of one core.
func (r *result) cpuShare(d time.Duration) float64 { return float64(d) / float64(r.elapsed) }

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

// histogram counts latencies in log-linear buckets: values below 64 ns
// exactly, above that 64 buckets per power of two, so a percentile is off by
// at most 1/64 (1.6 %). It is fixed-size arrays rather than a slice of
// samples so that recording never allocates and the client's memory stays
// the same whatever the number of calls: the allocation and heap figures
// the command prints are the RPC client's, not the harness's. Callers
// record into histShards shards (caller i into shard i % histShards) with
// atomic adds, so 1,024 callers need neither 1,024 histograms nor a lock.
type histogram struct {
	shards [histShards]histShard
}

const histShards = 16

type histShard struct {
	counts [subBuckets * 60]atomic.Uint64
	n      atomic.Uint64
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

func (h *histShard) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
	h.n.Add(1)
}

// count is the number of latencies recorded.
func (h *histogram) count() uint64 {
	var n uint64
	for i := range h.shards {
		n += h.shards[i].n.Load()
	}
	return n
}

// percentile returns the latency below which the fraction p of the calls
// fell (nearest rank).
func (h *histogram) percentile(p float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(p*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.shards[0].counts {
		for s := range h.shards {
			seen += h.shards[s].counts[i].Load()
		}
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(len(h.shards[0].counts) - 1))
}
