package lymph

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// builtinName is the name of the interface every container serves.
const builtinName = "lymph"

// BuiltinVersion is the version of the builtin lymph interface a Go
// container serves: the version of Python lymph whose protocol and builtin
// methods it implements. Python lymph reports its own package version there
// (0.16.0-dev for the release this library was matched against), so that a
// call for lymph@0.16 reaches Go instances as well as Python ones. It shows
// in reply headers, in the registry and in lymph.inspect.
const BuiltinVersion = "0.16.0"

// builtin is lymph's builtin interface, served by every container: what
// NATS micro calls its ping, info and stats endpoints. It is an ordinary
// service to the dispatcher, so it is also listed by its own inspect.
type builtin struct {
	Interface
	c *Container
}

func (c *Container) installBuiltin() {
	b := &builtin{c: c}
	methods, err := describeMethods(b, &installConfig{name: builtinName, docs: builtinDocs})
	if err != nil {
		panic(err) // a bug in this file, caught by every test
	}
	b.Interface = Interface{c: c, name: builtinName, version: BuiltinVersion}
	inst := &installed{name: builtinName, version: BuiltinVersion, semver: semver.MustParse(BuiltinVersion), methods: methods}
	if err := c.addInterface(inst); err != nil {
		panic(err)
	}
}

var builtinDocs = map[string]string{
	"Ping":           "Returns the payload unchanged (nil when there is none).",
	"Status":         "Returns the instance's endpoint and identity.",
	"Inspect":        "Lists every method this instance serves, with its parameters and help text.",
	"GetMetrics":     "Returns the instance's counters as [name, value, tags] triples.",
	"ChangeLoglevel": "Sets the log level for period seconds (default 60), then restores it.",
}

// pingArgs are lymph.ping's arguments. The payload is optional, as in
// lymph's ping(self, payload=None).
type pingArgs struct {
	Payload any `msgpack:"payload" lymph:"optional"`
}

// Ping answers heartbeats and lymph ping: the payload, unchanged.
func (b *builtin) Ping(args pingArgs) (any, error) { return args.Payload, nil }

// Status returns the endpoint and the identity, as lymph does, and whether
// the registration is done ("registered") or waits for the registry
// ("pending", with the last error).
func (b *builtin) Status() (map[string]any, error) {
	status := map[string]any{"endpoint": b.c.Endpoint(), "identity": b.c.Identity()}
	for k, v := range b.c.registrationStatus() {
		status[k] = v
	}
	return status, nil
}

// methodInfo is one entry of lymph.inspect's reply.
type methodInfo struct {
	Name    string   `msgpack:"name"`
	Version any      `msgpack:"version"`
	Params  []string `msgpack:"params"`
	Help    string   `msgpack:"help"`
}

// Inspect lists every served method.
func (b *builtin) Inspect() (map[string]any, error) {
	return map[string]any{"methods": b.c.inspect()}, nil
}

// GetMetrics returns the counters, the transport's included.
func (b *builtin) GetMetrics() ([]metric, error) {
	out := b.c.metrics.snapshot()
	if tr := b.c.tr.Load(); tr != nil {
		out = append(out, transportMetrics(tr, b.c.monitor)...)
	}
	out = append(out, b.c.eventMetrics()...) // events: see events.go
	out = append(out, metric{"process.goroutines", runtime.NumGoroutine(), map[string]any{}})
	return out, nil
}

type changeLoglevelArgs struct {
	Qualname string  `msgpack:"qualname"`
	Loglevel string  `msgpack:"loglevel"`
	Period   float64 `msgpack:"period,omitempty"`
}

// ChangeLoglevel sets the container's log level (lymph's names: DEBUG,
// INFO, WARNING, ERROR, CRITICAL) for a while. Go has no logger tree, so
// qualname is accepted and logged but names no particular logger.
func (b *builtin) ChangeLoglevel(ctx context.Context, args changeLoglevelArgs) error {
	level, err := parseLevel(args.Loglevel)
	if err != nil {
		return err
	}
	period := time.Duration(args.Period * float64(time.Second))
	if period <= 0 {
		period = 60 * time.Second
	}
	b.c.levels.set(level, period)
	// Logged past the level just set (to WARNING, say): the change itself
	// must show in the log. The user's own handler still filters it.
	logger := b.c.logger
	if h, ok := logger.Handler().(levelHandler); ok {
		logger = slog.New(h.inner)
	}
	logger.Info("log level changed", "qualname", args.Qualname, "level", level, "period", period, "trace_id", TraceID(ctx))
	return nil
}

func parseLevel(name string) (slog.Level, error) {
	switch strings.ToUpper(name) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARNING", "WARN":
		return slog.LevelWarn, nil
	case "ERROR", "CRITICAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q", name)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
