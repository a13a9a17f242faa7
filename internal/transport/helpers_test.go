package transport

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testTimeout bounds waits in tests so that a bug hangs nothing; no test
// asserts on how fast anything is.
const testTimeout = 10 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// inbox collects what a Transport's Handler receives.
type inbox chan Incoming

func newInbox() inbox { return make(inbox, 1024) }

func (b inbox) handler(in Incoming) { b <- in }

// next returns the next message, failing the test after testTimeout.
func (b inbox) next(t testing.TB) Incoming {
	t.Helper()
	select {
	case in := <-b:
		return in
	case <-time.After(testTimeout):
		t.Fatal("no message received")
		return Incoming{}
	}
}

// nextWhere returns the next message for which keep is true, skipping the
// others.
func (b inbox) nextWhere(t testing.TB, keep func(Incoming) bool) Incoming {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case in := <-b:
			if keep(in) {
				return in
			}
		case <-deadline:
			t.Fatal("no matching message received")
			return Incoming{}
		}
	}
}

// testHeaders are msgpack headers as lymph sends them: {"trace_id": nil,
// "version": nil}.
var testHeaders = []byte("\x82\xa8trace_id\xc0\xa7version\xc0")

// listen starts a Transport on a free local port, closed at test end.
func listen(t testing.TB, opts Options) *Transport {
	t.Helper()
	if opts.Endpoint == "" {
		opts.Endpoint = "tcp://127.0.0.1:0"
	}
	tr, err := Listen(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

// echoTransport starts a Transport that answers every REQ with a REP of
// the same body, from a goroutine as a real server would.
func echoTransport(t testing.TB, opts Options) *Transport {
	t.Helper()
	var tr *Transport
	ready := make(chan struct{})
	opts.Handler = func(in Incoming) {
		<-ready
		go echo(tr, in)
	}
	tr = listen(t, opts)
	close(ready)
	return tr
}

// eventually retries f until it returns true, failing after testTimeout.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
