// Package lymphconfig reads lymph's configuration files (.lymph.yml) the
// way Python lymph does (lymph/cli/main.py setup_config, lymph/config.py),
// so that one file drives the Python and the Go services of a mesh, and
// the Go CLI. Only the settings a Go service or the CLI can act on are
// interpreted (see Container and Registry); the rest is kept as it is, so
// that `lymph config` prints the whole merged configuration.
package lymphconfig

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the config file lymph reads when none is named.
const DefaultFile = ".lymph.yml"

// Environment variables lymph reads.
const (
	// EnvConfig names the config file when --config does not.
	EnvConfig = "LYMPH_CONFIG"
	// EnvNodeConfig names a node's config, loaded first: its container,
	// registry, event_system, plugins and dependencies sections apply
	// unless the config file overrides them.
	EnvNodeConfig = "LYMPH_NODE_CONFIG"
	// EnvVars names a YAML file of values for $(var.NAME).
	EnvVars = "LYMPH_VARS"
	// EnvNodeIP is container.ip's default.
	EnvNodeIP = "LYMPH_NODE_IP"
	// EnvServiceName is the service name when container.service_name is
	// not set (before the top-level name).
	EnvServiceName = "LYMPH_SERVICE_NAME"
)

// nodeSections are the sections lymph takes from $LYMPH_NODE_CONFIG.
var nodeSections = []string{"container", "registry", "event_system", "plugins", "dependencies"}

// Config is a merged lymph configuration.
type Config struct {
	// Values is the configuration after merging and substitution, with
	// container.ip defaulted as lymph defaults it.
	Values map[string]any
	// Source is the config file read, "" when the default file was absent.
	Source string

	// ipDefaulted: container.ip is Load's default, set by no file.
	ipDefaulted bool
}

// Options say where Load looks.
type Options struct {
	// File is the config file (the CLI's --config). When empty,
	// $LYMPH_CONFIG names it, else DefaultFile. A file named by File or
	// $LYMPH_CONFIG must exist; DefaultFile may be missing (lymph insists
	// on it; a Go service or tool can run without one).
	File string
	// VarsFile is the YAML file for $(var.NAME) (lymph's --vars); when
	// empty, $LYMPH_VARS.
	VarsFile string
}

// Load reads the configuration as lymph does: the sections of
// $LYMPH_NODE_CONFIG listed at EnvNodeConfig, then the config file, whose
// sections update those key by key (one level deep, as Python's
// dict.update); $(env.NAME) and $(var.NAME) are substituted in every
// string; container.ip defaults to $LYMPH_NODE_IP, else 127.0.0.1.
func Load(opts Options) (*Config, error) {
	vars := map[string]any{}
	varsFile := opts.VarsFile
	if varsFile == "" {
		varsFile = os.Getenv(EnvVars)
	}
	if varsFile != "" {
		v, err := readYAML(varsFile)
		if err != nil {
			return nil, err
		}
		vars = v
	}
	sub := substituter{vars: vars}
	c := &Config{Values: map[string]any{"container": map[string]any{}}}
	if node := os.Getenv(EnvNodeConfig); node != "" {
		values, err := readYAML(node)
		if err != nil {
			return nil, err
		}
		if err := c.merge(values, nodeSections, sub, node); err != nil {
			return nil, err
		}
	}
	file, required := opts.File, true
	if file == "" {
		file = os.Getenv(EnvConfig)
	}
	if file == "" {
		file, required = DefaultFile, false
	}
	values, err := readYAML(file)
	switch {
	case err == nil:
		if err := c.merge(values, nil, sub, file); err != nil {
			return nil, err
		}
		c.Source = file
	case required || !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	container := c.Map("container")
	if container == nil { // container: null in the file
		container = map[string]any{}
		c.Values["container"] = container
	}
	if _, ok := container["ip"]; !ok || container["ip"] == nil {
		ip := os.Getenv(EnvNodeIP)
		if ip == "" {
			ip = "127.0.0.1"
		}
		container["ip"] = ip
		c.ipDefaulted = true
	}
	return c, nil
}

// Parse reads one YAML document as the whole configuration, without the
// environment's files (for tests and embedded configs); $(env.NAME) is
// substituted, $(var.NAME) is an error.
func Parse(data []byte) (*Config, error) {
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	c := &Config{Values: map[string]any{}}
	if err := c.merge(values, nil, substituter{}, "config"); err != nil {
		return nil, err
	}
	return c, nil
}

func readYAML(name string) (map[string]any, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("config %s: not valid YAML: %v", name, err)
	}
	return values, nil
}

// merge updates c with values' sections (only those in sections, when not
// nil), after substitution.
func (c *Config) merge(values map[string]any, sections []string, sub substituter, name string) error {
	v, err := sub.apply(values)
	if err != nil {
		return fmt.Errorf("config %s: %v", name, err)
	}
	values, _ = v.(map[string]any)
	for section, value := range values {
		if sections != nil && !contains(sections, section) {
			continue
		}
		old, isMap := c.Values[section].(map[string]any)
		update, updateIsMap := value.(map[string]any)
		if isMap && updateIsMap {
			for k, x := range update {
				old[k] = x
			}
			continue
		}
		c.Values[section] = value
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Get returns the value at a dotted path ("container.ip"), nil when absent.
func (c *Config) Get(path string) any {
	var v any = c.Values
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Map returns the map at a dotted path, nil when absent or not a map.
func (c *Config) Map(path string) map[string]any {
	m, _ := c.Get(path).(map[string]any)
	return m
}

// String returns the text at a dotted path; numbers are formatted, and
// absent or null values give "".
func (c *Config) String(path string) string {
	switch v := c.Get(path).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// YAML returns the merged configuration as YAML, keys sorted, as
// `lymph config` prints it.
func (c *Config) YAML() ([]byte, error) {
	return yaml.Marshal(c.Values)
}

// dollarVar is lymph's $(namespace.name) (config.py _dollar_var_re).
var dollarVar = regexp.MustCompile(`\$\((\w+)\.([\w.-]+)\)`)

// substituter replaces $(env.NAME) with the environment variable and
// $(var.a.b) with the vars file's value at a.b. A string that is nothing
// but one reference takes the referenced value itself (a number stays a
// number); references inside longer strings are replaced by their text.
// An undefined reference is an error, as in lymph.
type substituter struct{ vars map[string]any }

func (s substituter) lookup(ns, name string) (any, error) {
	switch ns {
	case "env":
		if v, ok := os.LookupEnv(name); ok {
			return v, nil
		}
	case "var":
		if s.vars == nil {
			return nil, fmt.Errorf("$(var.%s): no vars file (--vars or $%s)", name, EnvVars)
		}
		var v any = s.vars
		for _, k := range strings.Split(name, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			if v, ok = m[k]; !ok {
				break
			}
		}
		if v != nil {
			return v, nil
		}
	default:
		return nil, fmt.Errorf("$(%s.%s): unknown namespace %q (want env or var)", ns, name, ns)
	}
	return nil, fmt.Errorf("undefined variable $(%s.%s)", ns, name)
}

func (s substituter) apply(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := s.apply(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := s.apply(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case string:
		if m := dollarVar.FindStringSubmatchIndex(x); m != nil && m[0] == 0 && m[1] == len(x) {
			return s.lookup(x[m[2]:m[3]], x[m[4]:m[5]])
		}
		var bad error
		out := dollarVar.ReplaceAllStringFunc(x, func(ref string) string {
			p := dollarVar.FindStringSubmatch(ref)
			v, err := s.lookup(p[1], p[2])
			if err != nil {
				bad = err
				return ref
			}
			return fmt.Sprint(v)
		})
		return out, bad
	}
	return v, nil
}
