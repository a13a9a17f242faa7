package transport

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// echoServerEnv, when set to an endpoint, makes the test binary run an echo
// server there instead of the tests (see TestPeerRestart).
const echoServerEnv = "LYMPH_TRANSPORT_ECHO_SERVER"

func TestMain(m *testing.M) {
	if ep := os.Getenv(echoServerEnv); ep != "" {
		os.Exit(runEchoServer(ep))
	}
	goleak.VerifyTestMain(m)
}

// runEchoServer serves echo replies at ep until killed.
func runEchoServer(ep string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var tr *Transport
	tr, err := Listen(ctx, Options{Endpoint: ep, Handler: func(in Incoming) {
		go echo(tr, in)
	}})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("ready\n")
	<-ctx.Done()
	tr.Close()
	return 0
}

// echo replies to a request with a REP carrying its body.
func echo(tr *Transport, in Incoming) {
	if in.Type != TypeREQ {
		return
	}
	_ = tr.Send(context.Background(), in.Sender, NewID(), TypeREP, in.ID, in.Headers, in.Body)
}
