package logstream

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// BenchmarkHandler is the cost a log call pays for the stream, with one
// subscriber reading (Go's Tail) and with none.
func BenchmarkHandler(b *testing.B) {
	for _, subscribed := range []bool{false, true} {
		name := "no subscriber"
		if subscribed {
			name = "one subscriber"
		}
		b.Run(name, func(b *testing.B) {
			p, err := Listen("tcp://127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			logger := slog.New(p.Handler(&HandlerOptions{Name: "bench"}))
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			if subscribed {
				got := make(chan struct{}, 1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					_ = Tail(ctx, p.Endpoint(), func(Record) {
						select {
						case got <- struct{}{}:
						default:
						}
					})
				}()
				for len(got) == 0 { // until the subscription has arrived
					logger.Info("warm-up")
					time.Sleep(10 * time.Millisecond)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				logger.Info("request served", "subject", "echo.upper", "ms", 0.25)
			}
			b.StopTimer()
			cancel()
			wg.Wait()
			b.ReportMetric(float64(p.Dropped()), "dropped")
		})
	}
}
