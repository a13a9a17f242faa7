package lymph_test

import (
	"context"
	"fmt"

	"github.com/lymphgo/lymph"
)

// Users handles user.created events.
type Users struct {
	lymph.Interface
	done chan struct{}
}

// OnCreated handles user.created; ctx carries the event's trace id.
func (u *Users) OnCreated(ctx context.Context, ev *lymph.Event) error {
	var user struct {
		ID int `msgpack:"id"`
	}
	if err := ev.Decode(&user); err != nil {
		return err // a failure: retried while Retry lasts, then dropped
	}
	fmt.Println(ev.Type, user.ID, lymph.TraceID(ctx))
	close(u.done)
	return nil
}

func ExampleWithHandlerOptions() {
	ctx := context.Background()
	c, _ := lymph.NewContainer(lymph.WithName("users"), lymph.WithEndpoint("tcp://127.0.0.1:0"),
		lymph.WithRegistryURL("memory:example-events"), lymph.WithEvents("memory:example-events"))
	u := &Users{done: make(chan struct{})}
	if err := c.Install(u, lymph.WithHandlerOptions("OnCreated", lymph.EventOptions{Retry: 2}, "user.created")); err != nil {
		panic(err)
	}
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	defer c.Stop(ctx)
	if err := c.Emit(lymph.ContextWithTraceID(ctx, "t-42"), "user.created", map[string]any{"id": 42}); err != nil {
		panic(err)
	}
	<-u.done
	// Output: user.created 42 t-42
}
