package lymphtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphtest"
)

type greeter struct{ lymph.Interface }

type greetArgs struct {
	Name string `msgpack:"name"`
}

// Greet emits greeted.
func (g *greeter) Greet(ctx context.Context, args greetArgs) error {
	return g.Emit(ctx, "user.greeted", map[string]any{"name": args.Name})
}

// OnGreeted re-emits, to show handlers run on the test bus.
func (g *greeter) OnGreeted(ctx context.Context, ev *lymph.Event) error {
	var a greetArgs
	if err := ev.Decode(&a); err != nil {
		return err
	}
	return g.Emit(ctx, "user.thanked", greetArgs{Name: a.Name})
}

func TestBusAndRecorder(t *testing.T) {
	reg, bus := lymphtest.Registry(t), lymphtest.Bus(t)
	rec := lymphtest.Record(t, bus)
	c := lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&greeter{}, lymph.WithName("greeter"), lymph.WithHandler("OnGreeted", "user.greeted"))
	}, lymph.WithEventBus(bus))
	ctx := lymph.ContextWithTraceID(context.Background(), "t-rec")
	require.NoError(t, c.Proxy("greeter").Call(ctx, "greet", greetArgs{Name: "ann"}, nil))
	ev := rec.AssertEmitted(t, "user.greeted", map[string]any{"name": "ann"})
	assert.Equal(t, "t-rec", ev.TraceID())
	assert.Equal(t, c.Identity(), ev.Source)
	rec.AssertEmitted(t, "user.thanked", greetArgs{Name: "ann"})
	assert.Len(t, rec.Events(), 2)
}
