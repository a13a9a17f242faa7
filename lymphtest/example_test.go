package lymphtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphtest"
)

// Shout is the service under test in the examples.
type Shout struct{ lymph.Interface }

// ShoutArgs are Shout's keyword arguments.
type ShoutArgs struct {
	Text string `msgpack:"text"`
}

// Shout returns the text in upper case.
func (*Shout) Shout(ctx context.Context, args ShoutArgs) (string, error) {
	return strings.ToUpper(args.Text), nil
}

// What a test of a service does: a registry of its own, the service, a
// client, and a real call over loopback; everything stops when the test
// ends. In a test t is its *testing.T; an example has none, so this one
// passes a stand-in that runs the cleanups when the example returns.
func ExampleStart() {
	t := newExampleT()
	defer t.cleanup()

	reg := lymphtest.Registry(t)
	lymphtest.Start(t, reg, func(c *lymph.Container) error {
		return c.Install(&Shout{}, lymph.WithName("shout"))
	})
	client := lymphtest.Start(t, reg, nil)

	out, err := lymph.Call[string](context.Background(), client.Proxy("shout"), "shout", ShoutArgs{Text: "hi"})
	fmt.Println(out, err)
	// Output: HI <nil>
}

// A test of what a service emits: the containers share an in-process bus,
// and a Recorder on it waits for the event and checks its body.
func ExampleRecord() {
	t := newExampleT()
	defer t.cleanup()

	reg, bus := lymphtest.Registry(t), lymphtest.Bus(t)
	rec := lymphtest.Record(t, bus, "user.*")
	c := lymphtest.Start(t, reg, nil, lymph.WithEventBus(bus))

	_ = c.Emit(context.Background(), "user.created", map[string]any{"id": 7})
	ev := rec.Wait(t, "user.created")
	fmt.Println(ev.Type, ev.Body)
	// Output: user.created map[id:7]
}

// exampleT is the part of testing.TB that lymphtest uses, for examples.
type exampleT struct {
	testing.TB // nil: any other method would panic
	cleanups   []func()
}

func newExampleT() *exampleT                       { return &exampleT{} }
func (t *exampleT) Helper()                        {}
func (t *exampleT) Cleanup(f func())               { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Errorf(format string, a ...any) { fmt.Printf("error: "+format+"\n", a...) }
func (t *exampleT) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }
func (t *exampleT) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
