package lymph

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"
)

// installed is one installed interface.
type installed struct {
	svc     any // what was installed, for its hooks
	name    string
	version string
	semver  *semver.Version
	methods map[string]*method
	started atomic.Bool // its OnStart ran (see Starter)
}

// ifaceTable is the set of installed interfaces, by name, newest version
// first. It is never modified: Install makes a new table and swaps it in
// atomically, so dispatch reads it without a lock.
type ifaceTable struct {
	byName map[string][]*installed
}

var emptyTable = &ifaceTable{byName: map[string][]*installed{}}

// with returns a copy of t with inst added.
func (t *ifaceTable) with(inst *installed) (*ifaceTable, error) {
	for _, other := range t.byName[inst.name] {
		if other.version == inst.version {
			return nil, fmt.Errorf("lymph: interface %q version %q is already installed", inst.name, inst.version)
		}
	}
	next := &ifaceTable{byName: make(map[string][]*installed, len(t.byName)+1)}
	for name, list := range t.byName {
		next.byName[name] = list
	}
	list := append(slices.Clone(t.byName[inst.name]), inst)
	slices.SortStableFunc(list, func(a, b *installed) int {
		switch {
		case newer(a, b):
			return -1
		case newer(b, a):
			return 1
		}
		return 0
	})
	next.byName[inst.name] = list
	return next, nil
}

func newer(a, b *installed) bool {
	switch {
	case a.semver == nil:
		return false
	case b.semver == nil:
		return true
	}
	return a.semver.GreaterThan(b.semver)
}

// hasServices reports whether an interface other than the builtin one is
// installed.
func (t *ifaceTable) hasServices() bool {
	for name := range t.byName {
		if name != builtinName {
			return true
		}
	}
	return false
}

// all lists every installed interface.
func (t *ifaceTable) all() []*installed {
	var out []*installed
	for _, list := range t.byName {
		out = append(out, list...)
	}
	return out
}

// lookup picks the installed interface for a request: the newest version
// when the request names none, else the newest installed version that
// satisfies it (lymph's rule: same major, at least the asked version).
func (t *ifaceTable) lookup(name, version string) *installed {
	list := t.byName[name]
	if len(list) == 0 {
		return nil
	}
	if version == "" {
		return list[0]
	}
	want, err := semver.NewVersion(version)
	if err != nil {
		return nil
	}
	for _, inst := range list {
		if inst.semver != nil && inst.semver.Major() == want.Major() && !inst.semver.LessThan(want) {
			return inst
		}
	}
	return nil
}

// addInterface installs inst, for the builtin interface (before Start).
func (c *Container) addInterface(inst *installed) error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	next, err := c.ifaces.Load().with(inst)
	if err != nil {
		return err
	}
	for name := range inst.methods {
		c.metrics.serve(inst.name + "." + name)
	}
	c.ifaces.Store(next)
	return nil
}

// inspect lists every served method, for lymph.inspect.
func (c *Container) inspect() []methodInfo {
	t := c.ifaces.Load()
	var out []methodInfo
	for _, name := range sortedKeys(t.byName) {
		for _, inst := range t.byName[name] {
			var version any
			if inst.version != "" {
				version = inst.version
			}
			for _, m := range sortedMethods(inst.methods) {
				out = append(out, methodInfo{Name: name + "." + m.name, Version: version, Params: m.params, Help: m.help})
			}
		}
	}
	return out
}
