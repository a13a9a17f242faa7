package lymph

import (
	"context"
	"sync"
	"testing"
)

// The RPC path end to end, in one process over loopback TCP: proxy, codec,
// transport, dispatch, method, reply. `make bench` runs the two-process
// comparison with net/rpc and gRPC (see bench/).

type benchEcho struct{ Interface }

type benchArgs struct {
	Text string `msgpack:"text"`
}

func (*benchEcho) Echo(ctx context.Context, args benchArgs) (string, error) { return args.Text, nil }

func benchPair(b *testing.B) *Proxy {
	reg := memoryRegistry(b)
	server := startContainer(b, reg, func(c *Container) {
		if err := c.Install(&benchEcho{}, WithName("echo")); err != nil {
			b.Fatal(err)
		}
	}, WithoutHeartbeat())
	client := startContainer(b, reg, nil, WithoutHeartbeat())
	p := client.Proxy("echo", WithInstance(server.Endpoint()))
	var out string
	if err := p.Call(context.Background(), "echo", benchArgs{Text: "warm-up"}, &out); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkEchoSequential is one caller, one call at a time: round-trip
// latency.
func BenchmarkEchoSequential(b *testing.B) {
	p := benchPair(b)
	ctx := context.Background()
	args := benchArgs{Text: "hello"}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var out string
		if err := p.Call(ctx, "echo", args, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkEcho64InFlight keeps 64 calls in flight: throughput.
func BenchmarkEcho64InFlight(b *testing.B) {
	p := benchPair(b)
	ctx := context.Background()
	args := benchArgs{Text: "hello"}
	const inFlight = 64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{}, inFlight)
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				var out string
				if err := p.Call(ctx, "echo", args, &out); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
