package transport

// Run: go test -run '^$' -bench . -benchmem ./internal/transport/

import (
	"bufio"
	"bytes"
	"context"
	"sync"
	"testing"
)

// benchPair starts an echo server (replying from its Handler) and a client
// whose Handler hands each reply to the waiter registered for its subject.
func benchPair(b *testing.B) (client, srv *Transport, waiters *sync.Map) {
	b.Helper()
	ready := make(chan struct{})
	srv = listen(b, Options{Handler: func(in Incoming) {
		<-ready
		_ = srv.Send(context.Background(), in.Sender, NewID(), TypeREP, in.ID, in.Headers, in.Body)
	}})
	close(ready)
	waiters = new(sync.Map)
	client = listen(b, Options{Handler: func(in Incoming) {
		if ch, ok := waiters.LoadAndDelete(in.Subject); ok {
			ch.(chan Incoming) <- in
		}
	}})
	return client, srv, waiters
}

// reportWrites reports the write system calls per message, both sides
// together (a call is two messages): what write batching saves.
func reportWrites(b *testing.B, client, srv *Transport) {
	c, s := client.Stats(), srv.Stats()
	b.ReportMetric(float64(c.Flushes+s.Flushes)/float64(c.MessagesOut+s.MessagesOut), "writes/msg")
}

var (
	benchHeaders = []byte("\x82\xa8trace_id\xd9\x2001234567890123456789012345678901\xa7version\xc0")
	benchBody    = []byte("\x81\xa4text\xa3foo")
)

// BenchmarkRoundTrip: one request, then its reply, then the next.
func BenchmarkRoundTrip(b *testing.B) {
	client, srvT, waiters := benchPair(b)
	server := srvT.Endpoint()
	ctx := context.Background()
	ch := make(chan Incoming, 1)
	b.ReportAllocs()
	for b.Loop() {
		id := NewID()
		waiters.Store(id, ch)
		if err := client.Send(ctx, server, id, TypeREQ, "echo.upper", benchHeaders, benchBody); err != nil {
			b.Fatal(err)
		}
		<-ch
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	reportWrites(b, client, srvT)
}

// BenchmarkRoundTripParallel: many callers, each waiting for its replies.
func BenchmarkRoundTripParallel(b *testing.B) {
	client, srvT, waiters := benchPair(b)
	server := srvT.Endpoint()
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32) // 64 callers on 2 Ps
	b.RunParallel(func(pb *testing.PB) {
		ch := make(chan Incoming, 1)
		for pb.Next() {
			id := NewID()
			waiters.Store(id, ch)
			if err := client.Send(ctx, server, id, TypeREQ, "echo.upper", benchHeaders, benchBody); err != nil {
				b.Error(err)
				return
			}
			<-ch
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	reportWrites(b, client, srvT)
}

// BenchmarkSendOneWay: messages queued and written as fast as they come
// (the server only counts them).
func BenchmarkSendOneWay(b *testing.B) {
	srv := listen(b, Options{Handler: func(Incoming) {}})
	client := listen(b, Options{SendQueue: 1 << 16})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for client.Send(ctx, srv.Endpoint(), "0123456789abcdef0123456789abcdef", TypeREQ, "echo.upper", benchHeaders, benchBody) == ErrQueueFull {
		}
	}
	for srv.Stats().MessagesIn < uint64(b.N) {
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkMsgReader(b *testing.B) {
	m := outMsg{id: NewID(), typ: TypeREQ, subject: "echo.upper", headers: benchHeaders, body: benchBody}
	var buf bytes.Buffer
	w := newBatchWriter(&buf)
	writeMessage(w, &m)
	w.Flush()
	raw := buf.Bytes()
	r := bytes.NewReader(raw)
	br := bufio.NewReader(r)
	mr := newMsgReader(br, DefaultMaxMessageSize)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		r.Reset(raw)
		br.Reset(r)
		var in Incoming
		if _, err := mr.read(&in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewID()
	}
}
