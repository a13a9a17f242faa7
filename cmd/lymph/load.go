package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph"
)

// loadResult is what a load run measured.
type loadResult struct {
	requested int
	timings   []time.Duration // of the successful requests, sorted
	timeouts  int
	errors    int   // failures other than timeouts
	firstErr  error // the first failure seen (a non-timeout one if any)
	firstMsg  *lymph.Message
	total     time.Duration
}

func (r *loadResult) sent() int { return len(r.timings) + r.timeouts + r.errors }

// runLoad is `lymph request -N COUNT -C CONCURRENCY`: one warm-up request
// (it resolves the service and opens the connection, which the measured
// requests then share), COUNT requests from CONCURRENCY goroutines, and
// lymph's report on stdout.
func runLoad(ctx context.Context, a *app, cl *client, t target, f *requestFlags,
	call func(context.Context, any) (*lymph.Message, error), args any) error {
	if msg, err := call(ctx, args); err != nil {
		return fmt.Errorf("warm-up request failed: %w", cl.callErr(t, msg, f.traceID, err))
	}
	n, c := f.n, min(f.c, f.n)
	a.out.printf("sending %d requests, concurrency %d\n", n, c)

	var bar *progressBar
	if isTerminal(a.stderr) {
		bar = startProgress(a.stderr, n)
	}
	res := loadTest(ctx, n, c, call, args, bar)
	bar.stop()
	printReport(a.out.w, res)

	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("stopped after %d of %d requests: %w", res.sent(), n, ctx.Err())
	case res.firstErr != nil:
		return &loadError{failed: res.timeouts + res.errors, sent: res.sent(),
			err: cl.callErr(t, res.firstMsg, f.traceID, res.firstErr)}
	}
	return nil
}

// loadError fails a load run in which some requests failed; its exit code
// is the first failure's.
type loadError struct {
	failed, sent int
	err          error
}

func (e *loadError) Error() string {
	return fmt.Sprintf("%d of %d requests failed; the first: %s", e.failed, e.sent, plain(e.err))
}
func (e *loadError) Unwrap() error { return e.err }

// loadTest sends n requests from c goroutines. Each goroutine keeps its own
// timings, merged at the end, so the measured loop takes no lock.
func loadTest(ctx context.Context, n, c int, call func(context.Context, any) (*lymph.Message, error),
	args any, bar *progressBar) *loadResult {
	type part struct {
		timings            []time.Duration
		timeouts, errors   int
		firstErr, firstTmo error
		firstMsg           *lymph.Message
	}
	parts := make([]part, c)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range parts {
		wg.Add(1)
		go func(p *part) {
			defer wg.Done()
			p.timings = make([]time.Duration, 0, n/c+1)
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				t0 := time.Now()
				msg, err := call(ctx, args)
				d := time.Since(t0)
				switch {
				case err == nil:
					p.timings = append(p.timings, d)
				case ctx.Err() != nil:
					return // interrupted: this one was not answered nor timed out
				case isTimeout(err):
					p.timeouts++
					if p.firstTmo == nil {
						p.firstTmo = err
					}
				default:
					p.errors++
					if p.firstErr == nil {
						p.firstErr, p.firstMsg = err, msg
					}
				}
				bar.add()
			}
		}(&parts[w])
	}
	wg.Wait()
	res := &loadResult{requested: n, total: time.Since(start)}
	var firstTmo error
	for _, p := range parts {
		res.timings = append(res.timings, p.timings...)
		res.timeouts += p.timeouts
		res.errors += p.errors
		if res.firstErr == nil && p.firstErr != nil {
			res.firstErr, res.firstMsg = p.firstErr, p.firstMsg
		}
		if firstTmo == nil {
			firstTmo = p.firstTmo
		}
	}
	if res.firstErr == nil {
		res.firstErr = firstTmo
	}
	slices.Sort(res.timings)
	return res
}

// lymphPercentiles are the percentiles Python lymph's report lists between
// min and max.
var lymphPercentiles = []float64{50, 90, 95, 97, 98, 99, 99.5, 99.9}

// printReport writes the report in the layout of Python lymph's
// `lymph request -N` (lymph/cli/request.py), so scripts that read it keep
// working. Two changes: an "Error rate" line, for failures other than
// timeouts (lymph's tool stopped on those), and the standard deviation is
// the usual sqrt(sum((t-mean)^2)/n); lymph divided the square root by n.
func printReport(w io.Writer, r *loadResult) {
	ok := len(r.timings)
	secs := r.total.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(ok) / secs
	}
	pct := func(k int) float64 {
		if r.sent() == 0 {
			return 0
		}
		return 100 * float64(k) / float64(r.sent())
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Requests per second:   %8.2f Hz  (#req=%d)\n", rate, ok)
	if ok > 0 {
		mean, stddev := meanStddev(r.timings)
		fmt.Fprintf(w, "Mean time per request: %8.2f ms  (stddev=%.2f)\n", mean, stddev)
	} else {
		fmt.Fprintf(w, "Mean time per request: %8s ms  (stddev=n/a)\n", "n/a")
	}
	fmt.Fprintf(w, "Timeout rate:          %8.2f %%   (#req=%d)\n", pct(r.timeouts), r.timeouts)
	fmt.Fprintf(w, "Error rate:            %8.2f %%   (#req=%d)\n", pct(r.errors), r.errors)
	fmt.Fprintf(w, "Total time:            %8.2f s\n", secs)
	fmt.Fprintln(w)
	if ok == 0 {
		fmt.Fprintln(w, "Percentiles: n/a (no successful request)")
		return
	}
	fmt.Fprintln(w, "Percentiles:")
	fmt.Fprintf(w, "  0.0 %%   %8.2f ms (min)\n", ms(r.timings[0]))
	for _, p := range lymphPercentiles {
		// lymph's index: floor(p% of the count), clamped for small runs.
		i := min(int(math.Floor(0.01*p*float64(ok))), ok-1)
		fmt.Fprintf(w, "%5.1f %%   %8.2f ms\n", p, ms(r.timings[i]))
	}
	fmt.Fprintf(w, "100.0 %%   %8.2f ms (max)\n", ms(r.timings[ok-1]))
}

// meanStddev returns the mean and the population standard deviation, in
// milliseconds.
func meanStddev(ts []time.Duration) (mean, stddev float64) {
	for _, t := range ts {
		mean += ms(t)
	}
	mean /= float64(len(ts))
	for _, t := range ts {
		d := ms(t) - mean
		stddev += d * d
	}
	return mean, math.Sqrt(stddev / float64(len(ts)))
}

// progressBar draws the run's progress on a terminal (stderr), redrawn ten
// times a second rather than per request, so it costs the measured loop
// one atomic add. A nil *progressBar does nothing.
type progressBar struct {
	w      io.Writer
	total  int
	done   atomic.Int64
	quit   chan struct{}
	exited chan struct{}
}

func startProgress(w io.Writer, total int) *progressBar {
	b := &progressBar{w: w, total: total, quit: make(chan struct{}), exited: make(chan struct{})}
	go b.loop()
	return b
}

func (b *progressBar) add() {
	if b != nil {
		b.done.Add(1)
	}
}

func (b *progressBar) loop() {
	defer close(b.exited)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		b.draw()
		select {
		case <-b.quit:
			fmt.Fprint(b.w, "\r\x1b[K") // leave the line clean for the report
			return
		case <-tick.C:
		}
	}
}

func (b *progressBar) draw() {
	const width = 40
	done := min(int(b.done.Load()), b.total)
	filled := width * done / b.total
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	fmt.Fprintf(b.w, "\r[%s] %3d%% %d/%d", bar, 100*done/b.total, done, b.total)
}

// stop ends the drawing and clears the line.
func (b *progressBar) stop() {
	if b == nil {
		return
	}
	close(b.quit)
	<-b.exited
}
