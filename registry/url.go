package registry

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvVar is the environment variable FromEnv reads the registry URL from.
const EnvVar = "LYMPH_REGISTRY"

// DefaultURL is the registry FromEnv opens when EnvVar is unset: the
// embedded one, which needs nothing installed.
const DefaultURL = "local:"

// FromEnv opens the registry named by $LYMPH_REGISTRY, or DefaultURL when it
// is unset or empty.
func FromEnv(opts ...Option) (Registry, error) {
	u := strings.TrimSpace(os.Getenv(EnvVar))
	if u == "" {
		u = DefaultURL
	}
	return Open(u, opts...)
}

// Open opens the registry that rawURL names; the package doc lists the
// forms. A zookeeper: registry waits up to its connect_timeout for a first
// session and fails if it gets none.
func Open(rawURL string, opts ...Option) (Registry, error) {
	open, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return open(buildOptions(opts))
}

// CheckURL reports whether rawURL is a registry URL Open could try to open,
// without opening anything: for configuration checked before it is used.
func CheckURL(rawURL string) error {
	_, err := parseURL(rawURL)
	return err
}

// parseURL reads rawURL and returns what opens it.
func parseURL(rawURL string) (func(options) (Registry, error), error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(rawURL), ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("registry: %q is not a registry URL (zookeeper://host:2181/lymph, local:, memory:)", rawURL)
	}
	switch strings.ToLower(scheme) {
	case "zookeeper", "zk":
		cfg, err := parseZooKeeper(rest)
		if err != nil {
			return nil, fmt.Errorf("registry: %q: %w", rawURL, err)
		}
		return func(o options) (Registry, error) {
			if o.connectTimeout != nil && !cfg.connectTimeoutSet {
				cfg.connectTimeout = *o.connectTimeout
			}
			return openZooKeeper(cfg, o.logger)
		}, nil
	case "local":
		dir, poll, err := parseLocal(rest)
		if err != nil {
			return nil, fmt.Errorf("registry: %q: %w", rawURL, err)
		}
		return func(o options) (Registry, error) { return newLocal(dir, poll, o.logger) }, nil
	case "memory":
		ns, err := parseMemory(rest)
		if err != nil {
			return nil, fmt.Errorf("registry: %q: %w", rawURL, err)
		}
		return func(options) (Registry, error) { return newMemory(ns), nil }, nil
	default:
		return nil, fmt.Errorf("registry: unknown registry scheme %q in %q (want zookeeper, local or memory)", scheme, rawURL)
	}
}

// zkConfig is what a zookeeper: URL says.
type zkConfig struct {
	hosts          []string      // host:port
	chroot         string        // "/lymph"
	sessionTimeout time.Duration // asked of the server, which may adjust it
	connectTimeout time.Duration // how long Open waits for a first session; 0 = not at all
	// connectTimeoutSet: the URL set connect_timeout, which wins over
	// WithConnectTimeout.
	connectTimeoutSet bool
}

const (
	defaultChroot         = "/lymph"
	defaultZKPort         = "2181"
	defaultSessionTimeout = 10 * time.Second
	defaultConnectTimeout = 10 * time.Second
)

// parseZooKeeper parses what follows "zookeeper:". The host list is split by
// hand: net/url rejects "h1:2181,h2:2181" when the last host has no port.
func parseZooKeeper(rest string) (zkConfig, error) {
	cfg := zkConfig{
		chroot:         defaultChroot,
		sessionTimeout: defaultSessionTimeout,
		connectTimeout: defaultConnectTimeout,
	}
	rest, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return cfg, fmt.Errorf("want zookeeper://host:port[,host:port...][/chroot]")
	}
	rest, query, _ := strings.Cut(rest, "?")
	hostList, path, hasPath := strings.Cut(rest, "/")
	for _, h := range strings.Split(hostList, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(strings.TrimPrefix(h, "["), ":") || strings.HasSuffix(h, "]") {
			h += ":" + defaultZKPort // no port given ([::1] included)
		}
		cfg.hosts = append(cfg.hosts, h)
	}
	if len(cfg.hosts) == 0 {
		cfg.hosts = []string{"127.0.0.1:" + defaultZKPort}
	}
	if hasPath && strings.Trim(path, "/") != "" {
		cfg.chroot = "/" + strings.Trim(path, "/")
		for _, part := range strings.Split(cfg.chroot[1:], "/") {
			if err := checkName(part); err != nil {
				return cfg, fmt.Errorf("chroot %q: %w", cfg.chroot, err)
			}
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return cfg, err
	}
	for key, vals := range q {
		val := vals[len(vals)-1]
		switch key {
		case "session_timeout":
			cfg.sessionTimeout, err = parseDuration(val)
		case "connect_timeout":
			cfg.connectTimeout, err = parseDuration(val)
			cfg.connectTimeoutSet = true
		default:
			err = fmt.Errorf("unknown parameter %q (want session_timeout, connect_timeout)", key)
		}
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", key, err)
		}
	}
	if cfg.sessionTimeout <= 0 {
		return cfg, fmt.Errorf("session_timeout must be positive")
	}
	return cfg, nil
}

// parseLocal parses what follows "local:": nothing, /dir or ///dir, and an
// optional ?poll=DURATION.
func parseLocal(rest string) (dir string, poll time.Duration, err error) {
	u, err := url.Parse("local:" + rest)
	if err != nil {
		return "", 0, err
	}
	if u.Host != "" {
		return "", 0, fmt.Errorf("a local registry has no host: write local:///path")
	}
	if u.Opaque != "" {
		return "", 0, fmt.Errorf("the directory must be absolute: write local:///path")
	}
	for key, vals := range u.Query() {
		if key != "poll" {
			return "", 0, fmt.Errorf("unknown parameter %q (want poll)", key)
		}
		if poll, err = parseDuration(vals[len(vals)-1]); err != nil {
			return "", 0, fmt.Errorf("poll: %w", err)
		}
	}
	return u.Path, poll, nil
}

// parseMemory parses what follows "memory:": nothing, NAME or //NAME.
func parseMemory(rest string) (string, error) {
	rest, _, _ = strings.Cut(rest, "?")
	ns := strings.TrimPrefix(rest, "//")
	if strings.Contains(ns, "/") {
		return "", fmt.Errorf("a memory namespace is one word: memory:NAME")
	}
	return ns, nil
}

// parseDuration accepts Go durations ("10s", "1m30s") and plain numbers of
// seconds ("10", "0.5"), the unit lymph's YAML configs use.
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}
