//go:build linux

package events

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const helperEnv = "LYMPH_EVENTS_TEST_HELPER"

// helperMain is the second process: it consumes QUEUE for TYPE on the local
// backend in DIR, prints READY, then "n" per event, until stdin closes. In
// mode "hang" its handler never returns, so its claims stay outstanding.
func helperMain() int {
	parts := strings.Split(os.Getenv(helperEnv), "|")
	dir, queue, typ, mode := parts[0], parts[1], parts[2], parts[3]
	b, err := Open("local://"+dir, WithLogger(quietLogger()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := make(chan int, 1000)
	hang := make(chan struct{})
	_, err = b.Subscribe(context.Background(), Subscription{Queue: queue, Types: []string{typ}, Broadcast: mode == "broadcast"}, func(_ context.Context, ev *Event) error {
		var n numbered
		_ = ev.Decode(&n)
		out <- n.N
		if mode == "hang" {
			<-hang
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("READY")
	go func() {
		for n := range out {
			fmt.Println(n)
		}
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	close(hang)
	_ = b.Close()
	return 0
}

type helperProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	got   chan int
}

func startHelper(t *testing.T, dir, queue, typ, mode string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join([]string{dir, queue, typ, mode}, "|"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &helperProc{cmd: cmd, stdin: stdin, got: make(chan int, 1000)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(ready)
				continue
			}
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				h.got <- n
			}
		}
	}()
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	recv(t, ready, "the helper process to subscribe")
	return h
}

func TestLocalBetweenProcesses(t *testing.T) {
	dir := t.TempDir()
	url := "local://" + dir

	t.Run("SharedQueueEachOnce", func(t *testing.T) {
		ctx := ctxFor(t)
		typ, queue := randomName("ev"), randomName("svc-on_ev")
		child := startHelper(t, dir, queue, typ, "normal")
		b := mustOpen(t, url)
		h, got := collect()
		subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
		const total = 40
		for i := range total {
			require.NoError(t, b.Emit(ctx, typ, numbered{N: i}))
		}
		seen := map[int]int{}
		for range total {
			select {
			case n := <-child.got:
				seen[n]++
			case ev := <-got:
				var n numbered
				require.NoError(t, ev.Decode(&n))
				seen[n.N]++
			case <-ctx.Done():
				t.Fatalf("only %d events handled", len(seen))
			}
		}
		for i := range total {
			assert.Equal(t, 1, seen[i], "event %d handled once across both processes", i)
		}
	})

	t.Run("BroadcastReachesEveryProcess", func(t *testing.T) {
		ctx := ctxFor(t)
		typ, queue := randomName("ev"), randomName("svc-on_ev")
		child := startHelper(t, dir, queue, typ, "broadcast")
		b := mustOpen(t, url)
		h, got := collect()
		subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}, Broadcast: true}, h)
		for i := range 5 {
			require.NoError(t, b.Emit(ctx, typ, numbered{N: i}))
		}
		var fromChild, fromUs []int
		for range 5 {
			fromChild = append(fromChild, recv(t, child.got, "the child's copy"))
			var n numbered
			require.NoError(t, recv(t, got, "our copy").Decode(&n))
			fromUs = append(fromUs, n.N)
		}
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4}, fromChild)
		assert.ElementsMatch(t, []int{0, 1, 2, 3, 4}, fromUs)
	})

	t.Run("CrashedConsumersClaimsComeBack", func(t *testing.T) {
		ctx := ctxFor(t)
		typ, queue := randomName("ev"), randomName("svc-on_ev")
		child := startHelper(t, dir, queue, typ, "hang")
		b := mustOpen(t, url)
		for i := range 3 {
			require.NoError(t, b.Emit(ctx, typ, numbered{N: i}))
		}
		recv(t, child.got, "the hanging handler to hold an event")
		require.NoError(t, child.cmd.Process.Signal(syscall.SIGKILL))
		_, _ = child.cmd.Process.Wait()
		h, got := collect()
		subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
		var seen []int
		for range 3 {
			var n numbered
			require.NoError(t, recv(t, got, "an event the dead process held").Decode(&n))
			seen = append(seen, n.N)
		}
		assert.ElementsMatch(t, []int{0, 1, 2}, seen)
	})
}
