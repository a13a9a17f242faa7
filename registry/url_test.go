package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseZooKeeperURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want zkConfig
	}{
		{"//127.0.0.1:2181/lymph", zkConfig{[]string{"127.0.0.1:2181"}, "/lymph", 10 * time.Second, 10 * time.Second, false}},
		{"//h1:2181,h2:2182/lymph?session_timeout=5s", zkConfig{[]string{"h1:2181", "h2:2182"}, "/lymph", 5 * time.Second, 10 * time.Second, false}},
		{"//h1,h2:2182", zkConfig{[]string{"h1:2181", "h2:2182"}, "/lymph", 10 * time.Second, 10 * time.Second, false}},
		{"//h1:2181,h2", zkConfig{[]string{"h1:2181", "h2:2181"}, "/lymph", 10 * time.Second, 10 * time.Second, false}},
		{"//[::1]:2181,[::1]/", zkConfig{[]string{"[::1]:2181", "[::1]:2181"}, "/lymph", 10 * time.Second, 10 * time.Second, false}},
		{"//", zkConfig{[]string{"127.0.0.1:2181"}, "/lymph", 10 * time.Second, 10 * time.Second, false}},
		{"//zk/apps/lymph/?session_timeout=2.5&connect_timeout=0", zkConfig{[]string{"zk:2181"}, "/apps/lymph", 2500 * time.Millisecond, 0, true}},
	} {
		got, err := parseZooKeeper(tc.url)
		require.NoError(t, err, tc.url)
		assert.Equal(t, tc.want, got, tc.url)
	}
	for _, bad := range []string{
		"127.0.0.1:2181",                 // no //
		"//h/lymph?sessiontimeout=1s",    // typo
		"//h/lymph?session_timeout=soon", // not a duration
		"//h/lymph?session_timeout=0",    // not positive
		"//h/ly/../mph",                  // chroot escaping
	} {
		_, err := parseZooKeeper(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseLocalURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		dir  string
		poll time.Duration
	}{
		{"", "", 0},
		{"///run/lymph", "/run/lymph", 0},
		{"/run/lymph", "/run/lymph", 0},
		{"?poll=100ms", "", 100 * time.Millisecond},
		{"///d?poll=1", "/d", time.Second},
	} {
		dir, poll, err := parseLocal(tc.url)
		require.NoError(t, err, tc.url)
		assert.Equal(t, tc.dir, dir, tc.url)
		assert.Equal(t, tc.poll, poll, tc.url)
	}
	for _, bad := range []string{"//host/dir", "relative/dir", "?pol=1s", "?poll=x"} {
		_, _, err := parseLocal(bad)
		assert.Error(t, err, bad)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, bad := range []string{"", "nonsense", "etcd://x", "memory:a/b", "local://host/x"} {
		r, err := Open(bad)
		assert.Error(t, err, bad)
		assert.Nil(t, r)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvVar, "memory:fromenv")
	r, err := FromEnv()
	require.NoError(t, err)
	assert.IsType(t, &memRegistry{}, r)
	require.NoError(t, r.Close())

	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv(EnvVar, "")
	r, err = FromEnv()
	require.NoError(t, err)
	assert.IsType(t, &localRegistry{}, r, "the default is local:")
	require.NoError(t, r.Close())
}

func TestOpenZooKeeperUnreachable(t *testing.T) {
	// Nothing listens on port 1: Open must give up after connect_timeout,
	// with ErrUnavailable, and leave no goroutine behind (TestMain checks).
	_, err := Open("zookeeper://127.0.0.1:1/lymph?connect_timeout=1s", WithLogger(quietLogger()))
	assert.ErrorIs(t, err, ErrUnavailable)
}
