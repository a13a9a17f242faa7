package events

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// BenchmarkAMQP measures events per second end to end through RabbitMQ
// (emitted, confirmed, delivered, handled, acked), for lymph's Bus and for
// a plain amqp091-go publisher/consumer pair doing the same work in the
// same run (the floor): confirms on, manual acks, prefetch 64. "emitters"
// is the number of goroutines emitting, each waiting for its confirms;
// "handlers" the number of consumers sharing one queue.
//
//	LYMPH_TEST_AMQP=amqp://guest:guest@127.0.0.1:5672/ go test -run '^$' -bench AMQP ./events/
func BenchmarkAMQP(b *testing.B) {
	url := requireAMQP(b)
	for _, emitters := range []int{1, 16} {
		for _, handlers := range []int{1, 4} {
			name := fmt.Sprintf("emitters=%d/handlers=%d", emitters, handlers)
			b.Run(name+"/lymph", func(b *testing.B) { benchLymph(b, url, emitters, handlers) })
			b.Run(name+"/amqp091", func(b *testing.B) { benchPlain(b, url, emitters, handlers) })
		}
	}
}

func benchLymph(b *testing.B, url string, emitters, handlers int) {
	ctx := context.Background()
	typ, queue := randomName("bench"), randomName("bench-on")
	var handled atomic.Int64
	all := make(chan struct{})
	var n int64
	var buses []*Bus
	for range handlers {
		bus := mustOpen(b, url)
		buses = append(buses, bus)
		_, err := bus.Subscribe(ctx, Subscription{Queue: queue, Types: []string{typ}}, func(context.Context, *Event) error {
			if handled.Add(1) == atomic.LoadInt64(&n) {
				close(all)
			}
			return nil
		})
		require.NoError(b, err)
	}
	emitter := mustOpen(b, url)
	body := map[string]any{"id": 42, "name": "a user"}
	atomic.StoreInt64(&n, int64(b.N))
	b.ResetTimer()
	cpu0 := processCPU()
	runEmitters(b, emitters, func() error { return emitter.Emit(ctx, typ, body) })
	<-all
	b.StopTimer()
	report(b, cpu0)
	deleteQueue(b, url, queue)
}

func benchPlain(b *testing.B, url string, emitters, handlers int) {
	typ, queue := randomName("bench"), randomName("bench-plain")
	var handled atomic.Int64
	all := make(chan struct{})
	var n int64
	var wg sync.WaitGroup
	for range handlers {
		conn, ch := rawChannel(b, url)
		_ = conn
		require.NoError(b, ch.Qos(64, 0, false))
		_, err := ch.QueueDeclare(queue, false, false, false, false, amqp.Table{"x-ha-policy": "all"})
		require.NoError(b, err)
		require.NoError(b, ch.QueueBind(queue, typ, "lymph", false, nil))
		ds, err := ch.Consume(queue, "", false, false, false, false, nil)
		require.NoError(b, err)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range ds {
				_ = d.Ack(false)
				if handled.Add(1) == atomic.LoadInt64(&n) {
					close(all)
				}
			}
		}()
	}
	conn, ch := rawChannel(b, url)
	_ = conn
	require.NoError(b, ch.Confirm(false))
	msg := mustMarshalBody(b, typ, map[string]any{"id": 42, "name": "a user"})
	atomic.StoreInt64(&n, int64(b.N))
	b.ResetTimer()
	cpu0 := processCPU()
	runEmitters(b, emitters, func() error {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "lymph", typ, false, false, publishing(msg))
		if err != nil {
			return err
		}
		if !dc.Wait() {
			return ErrNotConfirmed
		}
		return nil
	})
	<-all
	b.StopTimer()
	report(b, cpu0)
	deleteQueue(b, url, queue)
}

// report prints events/s and this process's CPU time per event (emitters
// and handlers together; the broker's is not counted).
func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runEmitters calls emit b.N times in all from k goroutines.
func runEmitters(b *testing.B, k int, emit func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := emit(); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

func deleteQueue(b *testing.B, url, queue string) {
	_, ch := rawChannel(b, url)
	_, _ = ch.QueueDelete(queue, false, false, false)
}
