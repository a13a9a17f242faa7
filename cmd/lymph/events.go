package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/events"
)

// eventsURL picks the events backend: --events, else $LYMPH_EVENTS, else
// the container.events section of the lymph config file, else local:.
func (a *app) eventsURL(flagURL string) (string, error) {
	if flagURL != "" {
		return flagURL, nil
	}
	if u := strings.TrimSpace(os.Getenv(events.EnvVar)); u != "" {
		return u, nil
	}
	conf, err := loadConfig(a.configFile)
	if err != nil {
		return "", err
	}
	ct, err := conf.Container()
	if err != nil {
		return "", inputErrorf("%s: %v", configName(conf), err)
	}
	if ct.Events != nil {
		u, ok, err := events.URLFromConfig(ct.Events.Section)
		if err != nil {
			return "", inputErrorf("%s: %v", configName(conf), err)
		}
		if ok {
			return u, nil
		}
	}
	return events.DefaultURL, nil
}

func (a *app) openBus(flagURL string) (*events.Bus, error) {
	u, err := a.eventsURL(flagURL)
	if err != nil {
		return nil, err
	}
	return events.Open(u, events.WithLogger(a.logger))
}

type emitFlags struct {
	events  string
	traceID string
	delay   float64
}

func newEmitCmd(a *app) *cobra.Command {
	var f emitFlags
	cmd := &cobra.Command{
		Use:   "emit [flags] TYPE [JSON]",
		Short: "Emit an event",
		Long: `Emit an event of TYPE with the JSON object as its body ({} when left
out), as lymph emit does, and wait until the broker confirmed it. The
trace id is --trace-id or a new one; --delay holds the event back (lymph's
emit(..., delay=)), through lymph's <TYPE>-wait_<ms> queue on RabbitMQ.

Events backend: --events URL, else $LYMPH_EVENTS, else the container.events
section of the lymph config file (kombu's hostname, userid, password,
virtual_host, port, exchange), else local: (the embedded one of this
machine). URLs: amqp://user:pass@host:5672/vhost, local:, memory:.`,
		Example: `  lymph emit user.created '{"id": 42}'
  lymph emit --events amqp://guest:guest@127.0.0.1:5672/ --delay 2.5 reminder.due '{"id": 42}'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEmit(cmd.Context(), a, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.events, "events", "", "events backend URL (default $LYMPH_EVENTS, .lymph.yml, local:)")
	fl.StringVar(&f.traceID, "trace-id", "", "trace id to send (default: a new one)")
	fl.Float64Var(&f.delay, "delay", 0, "seconds to hold the event back")
	return cmd
}

func runEmit(ctx context.Context, a *app, f *emitFlags, args []string) error {
	var body any = map[string]any{}
	if len(args) == 2 {
		if err := json.Unmarshal([]byte(args[1]), &body); err != nil {
			return usageErrorf("the body is not JSON: %v", err)
		}
	}
	if f.delay < 0 {
		return usageErrorf("--delay must not be negative")
	}
	if err := events.CheckType(args[0]); err != nil {
		return usageErrorf("%v", err)
	}
	trace := f.traceID
	if trace == "" {
		trace = lymph.NewTraceID()
	}
	bus, err := a.openBus(f.events)
	if err != nil {
		return err
	}
	defer bus.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return bus.Emit(ctx, args[0], jsonToMsgpack(body), events.WithTraceID(trace),
		events.Delay(time.Duration(f.delay*float64(time.Second))))
}

// jsonToMsgpack makes JSON numbers that are integers travel as integers,
// as Python's json.loads gives them.
func jsonToMsgpack(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonToMsgpack(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonToMsgpack(e)
		}
	case float64:
		if x == float64(int64(x)) && x >= -1<<53 && x <= 1<<53 {
			return int64(x)
		}
	}
	return v
}

type subscribeFlags struct {
	events string
	count  int
}

func newSubscribeCmd(a *app) *cobra.Command {
	var f subscribeFlags
	cmd := &cobra.Command{
		Use:   "subscribe [flags] TYPE...",
		Short: "Print events as they come, until interrupted",
		Long: `Subscribe to events of the given types (RabbitMQ topic patterns: "a.*" one
word, "a.#" zero or more) and print each as "TYPE: BODY" until Ctrl-C (or
--count events).

Unlike Python lymph's subscribe, which consumes the fixed, shared and
never-deleted queue _client-on_event (two subscribers split the events, and
the queue keeps collecting events after exit), this one consumes a queue of
its own, _client-on_event-<uuid4>, deleted when it exits: every subscriber
sees every event and nothing is left behind. This deviation is deliberate.

The events backend is chosen as for lymph emit.`,
		Example: `  lymph subscribe 'user.*'
  lymph subscribe --count 1 --events amqp://guest:guest@127.0.0.1:5672/ '#'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSubscribe(cmd.Context(), a, &f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.events, "events", "", "events backend URL (default $LYMPH_EVENTS, .lymph.yml, local:)")
	fl.IntVarP(&f.count, "count", "n", 0, "exit after this many events (default: until interrupted)")
	return cmd
}

func runSubscribe(ctx context.Context, a *app, f *subscribeFlags, types []string) error {
	for _, p := range types {
		if err := events.CheckPattern(p); err != nil {
			return usageErrorf("%v", err)
		}
	}
	bus, err := a.openBus(f.events)
	if err != nil {
		return err
	}
	defer bus.Close()
	got := make(chan *events.Event, 64)
	sub, err := bus.Subscribe(ctx, events.Subscription{Queue: "_client-on_event", Types: types, Broadcast: true, Sequential: true},
		func(hctx context.Context, ev *events.Event) error {
			select {
			case got <- ev:
				return nil
			case <-hctx.Done():
				return hctx.Err()
			}
		})
	if err != nil {
		return err
	}
	defer sub.Stop(context.Background())
	a.logger.Info("subscribed", "queue", sub.Queue(), "types", types)
	for n := 0; f.count == 0 || n < f.count; n++ {
		select {
		case ev := <-got:
			a.out.printf("%s: %s\n", ev.Type, a.out.pretty(ev.Body))
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}
