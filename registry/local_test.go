package registry

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openLocal(t *testing.T, dir string) Registry {
	t.Helper()
	r, err := Open("local://"+dir+"?poll=20ms", WithLogger(testLogger()))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	testConformance(t, func(t *testing.T) Registry { return openLocal(t, dir) })
}

func TestLocalFileLayout(t *testing.T) {
	ctx := ctxFor(t)
	dir := t.TempDir()
	r := openLocal(t, dir)
	inst := instance(t, "echo", 47411, "")
	require.NoError(t, r.Register(ctx, inst))

	path := filepath.Join(dir, "services", "echo", "28c636ffe8af14d47ac8c867d0687154.json")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(data, &rec))
	assert.Equal(t, "28c636ffe8af14d47ac8c867d0687154", rec["id"])
	assert.Equal(t, "465b1d832bc83802948e8a91d085832f", rec["identity"])
	assert.Equal(t, "tcp://127.0.0.1:47411", rec["endpoint"])
	assert.Nil(t, rec["version"])

	require.NoError(t, r.Close())
	assert.NoFileExists(t, path, "Close removes our files")
}

// A registration whose file someone deletes (rm -rf, a /tmp cleaner) comes
// back by itself.
func TestLocalRestoresDeletedFile(t *testing.T) {
	ctx := ctxFor(t)
	dir := t.TempDir()
	r, other := openLocal(t, dir), openLocal(t, dir)
	name := randomName("svc")
	inst := instance(t, name, 1, "")
	require.NoError(t, r.Register(ctx, inst))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "services")))
	eventually(t, func() bool {
		got, err := other.Lookup(ctx, name)
		return err == nil && len(got) == 1
	}, "registration restored")
}

// A dead owner's file (its lock released by the kernel) is not an instance,
// and the next reader deletes it. Simulated in-process: a file nobody locks.
func TestLocalUnlockedFileIsStale(t *testing.T) {
	ctx := ctxFor(t)
	dir := t.TempDir()
	r := openLocal(t, dir)
	name := randomName("svc")
	inst := instance(t, name, 1, "")
	data, err := encodeRecord(inst)
	require.NoError(t, err)
	path := filepath.Join(dir, "services", name, inst.ID+".json")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, data, 0o644))

	got, err := r.Lookup(ctx, name)
	require.NoError(t, err)
	assert.Empty(t, got)
	assert.NoFileExists(t, path)
}

// The real thing: another process registers, is seen, is SIGKILLed (no
// cleanup at all) and disappears; another exits cleanly and unregisters.
func TestLocalAcrossProcesses(t *testing.T) {
	ctx := ctxFor(t)
	dir := t.TempDir()
	r := openLocal(t, dir)
	name := randomName("svc")
	ch, err := r.Watch(ctx, name)
	require.NoError(t, err)
	nextSet(t, ch, "empty", hasEndpoints())

	killed := runHelper(t, "local://"+dir, name, 3001)
	graceful := runHelper(t, "local://"+dir, name, 3002)
	nextSet(t, ch, "both helpers", hasEndpoints("tcp://127.0.0.1:3001", "tcp://127.0.0.1:3002"))
	got, err := r.Lookup(ctx, name)
	require.NoError(t, err)
	assert.Len(t, got, 2)
	names, err := r.Discover(ctx)
	require.NoError(t, err)
	assert.Contains(t, names, name)

	require.NoError(t, killed.Process.Kill())
	_ = killed.Wait()
	nextSet(t, ch, "killed helper gone", hasEndpoints("tcp://127.0.0.1:3002"))
	dead := filepath.Join(dir, "services", name, instance(t, name, 3001, "").ID+".json")
	eventually(t, func() bool { _, err := os.Stat(dead); return os.IsNotExist(err) }, "dead file removed")

	require.NoError(t, graceful.stdin.Close()) // asks it to Close and exit
	require.NoError(t, graceful.Wait())
	nextSet(t, ch, "graceful helper gone", hasEndpoints())
}

const helperEnv = "LYMPH_REGISTRY_TEST_HELPER"

type helperProc struct {
	*exec.Cmd
	stdin io.WriteCloser
}

// runHelper starts this test binary as another process that registers
// name on port in the registry at url, and returns once it has.
func runHelper(t *testing.T, url, name string, port int) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperEnv+"=1",
		"HELPER_URL="+url,
		"HELPER_NAME="+name,
		"HELPER_PORT="+strconv.Itoa(port))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &helperProc{Cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		stdin.Close()
		h.Process.Kill()
		h.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper did not report")
	require.Equal(t, "registered\n", line)
	return h
}

// helperMain is the other process of runHelper: it registers, says so, and
// closes the registry when its stdin closes.
func helperMain() int {
	r, err := Open(os.Getenv("HELPER_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	port, _ := strconv.Atoi(os.Getenv("HELPER_PORT"))
	inst, err := NewInstance(os.Getenv("HELPER_NAME"), fmt.Sprintf("tcp://127.0.0.1:%d", port), "")
	if err == nil {
		err = r.Register(context.Background(), inst)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	fmt.Println("registered")
	io.Copy(io.Discard, os.Stdin)
	if err := r.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

func TestLocalDefaultDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	assert.Equal(t, filepath.Join(xdg, "lymph"), defaultLocalDir())
	r, err := Open("local:")
	require.NoError(t, err)
	require.NoError(t, r.Close())
	assert.DirExists(t, filepath.Join(xdg, "lymph", "services"))

	t.Setenv("XDG_RUNTIME_DIR", "")
	assert.Equal(t, filepath.Join(os.TempDir(), fmt.Sprintf("lymph-%d", os.Getuid())), defaultLocalDir())
}

func TestLocalRefusesSharedDefaultDir(t *testing.T) {
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	require.NoError(t, os.Mkdir(filepath.Join(xdg, "lymph"), 0o777))
	require.NoError(t, os.Chmod(filepath.Join(xdg, "lymph"), 0o777))
	_, err := Open("local:")
	assert.ErrorContains(t, err, "writable by others")
}

// A watch sees instances come and go from file events, not only from its
// poll: with an hour between polls, only the events can tell it.
func TestLocalWatchSeesChangesWithoutPolling(t *testing.T) {
	if !notifySupported {
		t.Skip("no directory events on this system: local watches poll only")
	}
	ctx := ctxFor(t)
	dir := t.TempDir()
	watcher, err := Open("local://"+dir+"?poll=1h", WithLogger(testLogger()))
	require.NoError(t, err)
	defer watcher.Close()
	owner := openLocal(t, dir)
	name := randomName("svc")
	updates, err := watcher.Watch(ctx, name)
	require.NoError(t, err)
	require.Empty(t, <-updates)

	inst := instance(t, name, 1, "")
	require.NoError(t, owner.Register(ctx, inst))
	joined := false
	for set := range updates {
		if joined = len(set) == 1; joined {
			assert.Equal(t, inst.Endpoint, set[0].Endpoint)
			break
		}
	}
	require.True(t, joined, "the watch never saw the instance register")
	require.NoError(t, owner.Unregister(ctx, inst))
	left := false
	for set := range updates {
		if left = len(set) == 0; left {
			break
		}
	}
	require.True(t, left, "the watch never saw the instance leave")
}
