package lymphconfig

import (
	"fmt"
	"strings"
)

// StaticURL is the registry URL a lymph static registry
// (lymph.discovery.static:StaticServiceRegistryHub) maps to. lymph's static
// hub lives inside one process and reads no settings, so its Go
// counterpart is the registry of this process only: nothing from other
// processes can be found in it, and commands addressed to a tcp:// endpoint
// work as with any registry.
const StaticURL = "memory:"

// Registry returns the registry the configuration names, as a registry URL
// (zookeeper://hosts/chroot, or StaticURL), and the section it came from.
// lymph reads container.registry, overridden by the deprecated top-level
// registry section (create_container copies it over); lymph has used three
// layouts for the ZooKeeper one over its versions, all accepted:
//
//	registry: {class: ...ZookeeperServiceRegistry, hosts: "h:2181", chroot: /lymph}
//	registry: {class: ..., zkclient: {class: kazoo.client:KazooClient, hosts: "h:2181/lymph"}}
//	container: {registry: {class: ..., zkclient: dep:kazoo}}
//	dependencies: {kazoo: {class: kazoo.client:KazooClient, hosts: "h:2181"}}
//
// Used: class, hosts (kazoo's string or a list; a chroot may end it),
// chroot, zkclient (a map or dep:NAME). kazoo without hosts means
// 127.0.0.1:2181, and without a chroot lymph uses /lymph. ok is false when
// there is no registry section.
func (c *Config) Registry() (url, where string, ok bool, err error) {
	reg, where := c.Map("registry"), "registry"
	if reg == nil {
		reg, where = c.Map("container.registry"), "container.registry"
	}
	if reg == nil {
		return "", "", false, nil
	}
	class, _ := reg["class"].(string)
	switch {
	case strings.Contains(class, "discovery.static"):
		return StaticURL, where, true, nil
	case class != "" && !strings.Contains(class, "zookeeper"):
		return "", where, false, fmt.Errorf("%s.class %s is not supported (only lymph.discovery.zookeeper:ZookeeperServiceRegistry and lymph.discovery.static:StaticServiceRegistryHub)", where, class)
	}
	client := reg
	switch zk := reg["zkclient"].(type) {
	case nil:
	case map[string]any:
		client, where = zk, where+".zkclient"
	case string:
		dep, isDep := strings.CutPrefix(zk, "dep:")
		if !isDep {
			return "", where, false, fmt.Errorf("%s.zkclient: want a map or dep:NAME, got %q", where, zk)
		}
		client = c.Map("dependencies." + dep)
		if client == nil {
			return "", where, false, fmt.Errorf("%s.zkclient refers to %s, which is not defined", where, zk)
		}
		where = "dependencies." + dep
	default:
		return "", where, false, fmt.Errorf("%s.zkclient: want a map or dep:NAME", where)
	}
	hosts, err := hostList(client["hosts"])
	if err != nil {
		return "", where, false, fmt.Errorf("%s.hosts: %v", where, err)
	}
	if hosts == "" {
		hosts = "127.0.0.1:2181" // kazoo's default
	}
	hostPart, chroot, _ := strings.Cut(hosts, "/")
	if ch, _ := reg["chroot"].(string); ch != "" && chroot == "" {
		chroot = ch
	}
	chroot = strings.Trim(chroot, "/")
	if chroot == "" {
		chroot = "lymph"
	}
	return "zookeeper://" + strings.ReplaceAll(hostPart, " ", "") + "/" + chroot, where, true, nil
}

// hostList accepts kazoo's hosts: a comma-separated string or a list.
func hostList(v any) (string, error) {
	switch h := v.(type) {
	case nil:
		return "", nil
	case string:
		return h, nil
	case []any:
		parts := make([]string, 0, len(h))
		for _, x := range h {
			s, ok := x.(string)
			if !ok {
				return "", fmt.Errorf("want host:port strings, got %v", x)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	return "", fmt.Errorf("want a string like 127.0.0.1:2181, got %v", v)
}
