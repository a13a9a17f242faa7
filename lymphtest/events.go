package lymphtest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lymphgo/lymph/events"
	"github.com/lymphgo/lymph/internal/codec"
)

var busNamespaces atomic.Int64

// Bus returns an in-process event bus no other test shares, closed when the
// test ends. Give it to every container of the test with
// lymph.WithEventBus(bus): their handlers and emits meet there, with the
// same queue semantics as RabbitMQ (shared queues, broadcast, retry, delay).
func Bus(t testing.TB) *events.Bus {
	t.Helper()
	b, err := events.Open(fmt.Sprintf("memory:lymphtest-%d-%d", time.Now().UnixNano(), busNamespaces.Add(1)))
	if err != nil {
		t.Fatalf("lymphtest: event bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Recorder records every event emitted on a bus (lymph's
// EventMockTestCase, without mocking): assert what a service emitted.
type Recorder struct {
	mu     sync.Mutex
	events []*events.Event
	more   chan struct{} // closed and replaced on every event
}

// Record starts recording the events of bus whose types match the patterns
// ("#" when none), through a private queue of its own.
func Record(t testing.TB, bus *events.Bus, patterns ...string) *Recorder {
	t.Helper()
	if len(patterns) == 0 {
		patterns = []string{"#"}
	}
	r := &Recorder{more: make(chan struct{})}
	sub, err := bus.Subscribe(context.Background(), events.Subscription{Queue: "lymphtest-recorder", Types: patterns, Broadcast: true},
		func(_ context.Context, ev *events.Event) error {
			r.mu.Lock()
			r.events = append(r.events, ev)
			close(r.more)
			r.more = make(chan struct{})
			r.mu.Unlock()
			return nil
		})
	if err != nil {
		t.Fatalf("lymphtest: recorder: %v", err)
	}
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	return r
}

// Events returns the events recorded so far, in arrival order.
func (r *Recorder) Events() []*events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*events.Event(nil), r.events...)
}

// Wait returns the first recorded event of type eventType, waiting for it
// up to ten seconds (failing the test then).
func (r *Recorder) Wait(t testing.TB, eventType string) *events.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if ev.Type == eventType {
				r.mu.Unlock()
				return ev
			}
		}
		more := r.more
		r.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("lymphtest: no %q event was emitted (recorded: %v)", eventType, r.types())
			return nil
		}
	}
}

// AssertEmitted waits for an event of type eventType and fails the test
// unless its body equals body, compared after both went through lymph's
// msgpack (so a struct and the map it encodes to are equal).
func (r *Recorder) AssertEmitted(t testing.TB, eventType string, body any) *events.Event {
	t.Helper()
	ev := r.Wait(t, eventType)
	var want, got any
	if b, err := codec.Marshal(body); err != nil || codec.Unmarshal(b, &want) != nil {
		t.Fatalf("lymphtest: cannot encode the expected body %#v", body)
	}
	if b, err := codec.Marshal(ev.Body); err != nil || codec.Unmarshal(b, &got) != nil {
		t.Fatalf("lymphtest: cannot encode the event's body %#v", ev.Body)
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("lymphtest: event %q has body %#v, want %#v", eventType, got, want)
	}
	return ev
}

func (r *Recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.events))
	for _, ev := range r.events {
		out = append(out, ev.Type)
	}
	return out
}
