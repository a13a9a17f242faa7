package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

// TestZooKeeper runs request and discover through a real ZooKeeper, with
// the registry named by --registry and by a lymph-style .lymph.yml. It
// needs LYMPH_TEST_ZOOKEEPER (host:port); without it the test fails rather
// than skips, so a CI that forgot ZooKeeper does not pass quietly. -short
// skips it.
func TestZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the ZooKeeper test")
	}
	hostport := os.Getenv("LYMPH_TEST_ZOOKEEPER")
	if hostport == "" {
		t.Fatal("LYMPH_TEST_ZOOKEEPER is not set: start ZooKeeper with `.ci/zookeeper.sh start` and run with " +
			"LYMPH_TEST_ZOOKEEPER=127.0.0.1:2181 (or pass -short to skip this test)")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	// A chroot of its own: nothing else registered there, and removed after.
	chroot := "/lymph-cli-test-" + hex.EncodeToString(b)
	t.Cleanup(func() { deleteZNodes(t, hostport, chroot) })
	url := "zookeeper://" + hostport + chroot + "?connect_timeout=5s"
	svc := startEcho(t, url)

	r := cli(t, "", "--registry", url, "request", "echo.upper", `{"text": "zk"}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "\"ZK\"\n", r.stdout)

	r = cli(t, "", "--registry", url, "request", "vecho.upper@1.2", `{"text": "zk"}`)
	require.Equal(t, 0, r.code, r.stderr)

	r = cli(t, "", "--registry", url, "discover", "--instances")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "echo [1]\n└─ ["+svc.Identity()[:10]+"] "+svc.Endpoint()+"\n")
	assert.Contains(t, r.stdout, "lymph [1]\n")

	r = cli(t, "", "--registry", url, "request", "nosuch.x")
	assert.Equal(t, exitLookup, r.code)

	t.Run("config file", func(t *testing.T) {
		t.Chdir(t.TempDir())
		t.Setenv(registry.EnvVar, "")
		t.Setenv("LYMPH_NODE_CONFIG", "")
		conf := "container:\n  registry:\n    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry\n" +
			"    zkclient:\n      class: kazoo.client:KazooClient\n      hosts: \"" + hostport + chroot + "\"\n"
		require.NoError(t, os.WriteFile(".lymph.yml", []byte(conf), 0o644))
		r := cli(t, "", "discover", "echo")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "echo [1]\n", r.stdout)
		r = cli(t, "", "request", "echo.upper", `{"text": "yml"}`)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "\"YML\"\n", r.stdout)
	})
}

// deleteZNodes removes the test's chroot, children first.
func deleteZNodes(t *testing.T, hostport, root string) {
	conn, _, err := zk.Connect([]string{hostport}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	var del func(p string)
	del = func(p string) {
		children, _, err := conn.Children(p)
		if err != nil {
			return
		}
		for _, c := range children {
			del(path.Join(p, c))
		}
		if err := conn.Delete(p, -1); err != nil && !strings.Contains(err.Error(), "node does not exist") {
			t.Logf("cleanup %s: %v", p, err)
		}
	}
	del(root)
}
