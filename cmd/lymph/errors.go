package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/registry"
)

// Exit codes. They are part of the interface (scripts test them) and are
// listed in doc.go and in the root command's help: keep the three in step.
const (
	exitOK          = 0   // success
	exitUsage       = 1   // bad usage, bad input, or any other failure
	exitNack        = 2   // the service refused the request (NACK)
	exitRemote      = 3   // the method raised a declared error (ERROR reply)
	exitTimeout     = 4   // no reply within --timeout
	exitLookup      = 5   // no instance found, not connected, registry unreachable
	exitInterrupted = 130 // SIGINT or SIGTERM, as shells report a signal
)

// exitCodesHelp is the exit code table as the help texts show it.
const exitCodesHelp = `Exit codes:
  0    success
  1    usage error, bad input (JSON, subject, registry URL) or other failure
  2    NACK: the service refused the request (unknown method, bad arguments,
       or a failure the method did not declare)
  3    remote error: the method raised a declared error (its type and message
       are printed)
  4    timeout: no reply within --timeout
  5    lookup failure: no live instance of the service, the endpoint is not
       reachable, or the registry is unavailable
  130  interrupted (SIGINT/SIGTERM)`

// exitError carries the exit code a failure maps to, and its message.
type exitError struct {
	code  int
	err   error
	usage bool // a usage error: main points at --help
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in the command line itself.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...), usage: true}
}

// inputErrorf is bad input that is not a flag problem (bad JSON on stdin, a
// bad config file): exit 1, but --help would not help.
func inputErrorf(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// callError is a failed call, with what the user needs to find it in the
// logs: the subject, where it went, and the trace id.
type callError struct {
	subject string
	source  string // the replying endpoint, when a reply came
	traceID string
	hint    string // e.g. which registry was asked
	reason  string // why a NACK was sent, when the server said (a Go server does)
	timeout time.Duration
	err     error
}

func (e *callError) Error() string {
	where := ""
	if e.source != "" {
		where = " from " + e.source
	}
	suffix := ""
	if e.traceID != "" {
		suffix = " (trace_id " + e.traceID + ")"
	}
	if e.hint != "" {
		suffix += " (" + e.hint + ")"
	}
	var remote *lymph.RemoteError
	switch {
	case errors.As(e.err, &remote):
		return fmt.Sprintf("remote error%s: %s%s", where, remote.Error(), suffix)
	case errors.Is(e.err, lymph.ErrNack) && e.reason != "":
		return fmt.Sprintf("NACK%s: %s was refused: %s%s", where, e.subject, e.reason, suffix)
	case errors.Is(e.err, lymph.ErrNack):
		return fmt.Sprintf("NACK%s: %s was refused (unknown interface, method or version, bad arguments, or a failure the method did not declare)%s", where, e.subject, suffix)
	case isTimeout(e.err) && !errors.Is(e.err, lymph.ErrLookupFailure):
		// One wording whichever clock fired first, the Future's or the
		// context's.
		if e.timeout > 0 {
			return fmt.Sprintf("timeout: %s: no reply within %v%s", e.subject, e.timeout, suffix)
		}
		return fmt.Sprintf("timeout: %s: no reply in time%s", e.subject, suffix)
	}
	return plain(e.err) + suffix
}

// plain is an error's text without the library's "lymph: " prefix: the
// CLI prints its own.
func plain(err error) string {
	s := err.Error()
	for strings.HasPrefix(s, "lymph: ") {
		s = strings.TrimPrefix(s, "lymph: ")
	}
	return s
}

func (e *callError) Unwrap() error { return e.err }

// exitCode maps an error to the exit code documented in exitCodesHelp.
func exitCode(err error) int {
	var ee *exitError
	var remote *lymph.RemoteError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &remote):
		return exitRemote
	case errors.Is(err, lymph.ErrNack):
		return exitNack
	case isTimeout(err):
		return exitTimeout
	case errors.Is(err, lymph.ErrLookupFailure), errors.Is(err, lymph.ErrNotConnected),
		errors.Is(err, registry.ErrUnavailable):
		return exitLookup
	}
	return exitUsage
}

// isTimeout: the Future reports ErrTimeout, but a context deadline that wins
// the race against it surfaces as context.DeadlineExceeded; both are the
// same thing to the user.
func isTimeout(err error) bool {
	return errors.Is(err, lymph.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// describe returns the exit code and the one-line message for err.
func describe(err error) (int, string) {
	code := exitCode(err)
	if code == exitInterrupted {
		return code, "interrupted"
	}
	return code, plain(err)
}
