package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lymphgo/lymph/registry"
)

// defaultConfigFile is the config file lymph reads from the current
// directory; the Go tool reads only its registry section.
const defaultConfigFile = ".lymph.yml"

// nodeConfigEnv names a lymph node config whose registry section applies
// when the config file has none, as in Python lymph.
const nodeConfigEnv = "LYMPH_NODE_CONFIG"

// registrySource is the registry URL chosen, and what chose it, so that
// error messages can say where a bad URL came from.
type registrySource struct {
	url  string
	from string // "--registry", "$LYMPH_REGISTRY", a file name, or "default"
}

// resolveRegistry picks the registry URL: --registry, else $LYMPH_REGISTRY,
// else the registry section of the lymph config file (--config, or
// .lymph.yml when present, then $LYMPH_NODE_CONFIG), else registry.DefaultURL.
// A config file named by --config must exist; the default one is optional.
func resolveRegistry(flagURL, configFlag string) (registrySource, error) {
	if u := strings.TrimSpace(flagURL); u != "" {
		return registrySource{u, "--registry"}, nil
	}
	if u := strings.TrimSpace(os.Getenv(registry.EnvVar)); u != "" {
		return registrySource{u, "$" + registry.EnvVar}, nil
	}
	type configFile struct {
		name     string
		required bool
	}
	files := []configFile{{defaultConfigFile, false}}
	if configFlag != "" {
		files[0] = configFile{configFlag, true}
	}
	if f := os.Getenv(nodeConfigEnv); f != "" {
		files = append(files, configFile{f, true})
	}
	for _, f := range files {
		data, err := os.ReadFile(f.name)
		if err != nil {
			if !f.required && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return registrySource{}, inputErrorf("config: %v", err)
		}
		u, ok, err := registryFromConfig(data)
		if err != nil {
			return registrySource{}, inputErrorf("config %s: %v", f.name, err)
		}
		if ok {
			return registrySource{u, f.name}, nil
		}
	}
	return registrySource{registry.DefaultURL, "default"}, nil
}

// registryFromConfig reads the ZooKeeper registry out of a lymph config and
// returns it as a zookeeper:// URL. lymph has used three layouts over its
// versions, all accepted:
//
//	registry: {class: ...ZookeeperServiceRegistry, hosts: "h:2181", chroot: /lymph}
//	registry: {class: ..., zkclient: {class: kazoo.client:KazooClient, hosts: "h:2181/lymph"}}
//	container: {registry: {class: ..., zkclient: dep:kazoo}}
//	dependencies: {kazoo: {class: kazoo.client:KazooClient, hosts: "h:2181"}}
//
// kazoo takes a chroot at the end of hosts; without one, lymph uses /lymph.
// ok is false when the config has no registry section.
func registryFromConfig(data []byte) (url string, ok bool, err error) {
	var conf map[string]any
	if err := yaml.Unmarshal(data, &conf); err != nil {
		return "", false, fmt.Errorf("not valid YAML: %v", err)
	}
	reg, where := mapAt(conf, "container", "registry"), "container.registry"
	if reg == nil {
		reg, where = mapAt(conf, "registry"), "registry"
	}
	if reg == nil {
		return "", false, nil
	}
	if class, _ := reg["class"].(string); class != "" && !strings.Contains(class, "zookeeper") {
		return "", false, fmt.Errorf("%s.class %s is not supported by this tool (only lymph.discovery.zookeeper:ZookeeperServiceRegistry); pass --registry", where, class)
	}
	client := reg
	switch zk := reg["zkclient"].(type) {
	case nil:
	case map[string]any:
		client, where = zk, where+".zkclient"
	case string:
		dep, isDep := strings.CutPrefix(zk, "dep:")
		if !isDep {
			return "", false, fmt.Errorf("%s.zkclient: want a map or dep:NAME, got %q", where, zk)
		}
		client, where = mapAt(conf, "dependencies", dep), "dependencies."+dep
		if client == nil {
			return "", false, fmt.Errorf("%s.zkclient refers to %s, which is not defined", where, zk)
		}
	default:
		return "", false, fmt.Errorf("%s.zkclient: want a map or dep:NAME", where)
	}
	hosts, err := hostList(client["hosts"])
	if err != nil {
		return "", false, fmt.Errorf("%s.hosts: %v", where, err)
	}
	if hosts == "" {
		hosts = "127.0.0.1:2181" // kazoo's default
	}
	hostPart, chroot, _ := strings.Cut(hosts, "/")
	if c, _ := reg["chroot"].(string); c != "" && chroot == "" {
		chroot = c
	}
	chroot = strings.Trim(chroot, "/")
	if chroot == "" {
		chroot = "lymph"
	}
	return "zookeeper://" + strings.ReplaceAll(hostPart, " ", "") + "/" + chroot, true, nil
}

// hostList accepts kazoo's hosts: a comma-separated string or a list.
func hostList(v any) (string, error) {
	switch h := v.(type) {
	case nil:
		return "", nil
	case string:
		return expandEnv(h)
	case []any:
		var parts []string
		for _, x := range h {
			s, ok := x.(string)
			if !ok {
				return "", fmt.Errorf("want host:port strings, got %v", x)
			}
			s, err := expandEnv(s)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a string like 127.0.0.1:2181, got %v", v)
}

var configVar = regexp.MustCompile(`\$\((\w+)\.([^)]*)\)`)

// expandEnv substitutes lymph's $(env.NAME) in config strings. lymph's
// $(var.NAME) needs a --vars file this tool does not take: it is an error
// rather than a host name that silently cannot resolve.
func expandEnv(s string) (string, error) {
	var bad error
	out := configVar.ReplaceAllStringFunc(s, func(m string) string {
		parts := configVar.FindStringSubmatch(m)
		if parts[1] != "env" {
			bad = fmt.Errorf("%s: only $(env.NAME) substitutions are supported", m)
			return m
		}
		return os.Getenv(parts[2])
	})
	return out, bad
}

// mapAt walks nested YAML maps by key; nil when any step is missing.
func mapAt(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

// lookupOnly is a registry the CLI's container can use to find services
// without publishing itself: a one-shot command must not show up in
// `lymph discover` (nor leave a stale znode if it is killed).
type lookupOnly struct{ registry.Registry }

func (lookupOnly) Register(context.Context, registry.Instance) error   { return nil }
func (lookupOnly) Unregister(context.Context, registry.Instance) error { return nil }

// Close is a no-op: the CLI closes the real registry itself, after the
// container that uses it has stopped.
func (lookupOnly) Close() error { return nil }
