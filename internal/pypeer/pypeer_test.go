package pypeer

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServeReportsAnEndpoint(t *testing.T) {
	Require(t)
	if _, err := os.Stat(Script("lymph_peer.py")); err != nil {
		t.Fatal(err)
	}
	ep := Serve(t, "--name", "pyecho")
	if !strings.HasPrefix(ep, "tcp://127.0.0.1:") {
		t.Fatalf("endpoint %q", ep)
	}
}
