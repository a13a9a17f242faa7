package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph/registry"
)

// registryTimeout bounds each registry call of discover.
const registryTimeout = 10 * time.Second

type discoverFlags struct {
	instances, versions, full, json bool
}

// serviceInfo is one service as discover reports it.
type serviceInfo struct {
	Name      string         `json:"name"`
	Count     int            `json:"count"`
	Instances []instanceInfo `json:"instances"`
}

type instanceInfo struct {
	ID       string         `json:"id"`
	Identity string         `json:"identity"`
	Endpoint string         `json:"endpoint"`
	Version  *string        `json:"version"`
	Fields   map[string]any `json:"fields,omitempty"`
}

func newDiscoverCmd(a *app) *cobra.Command {
	var f discoverFlags
	cmd := &cobra.Command{
		Use:   "discover [flags] [NAME]",
		Short: "List the services in the registry and their instances",
		Long: `List every service with live instances in the registry, with the number
of instances, as Python lymph's tool does (the builtin "lymph" interface,
which every instance serves, is one of them). With NAME, only that service;
it exits 5 when the service has no live instance.

--instances lists each instance's identity (first 10 characters), endpoint
and version; --versions counts the instances of each version; --full shows
every field an instance published. --json prints what Python lymph's
--json prints: an object of every service with live instances, each a list
of the instances' published fields, {"echo": [{"id": ..., "identity": ...,
"version": null, "endpoint": ..., ...}], ...}.

` + exitCodesHelp,
		Example: `  lymph discover
  lymph discover --instances --versions echo
  lymph --registry zookeeper://127.0.0.1:2181/lymph discover --json | jq '.[].name'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				var version string
				var err error
				name, version, err = parseAddress(args[0])
				if err != nil || version != "" || name != args[0] {
					return usageErrorf("bad service name %q", args[0])
				}
			}
			return runDiscover(cmd.Context(), a, &f, name)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.instances, "instances", false, "list each service's instances")
	fl.BoolVar(&f.versions, "versions", false, "count each service's instances by version")
	fl.BoolVar(&f.full, "full", false, "show every published field of each instance (implies --instances)")
	fl.BoolVar(&f.json, "json", false, "print services and instances as JSON")
	return cmd
}

func runDiscover(ctx context.Context, a *app, f *discoverFlags, only string) error {
	reg, src, err := a.openRegistry()
	if err != nil {
		return err
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()

	names := []string{only}
	if only == "" {
		if names, err = reg.Discover(ctx); err != nil {
			return fmt.Errorf("registry %s: %w", src.url, err)
		}
	}
	services := make([]serviceInfo, 0, len(names))
	for _, name := range names {
		instances, err := reg.Lookup(ctx, name)
		if err != nil {
			return fmt.Errorf("registry %s: looking up %s: %w", src.url, name, err)
		}
		services = append(services, describeService(name, instances))
	}
	if f.json {
		if err := writeJSON(a.out.w, lymphJSON(services)); err != nil {
			return err
		}
	} else {
		printServices(a.out, services, f)
	}
	if only != "" && services[0].Count == 0 {
		return &exitError{code: exitLookup, err: fmt.Errorf("no live instance of %q in registry %s", only, src.url)}
	}
	return nil
}

func describeService(name string, instances []registry.Instance) serviceInfo {
	s := serviceInfo{Name: name, Count: len(instances), Instances: make([]instanceInfo, 0, len(instances))}
	for _, inst := range instances {
		info := instanceInfo{ID: inst.ID, Identity: inst.Identity, Endpoint: inst.Endpoint, Fields: inst.Fields}
		if inst.Version != "" {
			v := inst.Version
			info.Version = &v
		}
		s.Instances = append(s.Instances, info)
	}
	// lymph's order: by identity.
	sort.SliceStable(s.Instances, func(i, j int) bool { return s.Instances[i].Identity < s.Instances[j].Identity })
	return s
}

func printServices(p *printer, services []serviceInfo, f *discoverFlags) {
	if len(services) == 0 {
		p.println("No registered services found")
		return
	}
	for _, s := range services {
		p.printf("%s [%d]\n", p.paint(colName, s.Name), s.Count)
		if f.versions {
			printVersions(p, s)
		}
		if !f.instances && !f.full {
			continue
		}
		for i, inst := range s.Instances {
			prefix := "├─"
			if i == len(s.Instances)-1 {
				prefix = "└─"
			}
			id := inst.Identity
			if len(id) > 10 {
				id = id[:10]
			}
			line := fmt.Sprintf("%s [%s] %s", prefix, id, inst.Endpoint)
			if v := deref(inst.Version); v != "" {
				line += " " + p.paint(colDim, "@"+v)
			}
			p.println(line)
			if f.full {
				printFields(p, inst)
			}
		}
	}
}

// printVersions counts a service's instances per version, newest last.
func printVersions(p *printer, s serviceInfo) {
	counts := map[string]int{}
	for _, inst := range s.Instances {
		counts[deref(inst.Version)]++
	}
	versions := make([]string, 0, len(counts))
	for v := range counts {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool { return versionLess(versions[i], versions[j]) })
	for _, v := range versions {
		label := "@" + v
		if v == "" {
			label = "(no version)"
		}
		p.printf("   %s [%d]\n", label, counts[v])
	}
}

// versionLess orders semver texts; unversioned (and unparsable) first.
func versionLess(a, b string) bool {
	va, errA := semver.NewVersion(a)
	vb, errB := semver.NewVersion(b)
	switch {
	case errA != nil && errB != nil:
		return a < b
	case errA != nil || errB != nil:
		return errA != nil
	}
	return va.LessThan(vb)
}

// lymphJSON is discover --json as Python lymph prints it: service name to
// the list of its instances' published fields (lymph's
// ServiceInstance.serialize()); services without live instances are left
// out, as lymph leaves them out without --all.
func lymphJSON(services []serviceInfo) map[string][]map[string]any {
	out := make(map[string][]map[string]any, len(services))
	for _, s := range services {
		if len(s.Instances) == 0 {
			continue
		}
		list := make([]map[string]any, 0, len(s.Instances))
		for _, inst := range s.Instances {
			fields := published(inst)
			fields["endpoint"] = inst.Endpoint
			list = append(list, fields)
		}
		out[s.Name] = list
	}
	return out
}

// published is what an instance published: id, identity, version (null
// when none) and every other field it registered.
func published(inst instanceInfo) map[string]any {
	fields := map[string]any{"id": inst.ID, "identity": inst.Identity, "version": nil}
	if inst.Version != nil {
		fields["version"] = *inst.Version
	}
	for k, v := range inst.Fields {
		fields[k] = v
	}
	return fields
}

// printFields shows what an instance published, as lymph's --full does:
// every field but the endpoint, sorted.
func printFields(p *printer, inst instanceInfo) {
	fields := published(inst)
	delete(fields, "endpoint")
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p.printf("   %s: %s\n", p.paint(colKey, k), p.pretty(jsonValue(fields[k])))
	}
}
