package lymph

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/lymphconfig"
	"github.com/lymphgo/lymph/registry"
)

// whoService tells a caller the endpoint its request came from: the
// caller's ZMTP identity, which is where the reply went.
type whoService struct{ Interface }

func (s *whoService) Caller(ctx context.Context) (string, error) {
	return IncomingRequest(ctx).Source, nil
}

// startWho starts a "who" container with opts (after a quiet logger and
// reg) and stops it at test end.
func startWho(t *testing.T, reg registry.Registry, opts ...ContainerOption) *Container {
	t.Helper()
	c, err := NewContainer(append([]ContainerOption{WithName("who"), WithLogger(quietLogger()), WithRegistry(reg)}, opts...)...)
	require.NoError(t, err)
	require.NoError(t, c.Install(&whoService{}))
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, c.Stop(ctx))
	})
	return c
}

// boundHost returns the host the container's socket is bound to.
func boundHost(t *testing.T, c *Container) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(c.tr.Load().ListenAddr())
	require.NoError(t, err)
	return host, port
}

// assertAdvertised checks that c binds every address and is known by
// tcp://ip:PORT everywhere: Endpoint, Identity, the registry.
func assertAdvertised(t *testing.T, c *Container, reg registry.Registry, ip string) {
	t.Helper()
	host, port := boundHost(t, c)
	assert.True(t, net.ParseIP(host).IsUnspecified(), "bound to every address, not %s", host)
	want := "tcp://" + net.JoinHostPort(ip, port)
	assert.Equal(t, want, c.Endpoint())
	assert.Equal(t, registry.Identity(want), c.Identity(), "the identity is the MD5 of the advertised endpoint")
	instances, err := reg.Lookup(testContext(t), c.Name())
	require.NoError(t, err)
	require.Len(t, instances, 1)
	assert.Equal(t, want, instances[0].Endpoint, "registered")
	assert.Equal(t, c.Identity(), instances[0].Identity)
}

func TestAdvertiseIPOnAWildcardBind(t *testing.T) {
	t.Setenv(lymphconfig.EnvNodeIP, "")
	reg := memoryRegistry(t)
	server := startWho(t, reg, WithEndpoint("tcp://0.0.0.0:0"), WithAdvertiseIP("127.0.0.1"))
	assertAdvertised(t, server, reg, "127.0.0.1")

	// A client bound the same way: the server's reply goes to the
	// client's advertised endpoint, its ZMTP identity.
	client := startContainer(t, reg, nil, WithEndpoint("tcp://0.0.0.0:0"), WithAdvertiseIP("127.0.0.1"))
	require.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, client.Endpoint())
	var caller string
	require.NoError(t, client.Proxy("who").Call(testContext(t), "caller", nil, &caller), "called by name through the registry")
	assert.Equal(t, client.Endpoint(), caller)
}

func TestAdvertiseIPv6(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		// Not a skip: the refusal to bind is what this machine gives.
		_, err := NewContainer(WithEndpoint("tcp://[::]:0"), WithAdvertiseIP("::1"))
		require.NoError(t, err, "the options are valid even without IPv6")
		return
	}
	l.Close()
	t.Setenv(lymphconfig.EnvNodeIP, "")
	reg := memoryRegistry(t)
	server := startWho(t, reg, WithEndpoint("tcp://[::]:0"), WithAdvertiseIP("::1"))
	assertAdvertised(t, server, reg, "::1")
	client := startContainer(t, reg, nil)
	var caller string
	require.NoError(t, client.Proxy("who").Call(testContext(t), "caller", nil, &caller))
	assert.Equal(t, client.Endpoint(), caller)
}

func TestWildcardBindWithNothingToAdvertiseIsRefused(t *testing.T) {
	t.Setenv(lymphconfig.EnvNodeIP, "")
	for _, ep := range []string{"tcp://0.0.0.0:0", "tcp://[::]:4000"} {
		_, err := NewContainer(WithEndpoint(ep))
		require.Error(t, err, ep)
		assert.Equal(t, "lymph: endpoint "+ep+" binds every address; peers need one: set WithAdvertiseIP, $LYMPH_NODE_IP or container.ip", err.Error())
	}

	// $LYMPH_NODE_IP is read again by Start: gone by then, Start refuses.
	t.Setenv(lymphconfig.EnvNodeIP, "127.0.0.1")
	c, err := NewContainer(WithEndpoint("tcp://0.0.0.0:0"), WithLogger(quietLogger()), WithRegistry(memoryRegistry(t)))
	require.NoError(t, err)
	t.Setenv(lymphconfig.EnvNodeIP, "")
	err = c.Start(context.Background())
	require.Error(t, err)
	assert.Equal(t, "lymph: start: endpoint tcp://0.0.0.0:0 binds every address; peers need one: set WithAdvertiseIP, $LYMPH_NODE_IP or container.ip", err.Error())
	assert.Equal(t, phaseStopped, c.currentPhase())
	assert.Equal(t, "", c.Endpoint(), "nothing was bound")

	t.Setenv(lymphconfig.EnvNodeIP, "0.0.0.0")
	_, err = NewContainer(WithEndpoint("tcp://0.0.0.0:0"))
	assert.ErrorContains(t, err, `$LYMPH_NODE_IP="0.0.0.0" is not an address peers can reach`)
}

func TestAdvertiseIPMustBeAnAddress(t *testing.T) {
	for ip, want := range map[string]string{
		"":            "not an IP address",
		"nope":        "not an IP address",
		"10.0.0.5:80": "not an IP address",
		"[::1]":       "not an IP address",
		"0.0.0.0":     "an unspecified address cannot be advertised",
		"::":          "an unspecified address cannot be advertised",
	} {
		_, err := NewContainer(WithAdvertiseIP(ip))
		assert.ErrorContains(t, err, want, ip)
		assert.ErrorContains(t, err, "lymph: WithAdvertiseIP(", ip)
	}
	_, err := NewContainer(WithAdvertiseIP("10.0.0.5"), WithGuessExternalIP())
	assert.ErrorContains(t, err, "exclude each other")
	_, err = NewContainer(WithGuessExternalIP(), WithAdvertiseIP("10.0.0.5"))
	assert.ErrorContains(t, err, "exclude each other")
}

func TestAdvertiseFromTheEnvironment(t *testing.T) {
	reg := memoryRegistry(t)
	t.Setenv(lymphconfig.EnvNodeIP, "127.0.0.1")
	server := startWho(t, reg, WithEndpoint("tcp://0.0.0.0:0"))
	assertAdvertised(t, server, reg, "127.0.0.1")
	var caller string
	client := startContainer(t, reg, nil)
	require.NoError(t, client.Proxy("who").Call(testContext(t), "caller", nil, &caller))

	// A bind host that is one address is advertised as it is: a
	// container bound to loopback that advertised the node's IP would
	// get no reply.
	t.Setenv(lymphconfig.EnvNodeIP, "192.0.2.1")
	c := startContainer(t, memoryRegistry(t), nil, WithEndpoint("tcp://127.0.0.1:0"))
	assert.Regexp(t, `^tcp://127\.0\.0\.1:\d+$`, c.Endpoint())
}

func TestAdvertiseFromTheConfigFile(t *testing.T) {
	for _, env := range []string{lymphconfig.EnvNodeIP, lymphconfig.EnvNodeConfig, lymphconfig.EnvConfig, lymphconfig.EnvVars} {
		t.Setenv(env, "")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "lymph.yml")
	require.NoError(t, os.WriteFile(file, []byte("container:\n    ip: 127.0.0.1\n"), 0o600))
	conf, err := FromConfig(file)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", conf.IP)

	reg := memoryRegistry(t)
	// Options binds container.ip; an endpoint given after them binds
	// every address, and container.ip is advertised.
	opts := append(conf.Options(), WithEndpoint("tcp://0.0.0.0:0"))
	server := startWho(t, reg, opts...)
	assertAdvertised(t, server, reg, "127.0.0.1")
	var caller string
	client := startContainer(t, reg, nil)
	require.NoError(t, client.Proxy("who").Call(testContext(t), "caller", nil, &caller))
	assert.Equal(t, client.Endpoint(), caller)

	// container.ip: 0.0.0.0 (Python lymph would publish it) is refused.
	require.NoError(t, os.WriteFile(file, []byte("container:\n    ip: 0.0.0.0\n"), 0o600))
	conf, err = FromConfig(file)
	require.NoError(t, err)
	_, err = NewContainer(conf.Options()...)
	assert.ErrorContains(t, err, "binds every address; peers need one")

	// Without container.ip in the file, its default (127.0.0.1) is bound
	// but not taken as an address to advertise.
	require.NoError(t, os.WriteFile(file, []byte("container: {}\n"), 0o600))
	conf, err = FromConfig(file)
	require.NoError(t, err)
	assert.Equal(t, "", conf.IP)
	assert.Equal(t, "tcp://127.0.0.1:0", conf.Endpoint)
	_, err = NewContainer(append(conf.Options(), WithEndpoint("tcp://0.0.0.0:0"))...)
	assert.ErrorContains(t, err, "binds every address; peers need one")
}

func TestGuessExternalIP(t *testing.T) {
	t.Setenv(lymphconfig.EnvNodeIP, "")
	reg := memoryRegistry(t)
	guess, guessErr := guessExternalIP()
	c, err := NewContainer(WithName("who"), WithLogger(quietLogger()), WithRegistry(reg),
		WithEndpoint("tcp://0.0.0.0:0"), WithGuessExternalIP())
	require.NoError(t, err, "the guess is Start's")
	require.NoError(t, c.Install(&whoService{}))
	err = c.Start(context.Background())
	if guessErr != nil {
		// A machine without an external address: Start says so.
		require.Error(t, err)
		assert.Contains(t, err.Error(), "WithGuessExternalIP: ")
		return
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Stop(testContext(t))) })
	ip := net.ParseIP(guess)
	require.NotNil(t, ip.To4(), "an IPv4 address")
	assert.False(t, ip.IsLoopback())
	assertAdvertised(t, c, reg, guess)
	// Callers reach it at the guessed address, over the interface.
	client := startContainer(t, reg, nil)
	var caller string
	require.NoError(t, client.Proxy("who").Call(testContext(t), "caller", nil, &caller))
	assert.Equal(t, client.Endpoint(), caller)
}

func TestStartLogsTheBoundAddress(t *testing.T) {
	var logs syncBuffer
	c, err := NewContainer(WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithRegistry(memoryRegistry(t)),
		WithEndpoint("tcp://0.0.0.0:0"), WithAdvertiseIP("127.0.0.1"))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	require.NoError(t, c.Stop(testContext(t)))
	line := regexp.MustCompile(`msg="container started".*`).FindString(logs.String())
	assert.Contains(t, line, "endpoint="+c.Endpoint())
	_, port := boundHost(t, c)
	assert.True(t, strings.Contains(line, "bound=0.0.0.0:"+port) || strings.Contains(line, "bound=[::]:"+port), line)
}
