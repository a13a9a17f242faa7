package lymph

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// These tests find services through a registry and check instance choice
// and failover, with real processes where a crash matters.

func TestCallsSurviveAStoppedInstance(t *testing.T) {
	reg := memoryRegistry(t)
	first := startContainer(t, reg, installTestService(&testService{}))
	second, err := NewContainer(WithLogger(quietLogger()), WithRegistry(reg))
	require.NoError(t, err)
	installTestService(&testService{})(second)
	require.NoError(t, second.Start(context.Background()))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	seen := map[string]int{}
	for range 40 {
		msg, err := p.Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
		require.NoError(t, err)
		seen[msg.Source]++
	}
	assert.Len(t, seen, 2, "random choice spreads calls over both instances: %v", seen)

	require.NoError(t, second.Stop(ctx))
	for range 40 {
		msg, err := p.Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
		require.NoError(t, err, "no call fails once an instance has stopped")
		assert.Equal(t, first.Endpoint(), msg.Source)
	}
}

func TestRoundRobin(t *testing.T) {
	reg := memoryRegistry(t)
	a := startContainer(t, reg, installTestService(&testService{}))
	b := startContainer(t, reg, installTestService(&testService{}))
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("testsvc", WithRoundRobin())

	var order []string
	for range 6 {
		msg, err := p.Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
		require.NoError(t, err)
		order = append(order, msg.Source)
	}
	for i := 2; i < len(order); i++ {
		assert.Equal(t, order[i-2], order[i], "instances take turns: %v", order)
	}
	assert.ElementsMatch(t, []string{a.Endpoint(), b.Endpoint()}, order[:2])
}

func TestVersionRouting(t *testing.T) {
	reg := memoryRegistry(t)
	old := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&testService{release: make(chan struct{})}, WithName("testsvc"), WithVersion("1.1.0")))
	})
	current := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&testService{release: make(chan struct{})}, WithName("testsvc"), WithVersion("1.4.2")))
		require.NoError(t, c.Install(&testService{release: make(chan struct{})}, WithName("testsvc"), WithVersion("2.0.0")))
	})
	client := startContainer(t, reg, nil)
	ctx := testContext(t)

	// Any instance whose version satisfies the constraint may answer; it
	// answers with the newest of its versions that does.
	for _, tc := range []struct {
		address string
		want    map[string]string // endpoint -> version answering
	}{
		{"testsvc", map[string]string{current.Endpoint(): "2.0.0"}},
		{"testsvc@1.1", map[string]string{current.Endpoint(): "1.4.2", old.Endpoint(): "1.1.0"}},
		{"testsvc@1.4", map[string]string{current.Endpoint(): "1.4.2"}},
		{"testsvc@2", map[string]string{current.Endpoint(): "2.0.0"}},
	} {
		for range 10 {
			msg, err := client.Proxy(tc.address).Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
			require.NoError(t, err, tc.address)
			require.Contains(t, tc.want, msg.Source, tc.address)
			assert.Equal(t, tc.want[msg.Source], msg.Version(), tc.address)
		}
	}
	// The old instance serves 1.1 only: asked for 1.0 exactly there, it answers.
	msg, err := client.Proxy("testsvc@1.0", WithInstance(old.Endpoint())).Request(ctx, "upper", textArgs{Text: "x"})
	require.NoError(t, err)
	assert.Equal(t, "1.1.0", msg.Version())

	err = client.Proxy("testsvc@3").Call(ctx, "upper", textArgs{Text: "x"}, nil)
	assert.ErrorIs(t, err, ErrLookupFailure, "no instance has a 3.x version")
}

// TestCrashedInstanceFailover kills one of two example processes with
// SIGKILL: it never unregisters. Calls keep succeeding on the other; at most
// the call in flight at the moment of the crash is lost.
func TestCrashedInstanceFailover(t *testing.T) {
	regURL := "local://" + t.TempDir()
	_, victim := startExample(t, regURL)
	survivor, _ := startExample(t, regURL)
	reg, err := registry.Open(regURL)
	require.NoError(t, err)
	defer reg.Close()
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("echo", WithTimeout(time.Second))

	require.Eventually(t, func() bool {
		instances, err := reg.Lookup(ctx, "echo")
		return err == nil && len(instances) == 2
	}, 5*time.Second, 10*time.Millisecond)

	call := func() error {
		_, err := Call[string](ctx, p, "upper", map[string]any{"text": "x"})
		return err
	}
	for range 20 {
		require.NoError(t, call())
	}
	require.NoError(t, victim.Process.Signal(syscall.SIGKILL))
	_ = victim.Wait()

	var failures []error
	for range 100 {
		if err := call(); err != nil {
			failures = append(failures, err)
		}
	}
	assert.LessOrEqual(t, len(failures), 1, "failures after the crash: %v", failures)
	// A call sent before the crash was noticed fails as lost with its
	// connection, at once, not at its deadline.
	for _, err := range failures {
		assert.ErrorIs(t, err, ErrConnectionLost)
	}
	msg, err := client.Proxy("echo").Request(ctx, "upper", map[string]any{"text": "x"})
	require.NoError(t, err)
	assert.Equal(t, survivor, msg.Source)
}

// TestZooKeeperDiscovery: two Go instances and a Go client find each other
// through a real ZooKeeper, in lymph's layout.
func TestZooKeeperDiscovery(t *testing.T) {
	zk := requireZooKeeper(t)
	url := fmt.Sprintf("zookeeper://%s/lymph-test-%d", zk, time.Now().UnixNano())
	open := func() registry.Registry {
		reg, err := registry.Open(url)
		require.NoError(t, err)
		t.Cleanup(func() { reg.Close() })
		return reg
	}
	a := startContainer(t, open(), installTestService(&testService{}))
	b := startContainer(t, open(), installTestService(&testService{}))
	client := startContainer(t, open(), nil)
	ctx := testContext(t)

	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		msg, err := client.Proxy("testsvc").Defer(ctx, "upper", textArgs{Text: "x"}).Message(ctx)
		if err == nil {
			seen[msg.Source] = true
		}
		return len(seen) == 2
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, map[string]bool{a.Endpoint(): true, b.Endpoint(): true}, seen)

	names, err := open().Discover(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"testsvc", "lymph"}, names, "the builtin interface registers too")
}

// TestZooKeeperPythonStyleNode: an instance registered the way Python
// lymph registers it — an ephemeral znode of JSON written by hand here,
// with fields we do not use — is found and called. The service behind it
// is the independent Python peer.
func TestZooKeeperPythonStyleNode(t *testing.T) {
	zkAddr := requireZooKeeper(t)
	requirePython(t)
	pyEndpoint := startPythonService(t)

	chroot := fmt.Sprintf("/lymph-test-%d", time.Now().UnixNano())
	conn, _, err := zk.Connect([]string{zkAddr}, 10*time.Second, zk.WithLogInfo(false))
	require.NoError(t, err)
	defer conn.Close()
	identity := registry.Identity(pyEndpoint)
	id := registry.InstanceID(identity, "pyecho", "")
	node := fmt.Sprintf(`{"id": %q, "identity": %q, "version": null, "endpoint": %q, `+
		`"log_endpoint": "tcp://127.0.0.1:33039", "monitoring_endpoint": "tcp://127.0.0.1:38269", `+
		`"backdoor_endpoint": null, "fqdn": "localhost", "hostname": "vm", "ip": "127.0.0.1", "type": false}`,
		id, identity, pyEndpoint)
	for _, p := range []string{chroot, chroot + "/services", chroot + "/services/pyecho"} {
		_, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll))
		require.True(t, err == nil || err == zk.ErrNodeExists, "create %s: %v", p, err)
	}
	_, err = conn.Create(chroot+"/services/pyecho/"+id, []byte(node), zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	require.NoError(t, err)

	reg, err := registry.Open("zookeeper://" + zkAddr + chroot)
	require.NoError(t, err)
	defer reg.Close()
	client := startContainer(t, reg, nil)
	out, err := Call[string](testContext(t), client.Proxy("pyecho"), "upper", textArgs{Text: "foo"})
	require.NoError(t, err)
	assert.Equal(t, "FOO", out)
}

// TestFrozenInstanceIsAvoided stops (SIGSTOP) one of two example processes:
// it stays registered and its connection stays open, but it no longer
// answers heartbeats. Once the heartbeat marks it unresponsive, calls go to
// the other instance.
func TestFrozenInstanceIsAvoided(t *testing.T) {
	regURL := "local://" + t.TempDir()
	frozen, frozenCmd := startExample(t, regURL)
	alive, _ := startExample(t, regURL)
	reg, err := registry.Open(regURL)
	require.NoError(t, err)
	defer reg.Close()
	client := startContainer(t, reg, nil, WithHealth(Health{PingInterval: 20 * time.Millisecond, UnresponsiveAfter: 200 * time.Millisecond}))
	ctx := testContext(t)
	p := client.Proxy("echo")

	// Talk to both, so both have a connection record and heartbeats.
	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		msg, err := client.Proxy("echo").Request(ctx, "upper", map[string]any{"text": "x"})
		if err == nil {
			seen[msg.Source] = true
		}
		return len(seen) == 2
	}, 5*time.Second, time.Millisecond)

	require.NoError(t, frozenCmd.Process.Signal(syscall.SIGSTOP))
	defer frozenCmd.Process.Signal(syscall.SIGCONT)
	require.Eventually(t, func() bool {
		return client.monitor.State(frozen).String() == "unresponsive"
	}, 5*time.Second, 10*time.Millisecond)

	for range 50 {
		msg, err := p.Defer(ctx, "upper", map[string]any{"text": "x"}).Message(ctx)
		require.NoError(t, err)
		assert.Equal(t, alive, msg.Source)
	}
}

// requireZooKeeper returns the test ZooKeeper's address. Without one the
// test fails — it is skipped only under -short — since a skipped
// integration test must not pass for a green one.
func requireZooKeeper(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("LYMPH_TEST_ZOOKEEPER")
	if addr == "" {
		if testing.Short() {
			t.Skip("-short: no ZooKeeper")
		}
		t.Fatal("LYMPH_TEST_ZOOKEEPER is not set: run `.ci/zookeeper.sh start` and LYMPH_TEST_ZOOKEEPER=127.0.0.1:2181 go test ./... (or make test, which does both)")
	}
	return addr
}
