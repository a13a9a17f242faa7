package lymphhttp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphhttp"
	"github.com/lymphgo/lymph/registry"
)

// A web interface beside the container's RPC interfaces, in the same
// registry.
func ExampleNew() {
	ctx := context.Background()
	reg, err := registry.Open("memory:example")
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	c, err := lymph.NewContainer(lymph.WithName("shop"), lymph.WithRegistry(reg),
		lymph.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		panic(err)
	}
	if err := c.Start(ctx); err != nil {
		panic(err)
	}
	defer c.Stop(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("/orders", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "orders, trace", lymph.TraceID(r.Context()))
	})
	web := lymphhttp.New(c, "shop", mux, lymphhttp.WithRegistry(reg), lymphhttp.WithTraceHeader("X-Request-Id", ""))
	if err := web.Start(ctx); err != nil {
		panic(err)
	}
	defer web.Stop(ctx)

	found, _ := reg.(registry.WebRegistry).LookupWeb(ctx, "shop")
	fmt.Println(len(found), "web instance of shop, port", found[0].HTTPPort == portOf(web.Addr()))
	// Output: 1 web instance of shop, port true
}

func portOf(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}
