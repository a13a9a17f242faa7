package lymph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lymphgo/lymph"
)

// Echo is the service of the package example: reachable as "echo".
type Echo struct{ lymph.Interface }

// UpperArgs are Upper's keyword arguments: {"text": ...} on the wire.
type UpperArgs struct {
	Text string `msgpack:"text"`
}

// Upper returns the text in upper case (becomes echo.upper).
func (*Echo) Upper(ctx context.Context, args UpperArgs) (string, error) {
	return strings.ToUpper(args.Text), nil
}

// ErrTooLong is an error Shorten declares: callers get it back by name.
var ErrTooLong = lymph.NewErrorType("TooLong")

// Shorten refuses texts over ten bytes with its declared error.
func (*Echo) Shorten(ctx context.Context, args UpperArgs) (string, error) {
	if len(args.Text) > 10 {
		return "", fmt.Errorf("%w: %d bytes", ErrTooLong, len(args.Text))
	}
	return args.Text, nil
}

// Confirm is a raw method (lymph's raw_rpc): it answers through the
// channel, here with an ACK before a reply could be sent.
func (*Echo) Confirm(ch *lymph.ReplyChannel, args UpperArgs) {
	if args.Text == "" {
		_ = ch.Nack()
		return
	}
	_ = ch.Ack()
	_ = ch.AckUnlessReplied() // nothing more goes out: one reply per request
}

func quiet() lymph.ContainerOption {
	return lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// A service and a client, in one process, on an in-memory registry: the
// client finds the service by name.
func Example() {
	ctx := context.Background()
	server, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL("memory:example"), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := server.Install(&Echo{}, lymph.WithRaises("Shorten", ErrTooLong)); err != nil {
		fmt.Println(err)
		return
	}
	if err := server.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer server.Stop(ctx)

	client, _ := lymph.NewContainer(lymph.WithRegistryURL("memory:example"), quiet())
	_ = client.Start(ctx)
	defer client.Stop(ctx)

	echo := client.Proxy("echo")
	out, err := lymph.Call[string](ctx, echo, "upper", UpperArgs{Text: "hello"})
	fmt.Println(out, err)
	// Output: HELLO <nil>
}

// A declared error comes back as a *lymph.RemoteError that errors.Is
// matches against the ErrorType; anything else a method returns is a NACK.
func ExampleNewErrorType() {
	ctx := context.Background()
	server, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL("memory:example-errors"), quiet())
	_ = server.Install(&Echo{}, lymph.WithRaises("Shorten", ErrTooLong))
	_ = server.Start(ctx)
	defer server.Stop(ctx)
	client, _ := lymph.NewContainer(lymph.WithRegistryURL("memory:example-errors"), quiet())
	_ = client.Start(ctx)
	defer client.Stop(ctx)

	_, err := lymph.Call[string](ctx, client.Proxy("echo"), "shorten", UpperArgs{Text: "far too long a text"})
	var remote *lymph.RemoteError
	fmt.Println(errors.Is(err, ErrTooLong), errors.As(err, &remote) && remote.Type == "TooLong")
	fmt.Println(remote.Message)

	err = client.Proxy("echo").Call(ctx, "no_such_method", nil, nil)
	fmt.Println(errors.Is(err, lymph.ErrNack))
	// Output:
	// true true
	// TooLong: 19 bytes
	// true
}

// A raw method decides what goes back: here an ACK, which the caller sees
// as a reply of type ACK with no value; a NACK is ErrNack.
func ExampleReplyChannel() {
	ctx := context.Background()
	server, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL("memory:example-raw"), quiet())
	_ = server.Install(&Echo{}, lymph.WithRaises("Shorten", ErrTooLong))
	_ = server.Start(ctx)
	defer server.Stop(ctx)
	client, _ := lymph.NewContainer(lymph.WithRegistryURL("memory:example-raw"), quiet())
	_ = client.Start(ctx)
	defer client.Stop(ctx)

	echo := client.Proxy("echo")
	msg, err := echo.Request(ctx, "confirm", UpperArgs{Text: "ok"})
	fmt.Println(msg.Type, err)
	_, err = echo.Request(ctx, "confirm", UpperArgs{})
	fmt.Println(errors.Is(err, lymph.ErrNack))
	// Output:
	// ACK <nil>
	// true
}

// Serve is a service's whole main: start, serve until the context ends or
// SIGINT/SIGTERM arrives, then stop gracefully within the timeout. Here the
// context ends after one call, as a signal would end it.
func ExampleContainer_Serve() {
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL("memory:example-serve"), quiet())
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Install(&Echo{})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- c.Serve(ctx, 5*time.Second) }()

	client, _ := lymph.NewContainer(lymph.WithRegistryURL("memory:example-serve"), quiet())
	_ = client.Start(context.Background())
	defer client.Stop(context.Background())
	// The first call may come before the service registered: wait for it.
	var out string
	for range 100 {
		if out, err = lymph.Call[string](context.Background(), client.Proxy("echo"), "upper", UpperArgs{Text: "up"}); !errors.Is(err, lymph.ErrLookupFailure) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(out, err)

	stop() // as SIGTERM would
	fmt.Println(<-served)
	// Output:
	// UP <nil>
	// <nil>
}
