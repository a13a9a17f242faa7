package lymph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lymphgo/lymph"
)

// Shouter is a service for the proxy examples.
type Shouter struct{ lymph.Interface }

// Shout returns the name in upper case.
func (*Shouter) Shout(ctx context.Context, args GreetArgs) (string, error) {
	return strings.ToUpper(args.Name), nil
}

// startShouter starts a shouter 1.4.0 and a client on the registry url.
func startShouter(ctx context.Context, url string) (server, client *lymph.Container) {
	quiet := lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	server, _ = lymph.NewContainer(lymph.WithName("shouter"), lymph.WithRegistryURL(url), lymph.WithStopGrace(0), quiet)
	_ = server.Install(&Shouter{}, lymph.WithVersion("1.4.0"))
	_ = server.Start(ctx)
	client, _ = lymph.NewContainer(lymph.WithRegistryURL(url), quiet)
	_ = client.Start(ctx)
	return server, client
}

// Where a call goes (the instances of a service, of a version, or one
// instance) is the proxy; what it calls is its interface and the method.
func ExampleContainer_Proxy() {
	ctx := context.Background()
	server, client := startShouter(ctx, "memory:example-proxy")
	defer server.Stop(ctx)
	defer client.Stop(ctx)

	// Instances of shouter 1.x, from 1.2 on; the call is shouter.shout,
	// and 1.2 goes out as its version header.
	shouter := client.Proxy("shouter@1.2")
	out, err := lymph.Call[string](ctx, shouter, "shout", GreetArgs{Name: "ann"})
	fmt.Println(out, err)

	// The builtin interface of the same instances: lymph.status, without
	// shouter's version header.
	var st map[string]string
	err = shouter.Interface("lymph").Call(ctx, "status", nil, &st)
	fmt.Println(st["endpoint"] == server.Endpoint(), err)

	// One instance, no registry lookup; Request returns the reply message.
	msg, err := client.Proxy("shouter", lymph.WithInstance(server.Endpoint())).Request(ctx, "shout", GreetArgs{Name: "bob"})
	fmt.Println(msg.Type, msg.Version(), err)

	// No instance of a 2.x.
	err = client.Proxy("shouter@2").Call(ctx, "shout", GreetArgs{Name: "cy"}, nil)
	fmt.Println(errors.Is(err, lymph.ErrLookupFailure))
	// Output:
	// ANN <nil>
	// true <nil>
	// REP 1.4.0 <nil>
	// true
}

// A deferred call with a typed result: send now, read the reply later.
func ExampleDefer() {
	ctx := context.Background()
	server, client := startShouter(ctx, "memory:example-defer")
	defer server.Stop(ctx)
	defer client.Stop(ctx)

	shouter := client.Proxy("shouter")
	ann := lymph.Defer[string](ctx, shouter, "shout", GreetArgs{Name: "ann"})
	bob := lymph.Defer[string](ctx, shouter, "shout", GreetArgs{Name: "bob"})
	// ... other work while both calls are on their way ...
	b, err := bob.Get(ctx)
	fmt.Println(b, err)
	a, err := ann.Get(ctx)
	fmt.Println(a, err)
	// Output:
	// BOB <nil>
	// ANN <nil>
}
