package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/internal/codec"
	"github.com/lymphgo/lymph/registry"
)

type requestFlags struct {
	address     string
	timeout     float64
	json        bool
	dumpHeaders bool
	traceID     string
	n, c        int
}

func newRequestCmd(a *app) *cobra.Command {
	var f requestFlags
	cmd := &cobra.Command{
		Use:   "request [flags] SUBJECT [PARAMS|-]",
		Short: "Send a request to a service and print the reply",
		Long: `Send one RPC request and print the reply.

SUBJECT is interface.method, optionally with the interface version wanted:
echo.upper or echo.upper@1.2 (any 1.x from 1.2.0 on). PARAMS is a JSON
object of keyword arguments ({} when left out); - reads it from stdin.

Without --address the request goes to an instance of the service named by
the subject's prefix (the part before the last dot), found in the registry.
--address names another service, or one instance: tcp://host:port.

The reply is printed indented (coloured on a terminal), or as JSON with
--json; lymph's extension values print as Decimal("1.10"), UUID("..."),
datetime("..."), b"bytes" (in JSON: text, bytes as base64). -D prints the
reply's type, sender and headers first (with --json: one object holding
type, source, headers and body).

With -N COUNT (more than 1) it is a load test: one warm-up request, then
COUNT requests from -C concurrent callers over the same connections, and
a report in the layout of Python lymph's tool: Requests per second, Mean
time per request (and stddev), Timeout rate, Error rate, Total time and
latency Percentiles (min, 50 ... 99.9, max). A progress bar shows on
stderr when it is a terminal. The run exits with the first failed
request's code if any failed, after the report.

` + exitCodesHelp,
		Example: `  lymph request echo.upper '{"text": "hi"}'
  lymph request --json echo.upper@1.2 '{"text": "hi"}' | jq .
  echo '{"text": "hi"}' | lymph request -D echo.upper -
  lymph request --address tcp://10.0.0.5:4000 --timeout 0.5 lymph.status
  lymph request -N 10000 -C 16 echo.upper '{"text": "hi"}'`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			params := ""
			if len(args) == 2 {
				params = args[1]
			}
			return runRequest(cmd, a, &f, args[0], params)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.address, "address", "", "send to this service name or tcp://host:port instead of the subject's service")
	addTimeoutFlag(cmd, &f.timeout)
	fl.BoolVar(&f.json, "json", false, "print the reply as JSON")
	fl.BoolVarP(&f.dumpHeaders, "dump-headers", "D", false, "print the reply's type, sender and headers")
	fl.StringVar(&f.traceID, "trace-id", "", "send this trace_id (default: a new one)")
	fl.IntVarP(&f.n, "requests", "N", 1, "number of requests to send (more than 1: load test)")
	fl.IntVarP(&f.c, "concurrency", "C", 1, "concurrent callers in a load test")
	return cmd
}

func runRequest(cmd *cobra.Command, a *app, f *requestFlags, subjectArg, paramsArg string) error {
	t, err := parseTarget(subjectArg, f.address)
	if err != nil {
		return err
	}
	timeout, err := timeoutOf(f.timeout)
	if err != nil {
		return err
	}
	if f.n < 1 || f.c < 1 {
		return usageErrorf("-N and -C must be at least 1")
	}
	if f.n > 1 && f.dumpHeaders {
		return usageErrorf("-D prints one reply; it does not combine with -N")
	}
	if f.traceID != "" && !validTraceID(f.traceID) {
		return usageErrorf("--trace-id %q: want text without spaces, e.g. 32 hex characters as lymph makes them", f.traceID)
	}
	t.timeout = timeout
	args, err := readParams(paramsArg, a.stdin)
	if err != nil {
		return err
	}
	// Encoded once: every request of a load run sends these bytes as is.
	body, err := codec.Marshal(args)
	if err != nil {
		return inputErrorf("PARAMS cannot be encoded: %v", err)
	}

	ctx := cmd.Context()
	if f.traceID != "" {
		ctx = lymph.ContextWithTraceID(ctx, f.traceID)
	}
	cl, err := a.startClient(ctx, t.address)
	if err != nil {
		return err
	}
	defer cl.close()
	call := cl.caller(t)
	if f.n > 1 {
		return runLoad(ctx, a, cl, t, f, call, codec.Raw(body))
	}

	start := time.Now()
	msg, err := call(ctx, codec.Raw(body))
	rtt := time.Since(start)
	if f.dumpHeaders && msg != nil {
		if perr := printReply(a.out, msg, rtt, f.json, true); perr != nil {
			return perr
		}
	}
	if err != nil {
		return cl.callErr(t, msg, f.traceID, err)
	}
	if f.dumpHeaders {
		return nil
	}
	return printReply(a.out, msg, rtt, f.json, false)
}

// printReply prints the reply body, and with headers its type, sender and
// headers first.
func printReply(p *printer, msg *lymph.Message, rtt time.Duration, asJSON, headers bool) error {
	var body any
	if msg.Type == lymph.TypeReply || msg.Type == lymph.TypeError {
		if err := msg.Decode(&body); err != nil {
			return fmt.Errorf("cannot decode the reply: %v", err)
		}
	}
	if asJSON {
		if headers {
			return writeJSON(p.w, map[string]any{
				"type": msg.Type, "source": msg.Source, "headers": msg.Headers(),
				"body": body, "rtt_ms": ms(rtt),
			})
		}
		return writeJSON(p.w, body)
	}
	if headers {
		p.printf("%s from %s in %s ms\n", p.paint(colBold, msg.Type), msg.Source, fmt.Sprintf("%.2f", ms(rtt)))
		headers := msg.Headers()
		keys := make([]string, 0, len(headers))
		for k := range headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p.printf("%s: %s\n", p.paint(colKey, k), p.pretty(headers[k]))
		}
		if msg.Type != lymph.TypeReply {
			return nil // nothing below the headers: the error line says the rest
		}
		p.println()
	}
	if msg.Type == lymph.TypeAck {
		// An ACK has no value; null would hide that it was not a REP.
		p.println(p.paint(colDim, "ACK (acknowledged, no value)"))
		return nil
	}
	p.println(p.pretty(body))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// parseTarget checks SUBJECT and --address and says where the request goes.
func parseTarget(subjectArg, addressFlag string) (target, error) {
	subject, version, _ := strings.Cut(subjectArg, "@")
	i := strings.LastIndexByte(subject, '.')
	if i <= 0 || i == len(subject)-1 || strings.ContainsAny(subject, " \t\n/") {
		return target{}, usageErrorf("bad subject %q: want interface.method, e.g. echo.upper or echo.upper@1.2", subjectArg)
	}
	if strings.Contains(subjectArg, "@") {
		if _, err := registry.ParseConstraint(version); err != nil || version == "" {
			return target{}, usageErrorf("bad version in subject %q: want e.g. echo.upper@1.2", subjectArg)
		}
	}
	t := target{subject: subject, version: version, address: subject[:i]}
	if addressFlag != "" {
		address, v, err := parseAddress(addressFlag)
		if err != nil {
			return target{}, err
		}
		if v != "" && version != "" && v != version {
			return target{}, usageErrorf("--address %q and subject %q ask for different versions", addressFlag, subjectArg)
		}
		if v != "" {
			t.version = v
		}
		t.address = address
	}
	return t, nil
}

// validTraceID accepts what can travel as a header and be searched for in
// logs. lymph makes 32 hex characters, but its services take any text, and
// a readable id ("debug-42") is handy when tracing by hand.
func validTraceID(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return s != ""
}

// readParams parses PARAMS ("-": stdin; "": none) into keyword arguments.
func readParams(arg string, stdin io.Reader) (map[string]any, error) {
	src := "PARAMS"
	if arg == "-" {
		if stdin == nil {
			stdin = strings.NewReader("")
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, inputErrorf("reading PARAMS from stdin: %v", err)
		}
		arg, src = string(data), "PARAMS on stdin"
	}
	if strings.TrimSpace(arg) == "" {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(arg))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, inputErrorf("%s is not valid JSON: %s", src, jsonErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, inputErrorf("%s is not valid JSON: more data after the object", src)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, inputErrorf(`%s must be a JSON object of keyword arguments, like {"text": "hi"}, not %s`, src, jsonKind(v))
	}
	return fromJSON(m).(map[string]any), nil
}

func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// fromJSON turns JSON numbers into what Python's json.loads makes of them,
// so a Python service gets the same arguments from this tool as from
// lymph's: integers stay integers, the rest are floats.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
			if n, err := strconv.ParseUint(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64) // out of range: ±Inf, as Python's float()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = fromJSON(e)
		}
		return x
	}
	return v
}
