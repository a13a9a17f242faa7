// Command echo runs the example echo service.
//
//	go run ./examples/echo                       # service and client in one process
//	go run ./examples/echo serve --endpoint tcp://127.0.0.1:4000 [--registry URL] [--metrics 127.0.0.1:9100]
//	go run ./examples/echo serve --endpoint tcp://0.0.0.0:4000 --advertise-ip 10.0.0.5
//
// The first form starts the service, calls each of its methods through a
// proxy, prints what each call returned, and stops. The second serves until
// SIGINT or SIGTERM, so the lymph tool and Python peers can call it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lymphgo/lymph"
	lymphprom "github.com/lymphgo/lymph/prometheus"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	mode := "demo"
	if len(args) > 0 && args[0] == "serve" {
		mode, args = "serve", args[1:]
	}
	fs := flag.NewFlagSet("echo "+mode, flag.ContinueOnError)
	endpoint := fs.String("endpoint", "tcp://127.0.0.1:0", "endpoint to bind, tcp://host:port (port 0 picks one)")
	advertiseIP := fs.String("advertise-ip", "", "IP peers reach this service on, when --endpoint binds every address (tcp://0.0.0.0:PORT); default $LYMPH_NODE_IP")
	registryURL := fs.String("registry", "", "registry URL (zookeeper://host:2181/lymph, local:, memory:); default $LYMPH_REGISTRY or local:")
	version := fs.String("version", "", "interface version to serve, semver (default: none)")
	verbose := fs.Bool("v", false, "log at debug level")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9100)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The demo provokes a NACK on purpose; its warning would only clutter
	// the output. Serving logs at Info.
	level := slog.LevelError
	if mode == "serve" {
		level = slog.LevelInfo
	}
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := []lymph.ContainerOption{lymph.WithName("echo"), lymph.WithEndpoint(*endpoint), lymph.WithLogger(logger)}
	if *registryURL != "" {
		opts = append(opts, lymph.WithRegistryURL(*registryURL))
	}
	if *advertiseIP != "" {
		opts = append(opts, lymph.WithAdvertiseIP(*advertiseIP))
	}
	var metrics *lymphprom.Server
	if *metricsAddr != "" {
		var err error
		if metrics, err = lymphprom.Listen(*metricsAddr); err != nil {
			return err
		}
		defer metrics.Close()
		opts = append(opts, lymph.WithInterceptors(metrics.Metrics()))
	}
	c, err := lymph.NewContainer(opts...)
	if err != nil {
		return err
	}
	if metrics != nil {
		metrics.Serve(c)
		fmt.Printf("metrics on http://%s/metrics\n", metrics.Addr())
	}
	if err := install(c, *version, mode == "serve"); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if mode == "serve" {
		// Start, serve until SIGINT or SIGTERM, then stop gracefully: a
		// deploy loses no call.
		return c.Serve(ctx, 5*time.Second)
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Stop(stopCtx)
	}()
	return demo(ctx, c)
}

// demo calls every method of the service through a proxy, as any client
// would, and prints what came back.
func demo(ctx context.Context, c *lymph.Container) error {
	echo := c.Proxy("echo")
	fmt.Printf("echo service at %s\n", c.Endpoint())

	upper, err := lymph.Call[string](ctx, echo, "upper", TextArgs{Text: "foo"})
	fmt.Printf("echo.upper(text=%q)   -> %q, err=%v\n", "foo", upper, err)
	if err != nil {
		return err
	}

	echoed, err := lymph.Call[string](ctx, echo, "echo", TextArgs{Text: "hello"})
	fmt.Printf("echo.echo(text=%q)  -> %q, err=%v\n", "hello", echoed, err)

	err = echo.Call(ctx, "fail", TextArgs{Text: "no way"}, nil)
	var remote *lymph.RemoteError
	fmt.Printf("echo.fail(text=%q) -> err=%v (declared Nope: %v)\n", "no way", err, errors.As(err, &remote) && errors.Is(err, ErrNope))

	future := echo.Defer(ctx, "sleep", SleepArgs{Seconds: 0.1})
	fmt.Printf("echo.sleep(seconds=0.1) deferred; waiting...\n")
	err = future.Get(ctx, nil)
	fmt.Printf("echo.sleep(seconds=0.1) -> err=%v\n", err)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = echo.Call(short, "sleep", SleepArgs{Seconds: 1}, nil)
	fmt.Printf("echo.sleep(seconds=1) with a 200ms deadline -> err=%v (timeout: %v)\n", err, errors.Is(err, lymph.ErrTimeout))

	err = echo.Call(ctx, "no_such_method", nil, nil)
	fmt.Printf("echo.no_such_method() -> err=%v (nack: %v)\n", err, errors.Is(err, lymph.ErrNack))

	// The builtin interface of this very instance, by endpoint.
	var pong string
	err = c.Proxy("lymph", lymph.WithInstance(c.Endpoint())).Call(ctx, "ping", map[string]any{"payload": "hi"}, &pong)
	fmt.Printf("lymph.ping(payload=%q) -> %q, err=%v\n", "hi", pong, err)
	return nil
}
