package lymph_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lymphgo/lymph"
)

// Greeter is a service for the examples.
type Greeter struct{ lymph.Interface }

// GreetArgs are Greet's keyword arguments.
type GreetArgs struct {
	Name string `msgpack:"name"`
}

// Greet greets the caller named in the x-user request header too.
func (*Greeter) Greet(ctx context.Context, args GreetArgs) (string, error) {
	from, _ := lymph.IncomingRequest(ctx).Header("x-user").(string)
	return "hello " + strings.ToUpper(args.Name) + " from " + from, nil
}

// A server interceptor that refuses requests without a token, and one
// that reports each call's outcome; a caller sets request headers through
// its context.
func ExampleWithInterceptors() {
	auth := lymph.ServerInterceptor(func(next lymph.ServerHandler) lymph.ServerHandler {
		return func(ctx context.Context, req *lymph.ServerRequest) lymph.Outcome {
			if req.Message.Header("x-token") != "s3cret" {
				return lymph.Outcome{Kind: lymph.OutcomeNack, Reason: "unauthenticated"}
			}
			return next(ctx, req)
		}
	})
	report := lymph.ClientInterceptor(func(next lymph.ClientHandler) lymph.ClientHandler {
		return func(ctx context.Context, call *lymph.ClientCall) error {
			err := next(ctx, call)
			fmt.Println(call.Subject, lymph.ClientOutcome(err).Kind)
			return err
		}
	})
	quiet := lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	server, _ := lymph.NewContainer(lymph.WithName("greeter"), lymph.WithRegistryURL("memory:example-interceptors"),
		lymph.WithInterceptors(auth), quiet)
	_ = server.Install(&Greeter{})
	_ = server.Start(ctx)
	defer server.Stop(ctx)
	client, _ := lymph.NewContainer(lymph.WithRegistryURL("memory:example-interceptors"), lymph.WithInterceptors(report), quiet)
	_ = client.Start(ctx)
	defer client.Stop(ctx)

	_, err := lymph.Call[string](ctx, client.Proxy("greeter"), "greet", GreetArgs{Name: "ann"})
	fmt.Println(err)
	ctx = lymph.ContextWithHeader(lymph.ContextWithHeader(ctx, "x-token", "s3cret"), "x-user", "bob")
	out, err := lymph.Call[string](ctx, client.Proxy("greeter"), "greet", GreetArgs{Name: "ann"})
	fmt.Println(out, err)
	// Output:
	// greeter.greet nack
	// lymph: request not acknowledged (NACK): greeter.greet: unauthenticated
	// greeter.greet ok
	// hello ANN from bob <nil>
}
