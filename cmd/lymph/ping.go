package main

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/spf13/cobra"
)

type pingFlags struct {
	timeout  float64
	payload  string
	count    int
	interval float64
	json     bool
}

// pingResult is one ping, as --json reports it.
type pingResult struct {
	Seq      int     `json:"seq"`
	Endpoint string  `json:"endpoint,omitempty"`
	RTTms    float64 `json:"rtt_ms,omitempty"`
	Error    string  `json:"error,omitempty"`
}

func newPingCmd(a *app) *cobra.Command {
	var f pingFlags
	cmd := &cobra.Command{
		Use:   "ping [flags] ADDRESS",
		Short: "Call lymph.ping on a service and print the round-trip time",
		Long: `Send lymph.ping with a payload to ADDRESS, check that the same payload
comes back, and print the round-trip time. With --count, ping that many
times, --interval apart, and print a summary; it exits with the first
failure's code when any ping failed.

ADDRESS is a service name (one instance is picked from the registry, and
every ping goes there) or an instance's endpoint, tcp://host:port.

` + exitCodesHelp,
		Example: `  lymph ping echo
  lymph ping -n 5 --interval 0.2 tcp://127.0.0.1:4000
  lymph ping --json --payload hello echo`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPing(cmd.Context(), a, &f, args[0])
		},
	}
	fl := cmd.Flags()
	addTimeoutFlag(cmd, &f.timeout)
	fl.StringVar(&f.payload, "payload", "ping", "payload to send; the service must send it back")
	fl.IntVarP(&f.count, "count", "n", 1, "number of pings")
	fl.Float64Var(&f.interval, "interval", 1, "seconds between pings")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	return cmd
}

func runPing(ctx context.Context, a *app, f *pingFlags, addressArg string) error {
	d, err := timeoutOf(f.timeout)
	if err != nil {
		return err
	}
	if f.count < 1 {
		return usageErrorf("--count must be at least 1")
	}
	if f.interval < 0 {
		return usageErrorf("--interval must not be negative")
	}
	address, version, err := parseAddress(addressArg)
	if err != nil {
		return err
	}
	cl, err := a.startClient(ctx, address)
	if err != nil {
		return err
	}
	defer cl.close()
	t := target{subject: "lymph.ping", version: version, address: address, timeout: d}
	call := cl.caller(t)
	args := map[string]any{"payload": f.payload}

	var results []pingResult
	var rtts []time.Duration
	var firstErr error
	for seq := 1; seq <= f.count; seq++ {
		if seq > 1 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(f.interval * float64(time.Second))):
			}
		}
		start := time.Now()
		msg, err := call(ctx, args)
		rtt := time.Since(start)
		if err == nil {
			var echoed any
			if derr := msg.Decode(&echoed); derr != nil || !reflect.DeepEqual(echoed, any(f.payload)) {
				err = fmt.Errorf("lymph.ping: the payload came back changed: %s", a.out.pretty(echoed))
			}
		}
		r := pingResult{Seq: seq}
		if msg != nil {
			r.Endpoint = msg.Source
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			err = cl.callErr(t, msg, "", err)
			r.Error = plain(err)
			if firstErr == nil {
				firstErr = err
			}
			if !f.json {
				a.out.printf("seq=%d %s\n", seq, a.out.paint(colErr, r.Error))
			}
		} else {
			r.RTTms = ms(rtt)
			rtts = append(rtts, rtt)
			if !f.json {
				a.out.printf("reply from %s: seq=%d time=%.2f ms\n", r.Endpoint, seq, r.RTTms)
			}
		}
		results = append(results, r)
	}

	if f.json {
		summary := map[string]any{"address": addressArg, "sent": f.count, "received": len(rtts), "pings": results}
		if len(rtts) > 0 {
			minRTT, avg, maxRTT := rttStats(rtts)
			summary["rtt_ms"] = map[string]float64{"min": minRTT, "avg": avg, "max": maxRTT}
		}
		if err := writeJSON(a.out.w, summary); err != nil {
			return err
		}
	} else if f.count > 1 {
		lost := f.count - len(rtts)
		a.out.printf("%d sent, %d received, %d%% lost", f.count, len(rtts), 100*lost/f.count)
		if len(rtts) > 0 {
			minRTT, avg, maxRTT := rttStats(rtts)
			a.out.printf("; rtt min/avg/max = %.2f/%.2f/%.2f ms", minRTT, avg, maxRTT)
		}
		a.out.println()
	}
	if firstErr != nil && f.count == 1 && !f.json {
		return firstErr
	}
	if firstErr != nil {
		// Already shown per ping: exit with its code, say it once more briefly.
		return &exitError{code: exitCode(firstErr), err: fmt.Errorf("%d of %d pings failed", f.count-len(rtts), f.count)}
	}
	return nil
}

func rttStats(rtts []time.Duration) (minRTT, avg, maxRTT float64) {
	minRTT, maxRTT = ms(rtts[0]), ms(rtts[0])
	for _, r := range rtts {
		v := ms(r)
		avg += v
		minRTT, maxRTT = min(minRTT, v), max(maxRTT, v)
	}
	return minRTT, avg / float64(len(rtts)), maxRTT
}

func newStatusCmd(a *app) *cobra.Command {
	var timeout float64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags] ADDRESS",
		Short: "Call lymph.status on a service: its endpoint and identity",
		Long: `Call lymph.status on ADDRESS and print what the instance says of itself
(its endpoint and identity, and whatever else it reports) with the
round-trip time.

ADDRESS is a service name (an instance is picked from the registry) or an
instance's endpoint, tcp://host:port.

` + exitCodesHelp,
		Example: `  lymph status echo
  lymph status --json tcp://127.0.0.1:4000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := timeoutOf(timeout)
			if err != nil {
				return err
			}
			address, version, err := parseAddress(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := a.startClient(ctx, address)
			if err != nil {
				return err
			}
			defer cl.close()
			t := target{subject: "lymph.status", version: version, address: address, timeout: d}
			start := time.Now()
			msg, err := cl.caller(t)(ctx, nil)
			rtt := time.Since(start)
			if err != nil {
				return cl.callErr(t, msg, "", err)
			}
			var status map[string]any
			if err := msg.Decode(&status); err != nil {
				return fmt.Errorf("lymph.status at %s: unexpected reply: %v", msg.Source, err)
			}
			return printStatus(a.out, status, rtt, asJSON)
		},
	}
	addTimeoutFlag(cmd, &timeout)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON, with rtt_ms")
	return cmd
}

func printStatus(p *printer, status map[string]any, rtt time.Duration, asJSON bool) error {
	if asJSON {
		out := map[string]any{}
		for k, v := range status {
			out[k] = v
		}
		out["rtt_ms"] = ms(rtt)
		return writeJSON(p.w, out)
	}
	keys := make([]string, 0, len(status))
	for k := range status {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := status[k]
		text, isText := v.(string)
		if !isText {
			text = p.pretty(jsonValue(v))
		}
		p.printf("%s %s\n", p.paint(colBold, fmt.Sprintf("%-9s", k+":")), text)
	}
	p.printf("%s %.2f ms\n", p.paint(colBold, fmt.Sprintf("%-9s", "rtt:")), ms(rtt))
	return nil
}
