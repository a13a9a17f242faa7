package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The ZooKeeper tests need a real server: start one with
//
//	.ci/zookeeper.sh start
//	LYMPH_TEST_ZOOKEEPER=127.0.0.1:2181 go test -race ./registry/...
//
// They are skipped under -short only; otherwise a missing server fails them.
const zkEnv = "LYMPH_TEST_ZOOKEEPER"

func zkTestAddr(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("ZooKeeper integration test: skipped under -short")
	}
	addr := os.Getenv(zkEnv)
	if addr == "" {
		t.Fatalf("%s is not set. These tests need a real ZooKeeper: run `.ci/zookeeper.sh start` "+
			"(from the repository root), then `%s=127.0.0.1:2181 go test -race ./registry/...`; "+
			"or skip them with go test -short", zkEnv, zkEnv)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("ZooKeeper at %s=%s is unreachable (%v): run `.ci/zookeeper.sh start`", zkEnv, addr, err)
	}
	c.Close()
	return addr
}

// zkDirect is a plain zk client for looking behind the registry's back.
func zkDirect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	conn, events, err := zk.Connect([]string{addr}, 10*time.Second,
		zk.WithLogger(zkLogger{log: quietLogger()}), zk.WithLogInfo(false))
	require.NoError(t, err)
	t.Cleanup(func() {
		conn.Close()
		for range events { // closed once zk's goroutines have ended
		}
	})
	return conn
}

// newChroot returns a chroot of the test's own, deleted at the end.
func newChroot(t *testing.T, addr string) string {
	t.Helper()
	chroot := "/" + randomName("lymph-test")
	raw := zkDirect(t, addr)
	t.Cleanup(func() { deleteTree(raw, chroot) })
	return chroot
}

func deleteTree(conn *zk.Conn, p string) {
	children, _, _ := conn.Children(p)
	for _, c := range children {
		deleteTree(conn, path.Join(p, c))
	}
	conn.Delete(p, -1)
}

func openZK(t *testing.T, hosts, chroot, query string) *zkRegistry {
	t.Helper()
	url := "zookeeper://" + hosts + chroot
	if query != "" {
		url += "?" + query
	}
	r, err := Open(url, WithLogger(testLogger()))
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r.(*zkRegistry)
}

func TestZooKeeper(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	testConformance(t, func(t *testing.T) Registry { return openZK(t, addr, chroot, "") })
}

func TestZooKeeperNodeHasLymphFields(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	r := openZK(t, addr, chroot, "")
	raw := zkDirect(t, addr)
	ctx := ctxFor(t)

	inst := instance(t, "echo", 47411, "1.2")
	inst.Fields = map[string]any{"log_endpoint": "tcp://127.0.0.1:33039"}
	require.NoError(t, r.Register(ctx, inst))

	p := chroot + "/services/echo/" + inst.ID
	data, stat, err := raw.Get(p)
	require.NoError(t, err)
	assert.Equal(t, r.zc().SessionID(), stat.EphemeralOwner, "the node is ephemeral, ours")
	var rec map[string]any
	require.NoError(t, json.Unmarshal(data, &rec))
	host, _ := os.Hostname()
	assert.Equal(t, map[string]any{
		"id":                  InstanceID("465b1d832bc83802948e8a91d085832f", "echo", "1.2.0"),
		"identity":            "465b1d832bc83802948e8a91d085832f",
		"version":             "1.2.0",
		"endpoint":            "tcp://127.0.0.1:47411",
		"log_endpoint":        "tcp://127.0.0.1:33039",
		"monitoring_endpoint": nil,
		"backdoor_endpoint":   nil,
		"fqdn":                host,
		"hostname":            host,
		"ip":                  "127.0.0.1",
		"type":                false,
	}, rec)
	for _, parent := range []string{chroot, chroot + "/services", chroot + "/services/echo"} {
		_, stat, err := raw.Exists(parent)
		require.NoError(t, err)
		assert.Zero(t, stat.EphemeralOwner, "%s is persistent", parent)
	}

	require.NoError(t, r.Unregister(ctx, inst))
	ok, _, err := raw.Exists(p)
	require.NoError(t, err)
	assert.False(t, ok, "Unregister deletes the node")
}

// A node written the way Python lymph writes it is found, watched and
// discovered.
func TestZooKeeperFindsPythonNode(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	r := openZK(t, addr, chroot, "")
	raw := zkDirect(t, addr)
	ctx := ctxFor(t)

	ch, err := r.Watch(ctx, "echo")
	require.NoError(t, err)
	nextSet(t, ch, "no echo yet", hasEndpoints())

	const raw0 = `{"id": "28c636ffe8af14d47ac8c867d0687154", "identity": "465b1d832bc83802948e8a91d085832f", "version": null, "endpoint": "tcp://127.0.0.1:47411", "log_endpoint": "tcp://127.0.0.1:33039", "monitoring_endpoint": "tcp://127.0.0.1:38269", "backdoor_endpoint": null, "fqdn": "localhost", "hostname": "vm", "ip": "127.0.0.1", "type": false}`
	for _, p := range []string{chroot, chroot + "/services", chroot + "/services/echo"} {
		_, err := raw.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	_, err = raw.Create(chroot+"/services/echo/28c636ffe8af14d47ac8c867d0687154", []byte(raw0),
		zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	set := nextSet(t, ch, "python instance joins", hasEndpoints("tcp://127.0.0.1:47411"))
	got, err := r.Lookup(ctx, "echo")
	require.NoError(t, err)
	assert.Equal(t, set, got)
	require.Len(t, got, 1)
	assert.Equal(t, "28c636ffe8af14d47ac8c867d0687154", got[0].ID)
	assert.Equal(t, "465b1d832bc83802948e8a91d085832f", got[0].Identity)
	assert.Equal(t, "", got[0].Version)
	assert.Equal(t, "vm", got[0].Fields["hostname"])
	assert.Equal(t, "tcp://127.0.0.1:38269", got[0].Fields["monitoring_endpoint"])
	names, err := r.Discover(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"echo"}, names)

	// A change of the record is seen too (the data watch).
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw0), &rec))
	rec["hostname"] = "moved"
	data, _ := json.Marshal(rec)
	_, err = raw.Set(chroot+"/services/echo/28c636ffe8af14d47ac8c867d0687154", data, -1)
	require.NoError(t, err)
	nextSet(t, ch, "record change", func(s []Instance) bool { return len(s) == 1 && s[0].Fields["hostname"] == "moved" })

	// A node nobody can read is skipped, not fatal.
	_, err = raw.Create(chroot+"/services/echo/garbage", []byte("not json"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)
	got, err = r.Lookup(ctx, "echo")
	require.NoError(t, err)
	assert.Len(t, got, 1)

	require.NoError(t, raw.Delete(chroot+"/services/echo/28c636ffe8af14d47ac8c867d0687154", -1))
	nextSet(t, ch, "python instance leaves", hasEndpoints())
}

// lymph's rule: a node left at our path by another session (a restart
// faster than the session timeout) is deleted and created anew.
func TestZooKeeperReplacesStaleNode(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	r := openZK(t, addr, chroot, "")
	raw := zkDirect(t, addr)
	ctx := ctxFor(t)

	inst := instance(t, "echo", 47411, "")
	p := chroot + "/services/echo/" + inst.ID
	for _, dir := range []string{chroot, chroot + "/services", chroot + "/services/echo"} {
		_, err := raw.Create(dir, nil, 0, zk.WorldACL(zk.PermAll))
		require.NoError(t, err)
	}
	_, err := raw.Create(p, []byte(`{"endpoint": "tcp://127.0.0.1:47411", "hostname": "previous life"}`),
		zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	require.NoError(t, r.Register(ctx, inst))
	data, stat, err := raw.Get(p)
	require.NoError(t, err)
	assert.Equal(t, r.zc().SessionID(), stat.EphemeralOwner)
	assert.NotContains(t, string(data), "previous life")
}

// ZooKeeper goes silent for longer than the session timeout: it expires the
// session and deletes the node; when the network is back the registry gets
// a new session, registers again and its watches work again, by itself.
func TestZooKeeperSessionExpiry(t *testing.T) {
	addr := zkTestAddr(t)
	chroot := newChroot(t, addr)
	proxy := newTCPProxy(t, addr)
	r := openZK(t, proxy.addr(), chroot, "session_timeout=2s")
	observer := openZK(t, addr, chroot, "")
	raw := zkDirect(t, addr)
	ctx := ctxFor(t)

	name := randomName("svc")
	inst := instance(t, name, 4001, "")
	require.NoError(t, r.Register(ctx, inst))
	p := chroot + "/services/" + name + "/" + inst.ID
	ownerOf := func() int64 {
		ok, stat, err := raw.Exists(p)
		if err != nil || !ok {
			return 0
		}
		return stat.EphemeralOwner
	}
	oldSession := r.zc().SessionID()
	require.Equal(t, oldSession, ownerOf())

	watch, err := r.Watch(ctx, name)
	require.NoError(t, err)
	nextSet(t, watch, "registered", hasEndpoints(inst.Endpoint))
	seen, err := observer.Watch(ctx, name)
	require.NoError(t, err)
	nextSet(t, seen, "registered", hasEndpoints(inst.Endpoint))

	proxy.cut()
	nextSet(t, seen, "node deleted when the session expired", hasEndpoints())

	// While cut off, calls fail within their context rather than hang.
	short, cancel := context.WithTimeout(ctx, time.Second)
	_, err = r.Lookup(short, name)
	cancel()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded), "got %v", err)

	proxy.heal()
	nextSet(t, seen, "registered again", hasEndpoints(inst.Endpoint))
	eventually(t, func() bool {
		o := ownerOf()
		return o != 0 && o != oldSession && o == r.zc().SessionID()
	}, "node owned by the new session")

	other := instance(t, name, 4002, "")
	require.NoError(t, observer.Register(ctx, other))
	nextSet(t, watch, "a join after the expiry, through the re-armed watch", hasEndpoints(inst.Endpoint, other.Endpoint))
	got, err := r.Lookup(ctx, name)
	require.NoError(t, err)
	assert.Len(t, got, 2)
}

// The ZooKeeper server restarts: the registry reconnects, its
// registrations are there again and its watches keep working. The server
// restarted is a private one, started for this test with .ci/zookeeper.sh:
// restarting the shared one would break the tests of other packages that
// go test runs at the same time.
func TestZooKeeperRestart(t *testing.T) {
	zkTestAddr(t) // the ZooKeeper tests are asked for (and not -short)
	addr, restart := privateZooKeeper(t)
	chroot := newChroot(t, addr)
	r := openZK(t, addr, chroot, "")
	watcher := openZK(t, addr, chroot, "")
	ctx := ctxFor(t)

	name := randomName("svc")
	first := instance(t, name, 5001, "")
	require.NoError(t, r.Register(ctx, first))
	ch, err := watcher.Watch(ctx, name)
	require.NoError(t, err)
	nextSet(t, ch, "registered", hasEndpoints(first.Endpoint))

	sessions := r.sessions.Load()
	restart(false)
	eventually(t, func() bool { return r.sessions.Load() > sessions }, "registry reconnected after the restart")

	eventually(t, func() bool {
		got, err := r.Lookup(ctx, name)
		return err == nil && len(got) == 1 && got[0].Endpoint == first.Endpoint
	}, "lookup works and finds our instance after the restart")

	second := instance(t, name, 5002, "")
	require.NoError(t, r.Register(ctx, second))
	nextSet(t, ch, "a join after the restart", hasEndpoints(first.Endpoint, second.Endpoint))
	require.NoError(t, r.Unregister(ctx, first))
	nextSet(t, ch, "a leave after the restart", hasEndpoints(second.Endpoint))
}

// A ZooKeeper restarted without its data refuses to resume any session
// that saw a higher zxid than its own, and zk.Conn would retry that
// forever: the registry starts a new session, registers again in it, and
// its watches see the instance come back.
func TestZooKeeperRestartWithoutData(t *testing.T) {
	zkTestAddr(t)
	addr, restart := privateZooKeeper(t)
	r := openZK(t, addr, "/lymph", "")
	watcher := openZK(t, addr, "/lymph", "")
	ctx := ctxFor(t)

	name := randomName("svc")
	inst := instance(t, name, 5001, "")
	require.NoError(t, r.Register(ctx, inst))
	ch, err := watcher.Watch(ctx, name)
	require.NoError(t, err)
	nextSet(t, ch, "registered", hasEndpoints(inst.Endpoint))

	restart(true)
	eventually(t, func() bool {
		got, err := watcher.Lookup(ctx, name)
		return err == nil && len(got) == 1 && got[0].Endpoint == inst.Endpoint
	}, "the instance is registered again in the empty ZooKeeper")
	second := instance(t, name, 5002, "")
	require.NoError(t, r.Register(ctx, second))
	nextSet(t, ch, "the watch works after the restart", hasEndpoints(inst.Endpoint, second.Endpoint))
}

// privateZooKeeper starts a ZooKeeper of the test's own with
// .ci/zookeeper.sh (on a free port, in a temporary directory), stops it at
// the end, and returns its address and a function that restarts it (with
// its data, or empty when wipe is true).
func privateZooKeeper(t *testing.T) (addr string, restart func(wipe bool)) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	script := func(cmd string) {
		t.Helper()
		c := exec.Command("bash", "../.ci/zookeeper.sh", cmd)
		c.Env = append(os.Environ(), "LYMPH_ZK_DIR="+dir, fmt.Sprintf("LYMPH_ZK_PORT=%d", port))
		out, err := c.CombinedOutput()
		require.NoError(t, err, "`.ci/zookeeper.sh %s` failed:\n%s", cmd, out)
		t.Logf("zookeeper.sh %s: %s", cmd, out)
	}
	script("start")
	t.Cleanup(func() { script("stop") })
	return fmt.Sprintf("127.0.0.1:%d", port), func(wipe bool) {
		if wipe {
			script("clean")
			script("start")
			return
		}
		script("restart")
	}
}

// tcpProxy forwards to a ZooKeeper server and can cut the line, to make a
// session expire without touching the server.
type tcpProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	isCut bool
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.isCut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
		p.mu.Unlock()
	}
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut drops every connection and refuses new ones until heal.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *tcpProxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = false
}

// With ZooKeeper down, reads and registrations fail at once with
// ErrUnavailable rather than waiting out their contexts; an unregistration
// is remembered, to be done when a session is back.
func TestZooKeeperDownFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r, err := Open("zookeeper://"+addr+"/lymph?connect_timeout=0", WithLogger(testLogger()))
	require.NoError(t, err)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err = r.Lookup(ctx, "echo")
	assert.ErrorIs(t, err, ErrUnavailable)
	_, err = r.Watch(ctx, "echo")
	assert.ErrorIs(t, err, ErrUnavailable)
	_, err = r.Discover(ctx)
	assert.ErrorIs(t, err, ErrUnavailable)
	assert.ErrorIs(t, r.Register(ctx, instance(t, "echo", 1, "")), ErrUnavailable)
}
