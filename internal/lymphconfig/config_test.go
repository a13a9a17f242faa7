package lymphconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

// TestLoad follows lymph's setup_config: node config sections first, the
// config file over them section by section, substitution, container.ip's
// default.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	node := writeFile(t, dir, "node.yml", `
container: {ip: 10.0.0.1, port: 4000, log_endpoint: "tcp://10.0.0.1:4001"}
registry: {hosts: "zk1:2181"}
interfaces: {ignored: {}}
`)
	vars := writeFile(t, dir, "vars.yml", "db: {port: 5432}\nname: from-vars\n")
	writeFile(t, dir, ".lymph.yml", `
name: $(var.name)
container:
    port: 4100
    service_name: $(env.SVC)
interfaces:
    echo: {class: "echo:Echo", dsn: "db:$(var.db.port)", port: $(var.db.port)}
`)
	t.Setenv(EnvNodeConfig, node)
	t.Setenv(EnvVars, vars)
	t.Setenv("SVC", "echo-svc")
	t.Setenv(EnvConfig, "")
	t.Setenv(EnvNodeIP, "")

	c, err := Load(Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultFile, c.Source)
	assert.Equal(t, "10.0.0.1", c.Get("container.ip"), "from the node config")
	assert.Equal(t, 4100, c.Get("container.port"), "the config file wins, key by key")
	assert.Equal(t, "tcp://10.0.0.1:4001", c.Get("container.log_endpoint"))
	assert.Equal(t, "echo-svc", c.Get("container.service_name"))
	assert.Equal(t, "zk1:2181", c.Get("registry.hosts"))
	assert.Nil(t, c.Map("interfaces.ignored"), "interfaces are not taken from the node config")
	assert.Equal(t, "db:5432", c.Get("interfaces.echo.dsn"), "a reference inside text")
	assert.Equal(t, 5432, c.Get("interfaces.echo.port"), "a whole-string reference keeps the value's type")
	assert.Equal(t, "from-vars", c.Get("name"))

	out, err := c.YAML()
	require.NoError(t, err)
	again, err := Parse(out)
	require.NoError(t, err)
	assert.Equal(t, c.Values, again.Values, "YAML prints the merged configuration")
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(EnvNodeConfig, "")
	t.Setenv(EnvVars, "")
	t.Setenv(EnvConfig, "")
	t.Setenv(EnvNodeIP, "192.0.2.7")

	c, err := Load(Options{})
	require.NoError(t, err, "no default file: an empty configuration")
	assert.Equal(t, "", c.Source)
	assert.Equal(t, "192.0.2.7", c.Get("container.ip"), "$LYMPH_NODE_IP")
	ct, err := c.Container()
	require.NoError(t, err)
	assert.False(t, ct.IPSet, "a default, set by no file")

	_, err = Load(Options{File: "nope.yml"})
	assert.ErrorContains(t, err, "nope.yml", "a named file must exist")

	other := writeFile(t, dir, "other.yml", "container: {ip: 10.1.1.1}\n")
	t.Setenv(EnvConfig, other)
	c, err = Load(Options{})
	require.NoError(t, err)
	assert.Equal(t, other, c.Source, "$LYMPH_CONFIG")
	assert.Equal(t, "10.1.1.1", c.Get("container.ip"))
	ct, err = c.Container()
	require.NoError(t, err)
	assert.True(t, ct.IPSet)

	for name, text := range map[string]string{
		"bad yaml":      "container: [",
		"undefined env": "name: $(env.LYMPH_TEST_SURELY_UNSET)",
		"in text":       "name: x-$(env.LYMPH_TEST_SURELY_UNSET)",
		"no vars file":  "name: $(var.x)",
		"namespace":     "name: $(foo.x)",
	} {
		p := writeFile(t, dir, "bad.yml", text)
		_, err := Load(Options{File: p})
		assert.Error(t, err, name)
	}
}

func TestRegistry(t *testing.T) {
	t.Setenv("ZK_HOST", "zk.example")
	for _, tc := range []struct {
		name, yaml, want, err string
	}{
		{"container and dependency", `
dependencies:
    kazoo:
        class: kazoo.client:KazooClient
        hosts: 10.0.0.1:2181,10.0.0.2:2181
container:
    registry:
        class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
        zkclient: dep:kazoo
`, "zookeeper://10.0.0.1:2181,10.0.0.2:2181/lymph", ""},
		{"zkclient map with chroot", `
registry:
    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
    zkclient:
        class: kazoo.client:KazooClient
        hosts: "127.0.0.1:2181/mesh"
`, "zookeeper://127.0.0.1:2181/mesh", ""},
		{"old layout", `
registry:
    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
    hosts: 127.0.0.1:2181
    chroot: /other
`, "zookeeper://127.0.0.1:2181/other", ""},
		{"top-level registry wins, as lymph copies it over", `
registry: {hosts: "a:2181"}
container: {registry: {hosts: "b:2181"}}
`, "zookeeper://a:2181/lymph", ""},
		{"env substitution and list", `
registry:
    zkclient:
        hosts: ["$(env.ZK_HOST):2181", "b:2182"]
`, "zookeeper://zk.example:2181,b:2182/lymph", ""},
		{"no hosts: kazoo's default", "registry: {class: lymph.discovery.zookeeper:ZookeeperServiceRegistry}", "zookeeper://127.0.0.1:2181/lymph", ""},
		{"static", "container: {registry: {class: lymph.discovery.static:StaticServiceRegistryHub}}", StaticURL, ""},
		{"no registry", "container: {ip: 127.0.0.1}\nlogging: {}", "", ""},
		{"empty", "", "", ""},
		{"other class", "registry: {class: my.registry:Thing}", "", "is not supported"},
		{"missing dependency", "container: {registry: {zkclient: dep:nope}}", "", "not defined"},
		{"bad hosts", "registry: {hosts: {a: 1}}", "", "hosts"},
		{"bad zkclient", "registry: {zkclient: 5}", "", "zkclient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			require.NoError(t, err)
			got, _, ok, err := c.Registry()
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want != "", ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestContainer(t *testing.T) {
	t.Setenv(EnvServiceName, "")
	t.Setenv(EnvNodeIP, "")
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       Container
		err        string
	}{
		{name: "defaults", yaml: "", want: Container{IP: "127.0.0.1"}},
		{name: "everything", yaml: `
name: echo-name
container:
    ip: 10.0.0.5
    port: 4000
    service_name: echo
    log_endpoint: tcp://10.0.0.5:4001
`, want: Container{IP: "10.0.0.5", Port: 4000, ServiceName: "echo", LogEndpoint: "tcp://10.0.0.5:4001", IPSet: true}},
		{name: "service name from the environment, then name", yaml: "name: from-name",
			env: map[string]string{EnvServiceName: "from-env", EnvNodeIP: "10.9.9.9"}, want: Container{IP: "10.9.9.9", ServiceName: "from-env"}},
		{name: "top-level name", yaml: "name: from-name", want: Container{IP: "127.0.0.1", ServiceName: "from-name"}},
		{name: "port as text", yaml: "container: {port: '4000'}", want: Container{IP: "127.0.0.1", Port: 4000}},
		{name: "bad port", yaml: "container: {port: x}", err: "container.port"},
		{name: "port out of range", yaml: "container: {port: 70000}", err: "not a port"},
		{name: "bad transport", yaml: "container: {events: {class: lymph.events.kombu:KombuEventSystem, transport: redis}}", err: "transport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Parse([]byte(tc.yaml))
			require.NoError(t, err)
			got, err := c.Container()
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestEvents(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       Events
	}{
		{"kombu defaults", "container: {events: {class: lymph.events.kombu:KombuEventSystem}}",
			Events{Class: "lymph.events.kombu:KombuEventSystem", URL: "amqp://guest:guest@localhost:5672/", Exchange: "lymph", Serializer: "lymph-msgpack"}},
		{"kombu keys", `
container:
    events:
        class: lymph.events.kombu:KombuEventSystem
        transport: amqp
        hostname: rabbit
        userid: u
        password: p@ss
        port: 5673
        virtual_host: prod
        exchange: mesh
        serializer: lymph-json
`, Events{Class: "lymph.events.kombu:KombuEventSystem", URL: "amqp://u:p%40ss@rabbit:5673/prod", Exchange: "mesh", Serializer: "lymph-json"}},
		{"hostname as URL, deprecated event_system", "event_system: {class: lymph.events.kombu:KombuEventSystem, hostname: 'amqp://a:b@h:1/v'}",
			Events{Class: "lymph.events.kombu:KombuEventSystem", URL: "amqp://a:b@h:1/v", Exchange: "lymph", Serializer: "lymph-msgpack"}},
		{"local", "container: {events: {class: lymph.events.local:LocalEventSystem}}",
			Events{Class: "lymph.events.local:LocalEventSystem", Exchange: "lymph", Serializer: "lymph-msgpack"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			require.NoError(t, err)
			got, err := c.Container()
			require.NoError(t, err)
			require.NotNil(t, got.Events)
			tc.want.Section = got.Events.Section
			assert.Equal(t, tc.want, *got.Events)
			assert.NotEmpty(t, got.Events.Section)
		})
	}
}
