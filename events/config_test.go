package events

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestURLFromConfig(t *testing.T) {
	for _, c := range []struct {
		name    string
		section map[string]any
		want    string
		ok      bool
	}{
		{"kombu defaults", map[string]any{"class": "lymph.events.kombu:KombuEventSystem"}, "amqp://guest:guest@localhost:5672/", true},
		{"host and keys", map[string]any{"class": "lymph.events.kombu:KombuEventSystem", "hostname": "10.0.0.1", "userid": "u", "password": "p", "port": 5673, "virtual_host": "prod"},
			"amqp://u:p@10.0.0.1:5673/prod", true},
		{"hostname URL", map[string]any{"class": "lymph.events.kombu:KombuEventSystem", "hostname": "amqp://a:b@h:5674/v", "exchange": "other"},
			"amqp://a:b@h:5674/v?exchange=other", true},
		{"local", map[string]any{"class": "lymph.events.local:LocalEventSystem"}, "memory:", true},
		{"none", nil, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := URLFromConfig(c.section)
			require.NoError(t, err)
			assert.Equal(t, c.ok, ok)
			assert.Equal(t, c.want, got)
		})
	}
	_, _, err := URLFromConfig(map[string]any{"class": "lymph.events.null:NullEventSystem"})
	assert.Error(t, err)
}

func TestMatchTable(t *testing.T) {
	for _, c := range []struct {
		pattern, typ string
		want         bool
	}{
		{"foo", "foo", true}, {"foo", "foo.bar", false},
		{"foo.*", "foo.bar", true}, {"foo.*", "foo", false}, {"foo.*", "foo.bar.baz", false},
		{"foo.#", "foo", true}, {"foo.#", "foo.bar.baz", true}, {"#", "anything.at.all", true},
		{"*", "a-b", true}, {"*.b.#", "a.b", true}, {"#.b", "a.c.b", true}, {"#.b", "b", true},
		{"a.#.#.c", "a.c", true}, {"a.*.c", "a.c", false},
	} {
		assert.Equal(t, c.want, Match(c.pattern, c.typ), "%q vs %q", c.pattern, c.typ)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvVar, "memory:fromenv")
	b, err := FromEnv()
	require.NoError(t, err)
	defer b.Close()
	_, isMemory := b.Backend().(*memBackend)
	assert.True(t, isMemory, "$LYMPH_EVENTS picks the backend")
	for _, bad := range []string{"nope", "ftp://x", "local:relative/dir", "local://host/dir", "memory:/x"} {
		_, err := Open(bad)
		assert.Error(t, err, bad)
	}
}
