package otel_test

import (
	"context"
	"log/slog"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lymphgo/lymph"
	lymphotel "github.com/lymphgo/lymph/otel"
)

// Tracing a container's requests and calls, and logs that carry the trace.
func Example() {
	tp := sdktrace.NewTracerProvider() // with the exporter of your choice: sdktrace.WithBatcher(exp)
	defer tp.Shutdown(context.Background())

	tracing := lymphotel.New(lymphotel.WithTracerProvider(tp))
	logger := slog.New(lymphotel.NewLogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	c, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithInterceptors(tracing), lymph.WithLogger(logger))
	_ = c
}
