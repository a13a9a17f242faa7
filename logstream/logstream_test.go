package logstream

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph"
)

const python = "/usr/bin/python3"

func requirePython(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import zmq").Run(); err != nil {
		t.Fatalf("the log stream tests need %s with python3-zmq (apt-get install -y python3-zmq): %v", python, err)
	}
}

func listen(t *testing.T) *Publisher {
	t.Helper()
	p, err := Listen("tcp://127.0.0.1:0", nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

// tailAll runs Tail on endpoint until the test ends, sending records to
// the returned channel.
func tailAll(t *testing.T, endpoint string) <-chan Record {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Record, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = Tail(ctx, endpoint, func(r Record) {
			select {
			case out <- r:
			default:
			}
		})
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return out
}

// untilReceived logs with log until a record arrives on ch (a PUB drops
// what it sends before a subscription arrives) and returns it.
func untilReceived(t *testing.T, ch <-chan Record, log func()) Record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		log()
		select {
		case r := <-ch:
			return r
		case <-tick.C:
		case <-deadline:
			t.Fatal("no record arrived")
		}
	}
}

var lineRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[(\w+)\] (\S+): (.*) - trace_id="(\w+)"$`)

func TestHandlerFormat(t *testing.T) {
	p := listen(t)
	ch := tailAll(t, p.Endpoint())
	logger := slog.New(p.Handler(&HandlerOptions{Name: "echo"}))
	ctx := lymph.ContextWithTraceID(context.Background(), "0123456789abcdef0123456789abcdef")

	first := untilReceived(t, ch, func() { logger.InfoContext(ctx, "hello", "port", 4000, "who", "a b") })
	assert.Equal(t, "INFO", first.Level)
	assert.Equal(t, p.Endpoint(), first.Endpoint)
	m := lineRE.FindStringSubmatch(first.Line)
	require.NotNil(t, m, first.Line)
	assert.Equal(t, []string{"INFO", "echo", `hello port=4000 who="a b"`, "0123456789abcdef0123456789abcdef"}, m[1:])

	for len(ch) > 0 { // records of the warm-up
		<-ch
	}
	for _, tc := range []struct {
		log         func()
		level, rest string
		trace       string
	}{
		{func() { logger.Debug("d") }, "DEBUG", "d", "None"},
		{func() { logger.Warn("w", "trace_id", "feedfeedfeedfeedfeedfeedfeedfeed") }, "WARNING", "w", "feedfeedfeedfeedfeedfeedfeedfeed"},
		{func() { logger.With("a", 1).WithGroup("g").Error("e", "b", 2) }, "ERROR", "e a=1 g.b=2", "None"},
		{func() { logger.Log(context.Background(), slog.LevelError+4, "c") }, "CRITICAL", "c", "None"},
		{func() { logger.With("trace_id", "abcabcabcabcabcabcabcabcabcabcab").Info("i") }, "INFO", "i", "abcabcabcabcabcabcabcabcabcabcab"},
	} {
		tc.log()
		r := <-ch
		assert.Equal(t, tc.level, r.Level)
		m := lineRE.FindStringSubmatch(r.Line)
		require.NotNil(t, m, r.Line)
		assert.Equal(t, []string{tc.level, "echo", tc.rest, tc.trace}, m[1:])
	}

	quiet := p.Handler(&HandlerOptions{Level: slog.LevelWarn})
	assert.False(t, quiet.Enabled(context.Background(), slog.LevelInfo))
	assert.True(t, quiet.Enabled(context.Background(), slog.LevelWarn))
}

// TestPythonReadsGoStream: a Python SUB (pyzmq, as lymph tail) reads what
// the Go handler publishes, with a topic filter.
func TestPythonReadsGoStream(t *testing.T) {
	requirePython(t)
	p := listen(t)
	logger := slog.New(p.Handler(&HandlerOptions{Name: "goecho"}))

	cmd := exec.Command(python, "../interop/lymph_peer.py", "logsub", "--to", p.Endpoint(), "--count", "2", "--subscribe", "WARN")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() {
		_, _ = bufio.NewReader(stdout).ReadString('\n') // READY
		done <- nil
	}()
	<-done
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Log until Python has its two records; INFO ones are filtered out by
	// the WARN subscription, at the publisher.
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				logger.Info("not for python")
				logger.Warn("for python", "n", 1)
			}
		}
	}()
	var got []map[string]string
	for line := range lines {
		var rec map[string]string
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		got = append(got, rec)
	}
	close(stop)
	require.NoError(t, cmd.Wait(), "logsub exits 0 once it has its records")
	require.Len(t, got, 2)
	for _, rec := range got {
		assert.Equal(t, "WARNING", rec["topic"])
		assert.Equal(t, p.Endpoint(), rec["endpoint"])
		assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[WARNING\] goecho: for python n=1 - trace_id="None"$`, rec["line"])
	}
}

// TestGoTailsPythonStream: Tail reads a Python PUB in lymph's
// PubLogHandler format.
func TestGoTailsPythonStream(t *testing.T) {
	requirePython(t)
	cmd := exec.Command(python, "../interop/lymph_peer.py", "logpub", "--name", "pyecho")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	ep := strings.TrimPrefix(strings.TrimSpace(line), "READY ")

	ch := tailAll(t, ep)
	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for len(seen) < 5 {
		select {
		case r := <-ch:
			assert.Equal(t, ep, r.Endpoint)
			m := lineRE.FindStringSubmatch(r.Line)
			require.NotNil(t, m, r.Line)
			assert.Equal(t, r.Level, m[1])
			assert.Equal(t, "pyecho", m[2])
			assert.Regexp(t, `^record \d+$`, m[3])
			seen[r.Level] = true
		case <-timeout:
			t.Fatalf("levels seen: %v", seen)
		}
	}
}

func TestBadSubscribers(t *testing.T) {
	p := listen(t)
	addr := strings.TrimPrefix(p.Endpoint(), "tcp://")
	// One that connects and says nothing, one that sends garbage, one
	// that declares a huge frame: none stops a real subscriber.
	silent, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer silent.Close()
	garbage, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer garbage.Close()
	_, _ = garbage.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	huge, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer huge.Close()
	greeting := make([]byte, 64)
	greeting[0], greeting[9], greeting[10] = 0xff, 0x7f, 3
	copy(greeting[12:], "NULL")
	_, _ = huge.Write(append(greeting, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))

	ch := tailAll(t, p.Endpoint())
	logger := slog.New(p.Handler(nil))
	r := untilReceived(t, ch, func() { logger.Info("still here") })
	assert.Contains(t, r.Line, "still here")
}

// TestCloseWithSilentClient: Close does not wait for a client stuck before
// its handshake (goleak checks nothing stays behind).
func TestCloseWithSilentClient(t *testing.T) {
	old := handshakeTimeout
	handshakeTimeout = time.Hour // were Close to wait for it, the test would not end
	defer func() { handshakeTimeout = old }()
	p, err := Listen("tcp://127.0.0.1:0", nil)
	require.NoError(t, err)
	silent, err := net.Dial("tcp", strings.TrimPrefix(p.Endpoint(), "tcp://"))
	require.NoError(t, err)
	defer silent.Close()
	_, _ = silent.Write([]byte{0xff}) // the server has accepted once it reads
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		assert.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("Close waits for the silent client's handshake")
	}
}

func TestListenErrors(t *testing.T) {
	_, err := Listen("udp://127.0.0.1:0", nil)
	assert.Error(t, err)
	p := listen(t)
	_, err = Listen(p.Endpoint(), nil)
	assert.Error(t, err, "the port is taken")
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "twice")
	assert.Error(t, Tail(context.Background(), p.Endpoint(), func(Record) {}), "nothing listens any more")
}
