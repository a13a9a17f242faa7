package main

import (
	"context"
	"errors"

	"github.com/lymphgo/lymph"
)

// Error kinds a failed call is counted under, in the table's column order.
const (
	kindTimeout    = "timeout"
	kindNack       = "nack"
	kindNotConn    = "not-connected"
	kindConnLost   = "conn-lost" // the connection died with the call in flight
	kindLookup     = "lookup"
	kindNotRunning = "not-running"
	kindOther      = "other"
	kindWrong      = "wrong"
	kindHung       = "hung"
)

// errorKinds are the kinds of calls that returned an error.
var errorKinds = []string{kindTimeout, kindNack, kindNotConn, kindConnLost, kindLookup, kindNotRunning, kindOther}

// classify names the kind of a call's error. A RemoteError is "other": echo
// declares no error, so a remote error is as unexpected as any.
func classify(err error) string {
	switch {
	case errors.Is(err, lymph.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return kindTimeout
	case errors.Is(err, lymph.ErrNack):
		return kindNack
	case errors.Is(err, lymph.ErrNotConnected):
		return kindNotConn
	case errors.Is(err, lymph.ErrConnectionLost):
		return kindConnLost
	case errors.Is(err, lymph.ErrLookupFailure):
		return kindLookup
	case errors.Is(err, lymph.ErrNotRunning):
		return kindNotRunning
	default:
		return kindOther
	}
}

// checkReply tells how a call that returned without error is counted: the
// reply must be the text sent, token included; anything else is a reply
// to another call, the worst defect there is.
func checkReply(sent, got string) string {
	if got != sent {
		return kindWrong
	}
	return ""
}

// Failure is one failed (or wrong, or hung) call: when it started, when it
// failed, and how. Times are Unix nanoseconds, comparable across the
// processes of one machine.
type Failure struct {
	Start int64  `json:"s"`
	End   int64  `json:"e"`
	Kind  string `json:"k"`
}

// Result is what a load driver reports: the orchestrator merges the results
// of a scenario's drivers into one table row.
type Result struct {
	Calls     int64             `json:"calls"`
	OK        int64             `json:"ok"`
	Kinds     map[string]int64  `json:"kinds"`      // error kinds, wrong and hung
	Samples   map[string]string `json:"samples"`    // one error message per kind
	StartNs   int64             `json:"start_ns"`   // when the timed run began
	PerSecond []int64           `json:"per_second"` // ok calls in each full second
	Failures  []Failure         `json:"failures"`   // capped at maxFailures
	Dropped   int64             `json:"dropped"`    // failures beyond the cap
}

// maxFailures bounds a driver's report: time-to-fail percentiles of the
// first 100,000 failures are as good as of all of them.
const maxFailures = 100_000

// Failed is the number of calls that did not return the right reply.
func (r *Result) Failed() int64 { return r.Calls - r.OK }

// merge adds o's counts to r (per-second counts are kept from the first
// timed driver only: scenarios have one).
func (r *Result) merge(o *Result) {
	r.Calls += o.Calls
	r.OK += o.OK
	if r.Kinds == nil {
		r.Kinds = map[string]int64{}
	}
	for k, n := range o.Kinds {
		r.Kinds[k] += n
	}
	if r.Samples == nil {
		r.Samples = map[string]string{}
	}
	for k, s := range o.Samples {
		if _, ok := r.Samples[k]; !ok {
			r.Samples[k] = s
		}
	}
	if r.PerSecond == nil {
		r.PerSecond, r.StartNs = o.PerSecond, o.StartNs
	}
	r.Failures = append(r.Failures, o.Failures...)
	r.Dropped += o.Dropped
}
