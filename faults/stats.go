package main

import (
	"math"
	"slices"
	"time"
)

// timeToFail returns, for each failure, how long after the fault it
// failed: from the latest fault at or before its end, or from its own
// start when no fault came before it (a fault-free scenario, or a call that
// fails on its own, like an oversized request).
func timeToFail(failures []Failure, faults []int64) []time.Duration {
	sorted := slices.Clone(faults)
	slices.Sort(sorted)
	out := make([]time.Duration, 0, len(failures))
	for _, f := range failures {
		ref := f.Start
		// The last fault not after the failure.
		if i, _ := slices.BinarySearch(sorted, f.End+1); i > 0 {
			ref = sorted[i-1]
		}
		out = append(out, time.Duration(f.End-ref))
	}
	return out
}

// percentiles are p50, p99 and the maximum of a set of durations.
type percentiles struct {
	n             int
	p50, p99, max time.Duration
}

func percentilesOf(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
	}
	return percentiles{n: len(s), p50: at(0.50), p99: at(0.99), max: s[len(s)-1]}
}

// throughput compares the worst full second with normal: the median second
// before the first fault (all seconds when there is no fault, or none
// before it). ratio is worst/normal; ok is false with no full second.
type throughput struct {
	worst, normal int64
	ratio         float64
	ok            bool
}

func throughputOf(perSecond []int64, startNs int64, faults []int64) throughput {
	if len(perSecond) == 0 {
		return throughput{}
	}
	split := 0 // seconds before the first fault
	if len(faults) > 0 {
		first := slices.Min(faults)
		split = max(0, min(len(perSecond), int((first-startNs)/int64(time.Second))))
	}
	base, after := perSecond[:split], perSecond[split:]
	if len(base) == 0 {
		base = perSecond
	}
	if len(after) == 0 {
		after = perSecond
	}
	med := slices.Clone(base)
	slices.Sort(med)
	t := throughput{worst: slices.Min(after), normal: med[len(med)/2], ok: true}
	if t.normal > 0 {
		t.ratio = float64(t.worst) / float64(t.normal)
	}
	return t
}
