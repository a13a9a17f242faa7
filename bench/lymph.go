package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/lymphgo/lymph"
)

// The lymph echo: a plain rpc method taking keyword argument text, the
// shape of the example service and of bench_test.go at the repo root.

type echoService struct{ lymph.Interface }

type echoArgs struct {
	Text string `msgpack:"text"`
}

func (*echoService) Echo(ctx context.Context, args echoArgs) (string, error) {
	return args.Text, nil
}

// lymphOptions are the server's and the client's: a loopback port, an
// in-process registry (the client calls the server's endpoint directly, so
// nothing is looked up), no heartbeat traffic competing with the calls, and
// no logging.
func lymphOptions(extra ...lymph.ContainerOption) []lymph.ContainerOption {
	return append([]lymph.ContainerOption{
		lymph.WithEndpoint("tcp://127.0.0.1:0"),
		lymph.WithRegistryURL("memory:"),
		lymph.WithoutHeartbeat(),
		lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}, extra...)
}

// busyPoll is the lymph-poll target's option: lymph with busy polling
// opted in on both sides (200 µs), to show what polling buys and costs.
var busyPoll = lymph.WithBusyPoll(200 * time.Microsecond)

func serveLymph() (addr string, stop func() error, err error) {
	return serveLymphWith()
}

func serveLymphPoll() (addr string, stop func() error, err error) {
	return serveLymphWith(busyPoll)
}

func serveLymphWith(extra ...lymph.ContainerOption) (addr string, stop func() error, err error) {
	c, err := lymph.NewContainer(lymphOptions(extra...)...)
	if err != nil {
		return "", nil, err
	}
	if err := c.Install(&echoService{}, lymph.WithName("echo")); err != nil {
		return "", nil, err
	}
	if err := c.Start(context.Background()); err != nil {
		return "", nil, err
	}
	return c.Endpoint(), func() error { return stopContainer(c) }, nil
}

type lymphClient struct {
	c     *lymph.Container
	proxy *lymph.Proxy
}

// dialLymph starts a client container (lymph replies come back to the
// caller's own endpoint, so a client is a container too) and one proxy to
// the server's endpoint, shared by all callers as net/rpc's *rpc.Client and
// gRPC's *grpc.ClientConn are.
func dialLymph(addr string) (echoClient, error) {
	return dialLymphWith(addr)
}

func dialLymphPoll(addr string) (echoClient, error) {
	return dialLymphWith(addr, busyPoll)
}

func dialLymphWith(addr string, extra ...lymph.ContainerOption) (echoClient, error) {
	c, err := lymph.NewContainer(lymphOptions(extra...)...)
	if err != nil {
		return nil, err
	}
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	return &lymphClient{c: c, proxy: c.Proxy("echo", lymph.WithInstance(addr))}, nil
}

func (l *lymphClient) Echo(ctx context.Context, text string) (string, error) {
	var out string
	err := l.proxy.Call(ctx, "echo", echoArgs{Text: text}, &out)
	return out, err
}

func (l *lymphClient) Close() error { return stopContainer(l.c) }

func stopContainer(c *lymph.Container) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		return fmt.Errorf("stopping lymph container: %w", err)
	}
	return nil
}
