package events_test

import (
	"context"
	"fmt"

	"github.com/lymphgo/lymph/events"
)

func Example() {
	ctx := context.Background()
	bus, err := events.Open("memory:example")
	if err != nil {
		panic(err)
	}
	defer bus.Close()

	done := make(chan struct{})
	sub, err := bus.Subscribe(ctx, events.Subscription{Queue: "users-on_created", Types: []string{"user.*"}},
		func(ctx context.Context, ev *events.Event) error {
			var u struct {
				ID int `msgpack:"id"`
			}
			if err := ev.Decode(&u); err != nil {
				return err // a failure: retried while Retry lasts, then dropped
			}
			fmt.Println(ev.Type, u.ID, ev.TraceID())
			close(done)
			return nil
		})
	if err != nil {
		panic(err)
	}
	defer sub.Stop(ctx)

	if err := bus.Emit(ctx, "user.created", map[string]any{"id": 42}, events.WithTraceID("t-1")); err != nil {
		panic(err)
	}
	<-done
	// Output: user.created 42 t-1
}
