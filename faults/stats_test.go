package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTimeToFail(t *testing.T) {
	s := int64(time.Second)
	faults := []int64{10 * s, 2 * s} // unsorted on purpose
	got := timeToFail([]Failure{
		{Start: 1 * s, End: 3 * s},          // in flight at the fault at 2 s
		{Start: 2*s + s/10, End: 2*s + s/2}, // sent after that fault
		{Start: s / 2, End: s},              // before any fault: from its start
		{Start: 10 * s, End: 10 * s},        // at the very instant of a fault
		{Start: 9 * s, End: 12 * s},         // the latest fault counts
	}, faults)
	assert.Equal(t, []time.Duration{time.Second, 500 * time.Millisecond, 500 * time.Millisecond, 0, 2 * time.Second}, got)
}

func TestPercentiles(t *testing.T) {
	assert.Equal(t, percentiles{}, percentilesOf(nil))
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentilesOf(ds)
	assert.Equal(t, 100, p.n)
	assert.Equal(t, 50*time.Millisecond, p.p50)
	assert.Equal(t, 99*time.Millisecond, p.p99)
	assert.Equal(t, 100*time.Millisecond, p.max)
	assert.Equal(t, time.Second, percentilesOf([]time.Duration{time.Second}).p99)
}

func TestThroughput(t *testing.T) {
	s := int64(time.Second)
	for _, tc := range []struct {
		name   string
		per    []int64
		faults []int64
		want   throughput
	}{
		{"no seconds", nil, nil, throughput{}},
		{"no fault: all seconds", []int64{100, 90, 110, 50}, nil,
			throughput{worst: 50, normal: 100, ratio: 0.5, ok: true}},
		{"baseline before the fault", []int64{100, 100, 10, 90}, []int64{1000 + 2*s},
			throughput{worst: 10, normal: 100, ratio: 0.1, ok: true}},
		{"fault before the run", []int64{100, 80}, []int64{0},
			throughput{worst: 80, normal: 100, ratio: 0.8, ok: true}},
		{"fault after the run", []int64{100, 80}, []int64{1000 + 9*s},
			throughput{worst: 80, normal: 100, ratio: 0.8, ok: true}},
		{"zero normal", []int64{0, 0}, nil, throughput{ok: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, throughputOf(tc.per, 1000, tc.faults))
		})
	}
}

func TestFailedAfter(t *testing.T) {
	ms := int64(time.Millisecond)
	res := &Result{Failures: []Failure{
		{Start: 995 * ms},  // in flight at the fault: allowed
		{Start: 1005 * ms}, // within the gap: the drop may not be seen yet
		{Start: 1020 * ms}, // sent to the dead instance
		{Start: 1500 * ms}, // likewise
		{Start: 2500 * ms}, // over a second later: after the restart
	}}
	assert.Equal(t, 2, failedAfter(res, []int64{1000 * ms}, 10*time.Millisecond))
	assert.Equal(t, 0, failedAfter(res, nil, 10*time.Millisecond))
}
