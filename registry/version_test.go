package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	mk := func(versions ...string) []Instance {
		var out []Instance
		for i, v := range versions {
			out = append(out, Instance{ID: string(rune('a' + i)), Version: v})
		}
		return out
	}
	versionsOf := func(insts []Instance) []string {
		out := []string{}
		for _, inst := range insts {
			out = append(out, inst.Version)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		versions   []string
		constraint string
		want       []string
	}{
		{"none: latest version", []string{"1.0.0", "1.2.0", "1.2.0", "1.1.0"}, "", []string{"1.2.0", "1.2.0"}},
		{"none: latest across majors", []string{"1.9.0", "2.0.0"}, "", []string{"2.0.0"}},
		{"none: release beats its prerelease", []string{"1.0.0-rc1", "1.0.0"}, "", []string{"1.0.0"}},
		{"none: build metadata is the same version", []string{"1.0.0+a", "1.0.0+b"}, "", []string{"1.0.0+a", "1.0.0+b"}},
		{"none: unversioned only when nothing is versioned", []string{"", "", ""}, "", []string{"", "", ""}},
		{"none: versioned beats unversioned", []string{"", "0.1.0", ""}, "", []string{"0.1.0"}},
		{"none: junk counts as unversioned", []string{"junk", ""}, "", []string{"junk", ""}},
		{"none: empty input", nil, "", []string{}},
		{"1.2 keeps >=1.2.0 <2", []string{"1.1.9", "1.2.0", "1.3.5", "2.0.0", ""}, "1.2", []string{"1.2.0", "1.3.5"}},
		{"1.2.0 is the same as 1.2", []string{"1.1.9", "1.2.0", "1.3.5", "2.0.0"}, "1.2.0", []string{"1.2.0", "1.3.5"}},
		{"1 keeps all of major 1", []string{"0.9.0", "1.0.0", "1.9.9", "2.0.0"}, "1", []string{"1.0.0", "1.9.9"}},
		{"next major's prerelease is not 1.x", []string{"1.5.0", "2.0.0-rc1"}, "1.2", []string{"1.5.0"}},
		{"patch level counts", []string{"1.2.2", "1.2.3", "1.2.4"}, "1.2.3", []string{"1.2.3", "1.2.4"}},
		{"0.x follows the same rule", []string{"0.15.0", "0.16.0", "0.16.0-dev", "1.0.0"}, "0.16", []string{"0.16.0"}},
		{"unversioned never matches a constraint", []string{"", "junk"}, "1.0", []string{}},
		{"bad constraint keeps nothing", []string{"1.0.0"}, "x.y", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, versionsOf(Match(mk(tc.versions...), tc.constraint)))
		})
	}
}

func TestMatchKeepsOrder(t *testing.T) {
	in := []Instance{{ID: "z", Version: "1.0.0"}, {ID: "a", Version: "1.0.0"}, {ID: "m", Version: "0.1.0"}}
	assert.Equal(t, []Instance{in[0], in[1]}, Match(in, ""))
	assert.Equal(t, []Instance{in[0], in[1]}, Match(in, "1"))
}

func TestParseConstraint(t *testing.T) {
	c, err := ParseConstraint("1.2")
	require.NoError(t, err)
	assert.Equal(t, ">=1.2.0,<2.0.0", c.String())
	assert.False(t, c.IsZero())
	assert.True(t, c.Allows("1.9.0"))
	assert.False(t, c.Allows(""))

	c, err = ParseConstraint(" ")
	require.NoError(t, err)
	assert.True(t, c.IsZero())
	assert.Equal(t, "", c.String())
	assert.True(t, c.Allows(""))

	_, err = ParseConstraint("one.two")
	assert.Error(t, err)
}

func TestSplitVersionedName(t *testing.T) {
	for _, tc := range []struct{ in, name, constraint string }{
		{"echo", "echo", ""},
		{"echo@1.2", "echo", "1.2"},
		{"echo@", "echo", ""},
	} {
		name, c := SplitVersionedName(tc.in)
		assert.Equal(t, tc.name, name, tc.in)
		assert.Equal(t, tc.constraint, c, tc.in)
	}
}
