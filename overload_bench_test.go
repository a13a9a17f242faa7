package lymph

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The overload benchmark: a service that can do poolSize requests at a
// time, each taking serviceTime (a database with a small pool, say), so
// that its capacity is poolSize/serviceTime; open-loop callers offer a
// multiple of what it really does for loadDuration, each call with callTimeout. It reports
// goodput (calls answered in time, per second, and as a share of the
// capacity measured first), the p99 latency of those calls, and the peak heap and
// goroutines, with the in-flight limit off and on:
//
//	go test -run '^$' -bench BenchmarkOverload -benchtime 1x .
const (
	poolSize     = 4
	serviceTime  = 2 * time.Millisecond
	loadDuration = 2 * time.Second
	callTimeout  = 500 * time.Millisecond
)

// poolService serves one request per free slot of its pool.
type poolService struct {
	Interface
	pool chan struct{}
}

// Work takes a slot for serviceTime; a caller that gave up (its deadline
// travelled here) is not waited for.
func (s *poolService) Work(ctx context.Context) error {
	select {
	case s.pool <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	time.Sleep(serviceTime)
	<-s.pool
	return nil
}

// measureCapacity measures what the service really does, with as many
// closed-loop callers as twice its pool: the reference for the offered
// load and for %capacity (sleeps overshoot, and the machine is shared).
func measureCapacity(b *testing.B) float64 {
	reg := memoryRegistry(b)
	svc := &poolService{pool: make(chan struct{}, poolSize)}
	server := startContainer(b, reg, func(c *Container) {
		if err := c.Install(svc, WithName("pool")); err != nil {
			b.Fatal(err)
		}
	}, WithoutHeartbeat())
	client := startContainer(b, reg, nil, WithoutHeartbeat())
	p := client.Proxy("pool", WithInstance(server.Endpoint()))
	var done atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 * poolSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < loadDuration {
				if err := p.Call(context.Background(), "work", nil, nil); err == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func BenchmarkOverload(b *testing.B) {
	capacity := measureCapacity(b)
	b.Logf("capacity: %.0f calls/s (nominal %.0f)", capacity, float64(poolSize)/serviceTime.Seconds())
	for _, tc := range []struct {
		name  string
		load  float64 // times capacity
		limit int
	}{
		{"unloaded", 0.25, 0},
		{"2x/limit=off", 2, 0},
		{"2x/limit=2xpool", 2, 2 * poolSize},
		{"2x/limit=4xpool", 2, 4 * poolSize},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				runOverload(b, capacity, tc.load, tc.limit)
			}
		})
	}
}

func runOverload(b *testing.B, capacity, load float64, limit int) {
	reg := memoryRegistry(b)
	svc := &poolService{pool: make(chan struct{}, poolSize)}
	server := startContainer(b, reg, func(c *Container) {
		if err := c.Install(svc, WithName("pool")); err != nil {
			b.Fatal(err)
		}
	}, WithoutHeartbeat(), WithMaxInFlight(limit))
	client := startContainer(b, reg, nil, WithoutHeartbeat())
	p := client.Proxy("pool", WithInstance(server.Endpoint()), WithTimeout(callTimeout))
	ctx := context.Background()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		refused   atomic.Int64
		late      atomic.Int64
		wg        sync.WaitGroup
	)
	var peakHeap uint64
	var peakGoroutines int
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
				peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
			}
		}
	}()

	interval := time.Duration(float64(time.Second) / (capacity * load))
	start := time.Now()
	b.ResetTimer()
	// Open loop: calls are started on schedule, whether earlier ones have
	// finished or not, as independent clients would.
	for next := start; time.Since(start) < loadDuration; next = next.Add(interval) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			err := p.Call(ctx, "work", nil, nil)
			d := time.Since(t0)
			switch {
			case err == nil:
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			case errors.Is(err, ErrOverloaded):
				refused.Add(1)
			default:
				late.Add(1)
			}
		}()
	}
	elapsed := time.Since(start)
	wg.Wait()
	b.StopTimer()
	close(stopSampling)
	<-sampled

	slices.Sort(latencies)
	p99 := time.Duration(0)
	if n := len(latencies); n > 0 {
		p99 = latencies[min(n-1, n*99/100)]
	}
	goodput := float64(len(latencies)) / elapsed.Seconds()
	b.ReportMetric(goodput, "goodput/s")
	b.ReportMetric(100*goodput/capacity, "%capacity")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(refused.Load()), "refused")
	b.ReportMetric(float64(late.Load()), "failed")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakGoroutines), "peak-goroutines")
	b.Logf("offered %.0f/s for %v: %d answered, %d refused, %d failed (timeouts)", capacity*load, loadDuration, len(latencies), refused.Load(), late.Load())
}
