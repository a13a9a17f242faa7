package lymph

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// builtinName is the name of the interface every container serves.
const builtinName = "lymph"

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
	b.Interface = Interface{c: c, name: builtinName}
	if err := c.addInterface(&installed{name: builtinName, methods: methods}); err != nil {
		panic(err)
	}
}

var builtinDocs = map[string]string{
	"Ping":           "Returns the payload unchanged.",
	"Status":         "Returns the instance's endpoint and identity.",
	"Inspect":        "Lists every method this instance serves, with its parameters and help text.",
	"GetMetrics":     "Returns the instance's counters as [name, value, tags] triples.",
	"ChangeLoglevel": "Sets the log level for period seconds (default 60), then restores it.",
}

// pingArgs are lymph.ping's arguments.
type pingArgs struct {
	Payload any `msgpack:"payload"`
}

// Ping answers heartbeats and lymph ping: the payload, unchanged.
func (b *builtin) Ping(args pingArgs) (any, error) { return args.Payload, nil }

// Status returns the endpoint and the identity, as lymph does.
func (b *builtin) Status() (map[string]any, error) {
	return map[string]any{"endpoint": b.c.Endpoint(), "identity": b.c.Identity()}, nil
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

func (c *Container) inspect() []methodInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []methodInfo
	for _, name := range sortedKeys(c.ifaces) {
		for _, inst := range c.ifaces[name] {
			var version any
			if inst.version != "" {
				version = inst.version
			}
			for _, m := range sortedMethods(inst.methods) {
				out = append(out, methodInfo{Name: name + "." + m.name, Version: version, Params: m.params, Help: m.help})
			}
		}
	}
	return out
}

// GetMetrics returns the counters, the transport's included.
func (b *builtin) GetMetrics() ([]metric, error) {
	out := b.c.metrics.snapshot()
	if tr := b.c.tr.Load(); tr != nil {
		out = append(out, transportMetrics(tr)...)
	}
	out = append(out, b.c.eventMetrics()...) // events: see events.go
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
	old := b.c.level.Level()
	b.c.level.Set(level)
	b.c.logger.Info("log level changed", "qualname", args.Qualname, "level", level, "period", period, "trace_id", TraceID(ctx))
	time.AfterFunc(period, func() { b.c.level.Set(old) })
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
