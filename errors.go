package lymph

import (
	"context"
	"errors"
	"fmt"
)

// Errors a caller can test for with errors.Is. They follow lymph's error
// semantics: see the README's error table.
var (
	// ErrNack means the server refused the request: unknown interface or
	// method, arguments that did not fit, or a failure the method did not
	// declare (including a panic).
	ErrNack = errors.New("lymph: request not acknowledged (NACK)")

	// ErrTimeout means no reply arrived before the call's deadline. It also
	// matches context.DeadlineExceeded, so code written against plain
	// contexts keeps working.
	ErrTimeout error = timeoutError{}

	// ErrCancelled means the call's context was cancelled before its
	// reply arrived (or before it was sent). It also matches
	// context.Canceled, as ErrTimeout matches context.DeadlineExceeded.
	ErrCancelled error = cancelledError{}

	// ErrNotConnected means the request could not be sent: the instance's
	// connection is known to be dead or could not be made.
	ErrNotConnected = errors.New("lymph: not connected")

	// ErrLookupFailure means the registry knows no live instance of the
	// service.
	ErrLookupFailure = errors.New("lymph: lookup failure")

	// ErrReplySent is returned by a ReplyChannel asked to answer a request it
	// has already answered: a request gets exactly one reply.
	ErrReplySent = errors.New("lymph: reply already sent")

	// ErrNotRunning is returned by calls made through a container that has
	// not been started or has been stopped.
	ErrNotRunning = errors.New("lymph: container not running")
	// ErrConnectionLost means the connection to the instance died while
	// the call waited for its reply: the request may have been processed.
	// Calls fail with it as soon as the connection drops, rather than at
	// their deadline.
	ErrConnectionLost = errors.New("lymph: connection lost; the request may have been processed")

	// ErrOverloaded matches (errors.Is) the ErrNack of a request that every
	// instance tried refused because it was at its WithMaxInFlight limit:
	// the request did no work and may be retried later.
	ErrOverloaded = errors.New("lymph: overloaded")
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "lymph: timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Is makes errors.Is(ErrTimeout, context.DeadlineExceeded) true.
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

type cancelledError struct{}

func (cancelledError) Error() string { return "lymph: call cancelled" }

// Is makes errors.Is(ErrCancelled, context.Canceled) true.
func (cancelledError) Is(target error) bool { return target == context.Canceled }

// RemoteError is the error a caller gets when the remote method failed with
// an error it declared (lymph's raises): the ERROR reply's type and message.
//
// errors.Is matches a RemoteError against an *ErrorType of the same name, and
// against another *RemoteError of the same type (and message, when the target
// has one), so callers can test for a remote error by its type name:
//
//	if errors.Is(err, ErrNope) { ... }          // ErrNope = lymph.NewErrorType("Nope")
//	var re *lymph.RemoteError
//	if errors.As(err, &re) { log.Print(re.Type, re.Message) }
type RemoteError struct {
	// Type is the error's type name, e.g. "Nope" (in Python lymph, the
	// exception's class name).
	Type string
	// Message is the error's text.
	Message string
}

// Error returns "Type: Message".
func (e *RemoteError) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// Is reports whether target names the same remote error type.
func (e *RemoteError) Is(target error) bool {
	switch t := target.(type) {
	case *ErrorType:
		return t.name == e.Type
	case *RemoteError:
		return t.Type == e.Type && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// ErrorType names an error a method may raise, in lymph's sense: declared
// with the WithRaises install option, it reaches the caller as an ERROR reply of
// that type instead of a NACK. It is also what callers match a RemoteError
// against with errors.Is.
type ErrorType struct{ name string }

// NewErrorType returns an error type with the given name, as the caller sees
// it in RemoteError.Type.
func NewErrorType(name string) *ErrorType { return &ErrorType{name: name} }

// Name returns the type name.
func (t *ErrorType) Name() string { return t.name }

// Error returns the type name, so an *ErrorType can be returned as is.
func (t *ErrorType) Error() string { return t.name }

// New returns a RemoteError of this type with the given message: what a
// method returns to raise the error.
func (t *ErrorType) New(message string) *RemoteError {
	return &RemoteError{Type: t.name, Message: message}
}

// Errorf is New with a formatted message.
func (t *ErrorType) Errorf(format string, args ...any) *RemoteError {
	return t.New(fmt.Sprintf(format, args...))
}

// nackError is ErrNack with the subject that was refused, and why when the
// server said (a Go server does, in the nack_reason header; Python lymph
// does not).
type nackError struct{ subject, reason string }

func (e *nackError) Error() string {
	if e.reason != "" {
		return ErrNack.Error() + ": " + e.subject + ": " + e.reason
	}
	return ErrNack.Error() + ": " + e.subject
}
func (e *nackError) Unwrap() error { return ErrNack }

// Is makes a NACK for overload match ErrOverloaded.
func (e *nackError) Is(target error) bool {
	return target == ErrOverloaded && e.reason == reasonOverloaded
}

// unexpectedReplyError reports a reply of a type a caller cannot take, such
// as a REQ whose subject happens to be our request's id.
type unexpectedReplyError struct{ subject, typ string }

func (e *unexpectedReplyError) Error() string {
	return "lymph: " + e.subject + ": unexpected " + e.typ + " message in reply"
}
