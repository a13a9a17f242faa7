package registry

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Constraint is a version requirement as lymph writes it after the '@' of
// "echo@1.2": a minimum version that also fixes the major version. The zero
// Constraint is "none".
type Constraint struct {
	min *semver.Version
}

// ParseConstraint parses "1.2", "1.2.0" or "1" (missing parts are zero) into
// the constraint >=1.2.0,<2.0.0. The empty text is no constraint.
func ParseConstraint(s string) (Constraint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Constraint{}, nil
	}
	v, err := semver.NewVersion(s)
	if err != nil {
		return Constraint{}, fmt.Errorf("registry: bad version constraint %q: %w", s, err)
	}
	return Constraint{min: v}, nil
}

// IsZero reports whether c is no constraint.
func (c Constraint) IsZero() bool { return c.min == nil }

// String returns the range c allows, e.g. ">=1.2.0,<2.0.0", or "" for none.
func (c Constraint) String() string {
	if c.min == nil {
		return ""
	}
	return fmt.Sprintf(">=%s,<%d.0.0", c.min, c.min.Major()+1)
}

// Allows reports whether an instance of that version satisfies c. No
// constraint allows everything; a constraint never allows an instance
// without a version (or with one that is not semver).
//
// The upper bound is "same major" rather than "< next major", so that a
// prerelease of the next major (2.0.0-rc1, which sorts below 2.0.0) is not
// offered to a caller that asked for 1.x.
func (c Constraint) Allows(version string) bool {
	if c.min == nil {
		return true
	}
	v, err := semver.NewVersion(version)
	if err != nil || version == "" {
		return false
	}
	return v.Major() == c.min.Major() && !v.LessThan(c.min)
}

// Filter returns the instances that c allows; with no constraint, those of
// the latest version present (see Match). The order is kept.
func (c Constraint) Filter(instances []Instance) []Instance {
	if c.min == nil {
		return latest(instances)
	}
	var out []Instance
	for _, inst := range instances {
		if c.Allows(inst.Version) {
			out = append(out, inst)
		}
	}
	return out
}

// Match keeps the instances that satisfy constraint, in their order.
//
// A constraint "1.2" or "1.2.0" keeps versions >=1.2.0 of major 1, as lymph's
// compatible() does; unversioned instances never match it. The empty
// constraint keeps the instances of the latest version present, so that a
// caller who asked for no version is not sent to the old instances during a
// rolling upgrade. An instance without a version (or with text that is not
// semver) counts as older than any versioned one: the unversioned instances
// are kept only when no instance has a version. A constraint that does not
// parse keeps nothing; check it with ParseConstraint first.
func Match(instances []Instance, constraint string) []Instance {
	c, err := ParseConstraint(constraint)
	if err != nil {
		return nil
	}
	return c.Filter(instances)
}

func latest(instances []Instance) []Instance {
	var top *semver.Version
	for _, inst := range instances {
		if v, err := semver.NewVersion(inst.Version); err == nil && inst.Version != "" {
			if top == nil || v.GreaterThan(top) {
				top = v
			}
		}
	}
	var out []Instance
	for _, inst := range instances {
		v, err := semver.NewVersion(inst.Version)
		isVersioned := err == nil && inst.Version != ""
		switch {
		case top == nil && !isVersioned:
			out = append(out, inst)
		case top != nil && isVersioned && v.Equal(top):
			out = append(out, inst)
		}
	}
	return out
}

// SplitVersionedName splits lymph's "name@constraint" address ("echo@1.2")
// into its name and constraint text; without '@' the constraint is "".
func SplitVersionedName(s string) (name, constraint string) {
	name, constraint, _ = strings.Cut(s, "@")
	return name, constraint
}

// canonicalVersion returns version as semver text in the canonical form
// Python's semantic_version prints ("1.2" becomes "1.2.0", "v1.2.0"
// becomes "1.2.0").
func canonicalVersion(version string) (string, error) {
	v, err := semver.NewVersion(version)
	if err != nil {
		return "", fmt.Errorf("registry: version %q is not semver: %w", version, err)
	}
	return v.String(), nil
}
