package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
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
	return append(lymphBase(), append(extra, lymph.WithoutHeartbeat())...)
}

// lymphBase is lymphOptions with lymph's heartbeats on, as in production:
// the idle row's clients.
func lymphBase(extra ...lymph.ContainerOption) []lymph.ContainerOption {
	return append([]lymph.ContainerOption{
		lymph.WithEndpoint("tcp://127.0.0.1:0"),
		lymph.WithRegistryURL("memory:"),
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

// serveLymphWith's server keeps lymph's heartbeats on, as in production:
// it pings only instances it calls, which here are none.
func serveLymphWith(extra ...lymph.ContainerOption) (addr string, stop func() error, err error) {
	c, err := lymph.NewContainer(lymphBase(extra...)...)
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
func dialLymph(addr string, o dialOptions) (echoClient, error) {
	return dialLymphWith(addr, o)
}

func dialLymphPoll(addr string, o dialOptions) (echoClient, error) {
	return dialLymphWith(addr, o, busyPoll)
}

// dialLymphWith dials addr, an endpoint; or, when o.named, addr is the
// registry URL that serveLymphNamed printed, and the proxy calls
// namedService by name.
func dialLymphWith(addr string, o dialOptions, extra ...lymph.ContainerOption) (echoClient, error) {
	opts := lymphOptions(extra...)
	if o.heartbeat {
		opts = lymphBase(extra...)
	}
	var popts []lymph.ProxyOption
	target := "echo"
	if o.named {
		opts = append(opts, lymph.WithRegistryURL(addr))
		target = namedService
	} else {
		popts = append(popts, lymph.WithInstance(addr))
	}
	c, err := lymph.NewContainer(opts...)
	if err != nil {
		return nil, err
	}
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	return &lymphClient{c: c, proxy: c.Proxy(target, popts...)}, nil
}

// namedInstances and namedService: the calls-by-name row's server is
// that many instances of echo, versions 1.0.0 to 1.9.0, registered in a
// local: registry in a fresh directory; the client asks for echo@1.0, which
// all of them satisfy, so every call parses (or should not parse) ten
// versions and balances over ten instances.
const (
	namedInstances = 10
	namedService   = "echo@1.0"
)

// serveLymphNamed starts the calls-by-name row's instances and returns the
// registry URL as the address.
func serveLymphNamed() (addr string, stop func() error, err error) {
	dir, err := os.MkdirTemp("", "lymph-bench-registry-")
	if err != nil {
		return "", nil, err
	}
	url := "local://" + dir
	var cs []*lymph.Container
	stop = func() error {
		// Together: each Stop waits out its grace period.
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Go(func() { errs[i] = stopContainer(c) })
		}
		wg.Wait()
		first := errors.Join(errs...)
		if err := os.RemoveAll(dir); err != nil && first == nil {
			first = err
		}
		return first
	}
	for i := range namedInstances {
		c, err := lymph.NewContainer(append(lymphOptions(), lymph.WithRegistryURL(url))...)
		if err == nil {
			err = c.Install(&echoService{}, lymph.WithName("echo"), lymph.WithVersion(fmt.Sprintf("1.%d.0", i)))
		}
		if err == nil {
			err = c.Start(context.Background())
		}
		if err != nil {
			stop()
			return "", nil, err
		}
		cs = append(cs, c)
	}
	return url, stop, nil
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
