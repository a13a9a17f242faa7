package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIdentityAndInstanceID(t *testing.T) {
	// The worked examples of docs/protocol.md, "Identity and instance ids".
	id := Identity("tcp://127.0.0.1:47411")
	assert.Equal(t, "465b1d832bc83802948e8a91d085832f", id)
	assert.Equal(t, "28c636ffe8af14d47ac8c867d0687154", InstanceID(id, "echo", ""))

	// md5 of "('465b1d832bc83802948e8a91d085832f', 'echo', Version('1.2.0'))",
	// computed with Python.
	const versioned = "6ad9afc97d37f3ce3e30c1ee06b654ca"
	assert.Equal(t, versioned, InstanceID(id, "echo", "1.2.0"))
	assert.Equal(t, versioned, InstanceID(id, "echo", "1.2"), "version hashed in canonical form")
}

func TestPyRepr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"tcp://127.0.0.1:1", `'tcp://127.0.0.1:1'`},
		{"", `''`},
		{"it's", `"it's"`},
		{`it's "x"`, `'it\'s "x"'`},
		{`a\b`, `'a\\b'`},
		{"a\nb\tc\x01", `'a\nb\tc\x01'`},
		{"héllo", `'héllo'`},
		{"\u200b", `'\u200b'`},
	} {
		assert.Equal(t, tc.want, pyRepr(tc.in), "repr(%q)", tc.in)
	}
}

func TestNewInstance(t *testing.T) {
	inst, err := NewInstance("echo", "tcp://127.0.0.1:47411", "")
	assert.NoError(t, err)
	assert.Equal(t, Instance{
		ID:       "28c636ffe8af14d47ac8c867d0687154",
		Identity: "465b1d832bc83802948e8a91d085832f",
		Name:     "echo",
		Endpoint: "tcp://127.0.0.1:47411",
	}, inst)

	inst, err = NewInstance("echo", "tcp://127.0.0.1:47411", "v1.2")
	assert.NoError(t, err)
	assert.Equal(t, "1.2.0", inst.Version)
	assert.Equal(t, "6ad9afc97d37f3ce3e30c1ee06b654ca", inst.ID)

	for _, bad := range []struct{ name, endpoint, version string }{
		{"", "tcp://127.0.0.1:1", ""},
		{"a/b", "tcp://127.0.0.1:1", ""},
		{"..", "tcp://127.0.0.1:1", ""},
		{".hidden", "tcp://127.0.0.1:1", ""},
		{"echo", "", ""},
		{"echo", "tcp://127.0.0.1:1", "not-a-version"},
	} {
		_, err := NewInstance(bad.name, bad.endpoint, bad.version)
		assert.Error(t, err, "%+v", bad)
	}
}
