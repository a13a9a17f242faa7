package logstream_test

import (
	"log/slog"
	"os"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/logstream"
)

// A service whose log goes to stderr and to its log stream, registered as
// its log_endpoint so that lymph tail finds it.
func ExampleListen() {
	pub, err := logstream.Listen("tcp://127.0.0.1:0", nil)
	if err != nil {
		panic(err)
	}
	defer pub.Close()
	logger := slog.New(slog.NewMultiHandler(
		slog.NewTextHandler(os.Stderr, nil),
		pub.Handler(&logstream.HandlerOptions{Name: "echo"}),
	))
	c, err := lymph.NewContainer(lymph.WithName("echo"), lymph.WithRegistryURL("memory:"),
		lymph.WithLogger(logger), lymph.WithLogEndpoint(pub.Endpoint()))
	if err != nil {
		panic(err)
	}
	_ = c // Install, Start, ...
}
