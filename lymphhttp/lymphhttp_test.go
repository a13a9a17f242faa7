package lymphhttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/registry"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// traceEcho answers with the trace id its request's context carries.
var traceEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "trace="+lymph.TraceID(r.Context())+" path="+r.URL.Path)
})

func startContainer(t *testing.T) *lymph.Container {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	c, err := lymph.NewContainer(lymph.WithName("shop"), lymph.WithRegistryURL("memory:http"+hex.EncodeToString(b)),
		lymph.WithLogger(quiet()), lymph.WithoutHeartbeat())
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	t.Run("trace id from the configured header, in the context and the response", func(t *testing.T) {
		h := New(nil, "shop", traceEcho, WithTraceHeader("X-Request-Id", ""), WithLogger(quiet())).Handler()
		rec := get(t, h, "/orders", "X-Request-Id", id)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "trace="+id+" path=/orders", rec.Body.String())
		assert.Equal(t, id, rec.Header().Get("X-Trace-Id"))

		rec = get(t, h, "/orders", "X-Request-Id", "bad id with spaces")
		assert.NotEqual(t, "bad id with spaces", rec.Header().Get("X-Trace-Id"), "a bad id is replaced")
		assert.Len(t, rec.Header().Get("X-Trace-Id"), 32)
	})
	t.Run("no request header configured: a new id each time", func(t *testing.T) {
		h := New(nil, "shop", traceEcho, WithTraceHeader("", "X-Other"), WithLogger(quiet())).Handler()
		a := get(t, h, "/", "X-Trace-Id", id)
		b := get(t, h, "/")
		assert.NotEqual(t, id, a.Header().Get("X-Other"), "lymph reads no request header unless configured")
		assert.NotEqual(t, a.Header().Get("X-Other"), b.Header().Get("X-Other"))
		assert.Equal(t, "trace="+a.Header().Get("X-Other")+" path=/", a.Body.String())
	})
	t.Run("health", func(t *testing.T) {
		healthy := true
		h := New(nil, "shop", traceEcho, WithLogger(quiet()), WithHealth(DefaultHealthPath, func(context.Context) error {
			if healthy {
				return nil
			}
			return errors.New("db down")
		})).Handler()
		rec := get(t, h, "/_health/")
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Body.String(), "not the handler's")
		assert.NotEmpty(t, rec.Header().Get("X-Trace-Id"))
		healthy = false
		assert.Equal(t, http.StatusServiceUnavailable, get(t, h, "/_health/").Code)

		off := New(nil, "shop", traceEcho, WithLogger(quiet()), WithHealth("", nil)).Handler()
		rec = get(t, off, "/_health/")
		assert.Equal(t, "trace="+rec.Header().Get("X-Trace-Id")+" path=/_health/", rec.Body.String(), "health off: the handler's path")
	})
}

// TestStartZooKeeper serves on a real port and registers in a real
// ZooKeeper, where lymph's tools look: /http/NAME/ID.
func TestStartZooKeeper(t *testing.T) {
	zkAddr := os.Getenv("LYMPH_TEST_ZOOKEEPER")
	if zkAddr == "" {
		t.Fatal("LYMPH_TEST_ZOOKEEPER is not set: run `bash .ci/zookeeper.sh start` and LYMPH_TEST_ZOOKEEPER=127.0.0.1:2181 go test ./lymphhttp/")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	reg, err := registry.Open("zookeeper://"+zkAddr+"/lymphhttp-test-"+hex.EncodeToString(b), registry.WithLogger(quiet()))
	require.NoError(t, err)
	defer reg.Close()
	c := startContainer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	web := New(c, "shop", traceEcho, WithRegistry(reg), WithVersion("1.2.0"), WithTraceHeader("X-Request-Id", ""), WithLogger(quiet()))
	require.NoError(t, web.Start(ctx))
	defer func() { require.NoError(t, web.Stop(context.Background())) }()

	found, err := reg.(registry.WebRegistry).LookupWeb(ctx, "shop")
	require.NoError(t, err)
	require.Len(t, found, 1)
	hostname, _ := os.Hostname()
	assert.Equal(t, registry.WebInstance{Name: "shop", ID: registry.InstanceID(c.Identity(), "shop", "1.2.0"), Identity: c.Identity(),
		Version: "1.2.0", Hostname: hostname, IP: "127.0.0.1", HTTPPort: found[0].HTTPPort}, found[0])
	addr := web.Addr()
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(found[0].HTTPPort), addr)

	// Over real HTTP, from Go and from Python (what lymph's clients see).
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/orders", nil)
	req.Header.Set("X-Request-Id", "feedfeedfeedfeedfeedfeedfeedfeed")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "trace=feedfeedfeedfeedfeedfeedfeedfeed path=/orders", string(body))
	assert.Equal(t, "feedfeedfeedfeedfeedfeedfeedfeed", resp.Header.Get("X-Trace-Id"))

	out, err := exec.Command("/usr/bin/python3", "-c", `import sys, urllib.request
r = urllib.request.urlopen("http://`+addr+`/_health/", timeout=10)
print(r.status, r.headers["X-Trace-Id"])`).CombinedOutput()
	require.NoError(t, err, string(out))
	fields := strings.Fields(string(out))
	require.Len(t, fields, 2, string(out))
	assert.Equal(t, "200", fields[0])
	assert.Len(t, fields[1], 32)

	require.NoError(t, web.Stop(ctx))
	found, err = reg.(registry.WebRegistry).LookupWeb(ctx, "shop")
	require.NoError(t, err)
	assert.Empty(t, found, "unregistered by Stop")
	_, err = http.Get("http://" + addr + "/")
	assert.Error(t, err, "no longer served")
}

func TestStartErrors(t *testing.T) {
	c, err := lymph.NewContainer(lymph.WithLogger(quiet()))
	require.NoError(t, err)
	assert.ErrorContains(t, New(c, "shop", traceEcho).Start(context.Background()), "start the container first")

	started := startContainer(t)
	local, err := registry.Open("local://" + t.TempDir())
	require.NoError(t, err)
	defer local.Close()
	assert.ErrorContains(t, New(started, "shop", traceEcho, WithRegistry(local), WithLogger(quiet())).Start(context.Background()), "no http namespace")
}
