package prometheus_test

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lymphgo/lymph"
	lymphprom "github.com/lymphgo/lymph/prometheus"
)

// A container's metrics on /metrics of the default registry.
func Example() {
	m := lymphprom.New()
	c, _ := lymph.NewContainer(lymph.WithName("echo"), lymph.WithInterceptors(m))
	m.MustRegister(prometheus.DefaultRegisterer, c)
	http.Handle("/metrics", promhttp.Handler()) // and serve it: http.ListenAndServe(":9100", nil)
}
