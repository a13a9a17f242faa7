package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lymphgo/lymph"
)

//go:generate go run github.com/lymphgo/lymph/cmd/lymphdoc -type EchoService

// EchoService is the example service: reachable as "echo".
type EchoService struct {
	lymph.Interface
	announce bool // print where it serves once bound (the serve mode)
}

// OnStart runs when the container starts, once its endpoint is bound and
// before it registers: lymph's on_start hook.
func (s *EchoService) OnStart(ctx context.Context) error {
	if s.announce {
		c := s.Container()
		fmt.Printf("echo serving on %s (identity %s)\n", c.Endpoint(), c.Identity())
	}
	return nil
}

// ErrNope is the error Fail declares: callers see a *lymph.RemoteError of
// type "Nope".
var ErrNope = lymph.NewErrorType("Nope")

// TextArgs are the keyword arguments of methods that take a text.
type TextArgs struct {
	Text string `msgpack:"text"`
}

// Upper returns the text in upper case.
func (s *EchoService) Upper(ctx context.Context, args TextArgs) (string, error) {
	return strings.ToUpper(args.Text), nil
}

// Echo replies with the text unchanged; a raw method, answering through
// its reply channel.
func (s *EchoService) Echo(ch *lymph.ReplyChannel, args TextArgs) {
	ch.Reply(args.Text)
}

// DoAck acknowledges the request without a value; a raw method.
func (s *EchoService) DoAck(ch *lymph.ReplyChannel) {
	ch.Ack()
}

// Fail always raises the declared error Nope, with the text as its message.
func (s *EchoService) Fail(ctx context.Context, args TextArgs) error {
	return ErrNope.New(args.Text)
}

// SleepArgs are Sleep's keyword arguments.
type SleepArgs struct {
	Seconds float64 `msgpack:"seconds"`
}

// Sleep waits for the given number of seconds, or until the request's
// context ends, then returns nothing.
func (s *EchoService) Sleep(ctx context.Context, args SleepArgs) error {
	select {
	case <-time.After(time.Duration(args.Seconds * float64(time.Second))):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// install puts the service into c with its declared errors.
func install(c *lymph.Container, version string, announce bool) error {
	opts := []lymph.InstallOption{lymph.WithRaises("Fail", ErrNope)}
	if version != "" {
		opts = append(opts, lymph.WithVersion(version))
	}
	return c.Install(&EchoService{announce: announce}, opts...)
}
