package main

import (
	"context"
	"os"
	"strings"

	"github.com/lymphgo/lymph/internal/lymphconfig"
	"github.com/lymphgo/lymph/registry"
)

// registrySource is the registry URL chosen, and what chose it, so that
// error messages can say where a bad URL came from.
type registrySource struct {
	url  string
	from string // "--registry", "$LYMPH_REGISTRY", a file name, or "default"
}

// resolveRegistry picks the registry URL: --registry, else $LYMPH_REGISTRY,
// else the registry of the lymph configuration (see loadConfig), else
// registry.DefaultURL. lymph's static registry, which lives inside one
// Python process, is "memory:" here: nothing to find by name, and
// endpoints work as always.
func resolveRegistry(flagURL, configFlag string) (registrySource, error) {
	if u := strings.TrimSpace(flagURL); u != "" {
		return registrySource{u, "--registry"}, nil
	}
	if u := strings.TrimSpace(os.Getenv(registry.EnvVar)); u != "" {
		return registrySource{u, "$" + registry.EnvVar}, nil
	}
	conf, err := loadConfig(configFlag)
	if err != nil {
		return registrySource{}, err
	}
	u, where, ok, err := conf.Registry()
	if err != nil {
		return registrySource{}, inputErrorf("config %s: %v", configName(conf), err)
	}
	if ok {
		return registrySource{u, configName(conf) + " (" + where + ")"}, nil
	}
	return registrySource{registry.DefaultURL, "default"}, nil
}

// loadConfig reads the lymph configuration as lymph does: --config, else
// $LYMPH_CONFIG, else .lymph.yml when present, over the sections of
// $LYMPH_NODE_CONFIG, with $(env.NAME) and $(var.NAME) ($LYMPH_VARS)
// substituted.
func loadConfig(configFlag string) (*lymphconfig.Config, error) {
	conf, err := lymphconfig.Load(lymphconfig.Options{File: configFlag})
	if err != nil {
		return nil, inputErrorf("%v", err)
	}
	return conf, nil
}

func configName(conf *lymphconfig.Config) string {
	if conf.Source == "" {
		return "$" + lymphconfig.EnvNodeConfig
	}
	return conf.Source
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
