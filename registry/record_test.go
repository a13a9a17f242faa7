package registry

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeRecordHasAllLymphFields(t *testing.T) {
	inst, err := NewInstance("echo", "tcp://127.0.0.1:47411", "")
	require.NoError(t, err)
	data, err := encodeRecord(inst)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(data, &rec))
	host, _ := os.Hostname()
	assert.Equal(t, map[string]any{
		"id":                  "28c636ffe8af14d47ac8c867d0687154",
		"identity":            "465b1d832bc83802948e8a91d085832f",
		"version":             nil,
		"endpoint":            "tcp://127.0.0.1:47411",
		"log_endpoint":        nil,
		"monitoring_endpoint": nil,
		"backdoor_endpoint":   nil,
		"fqdn":                host,
		"hostname":            host,
		"ip":                  "127.0.0.1",
		"type":                false,
	}, rec)

	inst.Version = "1.2.0"
	inst.Fields = map[string]any{"log_endpoint": "tcp://127.0.0.1:1", "id": "ignored", "extra": 1}
	data, err = encodeRecord(inst)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &rec))
	assert.Equal(t, "1.2.0", rec["version"])
	assert.Equal(t, "tcp://127.0.0.1:1", rec["log_endpoint"], "Fields override defaults")
	assert.Equal(t, inst.ID, rec["id"], "Fields never override the core keys")
	assert.Equal(t, 1.0, rec["extra"])
}

func TestDecodePythonRecord(t *testing.T) {
	// What a real lymph instance wrote (docs/protocol.md, "Discovery in ZooKeeper").
	const raw = `{"id": "28c636ffe8af14d47ac8c867d0687154", "identity": "465b1d832bc83802948e8a91d085832f", "version": null,
	  "endpoint": "tcp://127.0.0.1:47411", "log_endpoint": "tcp://127.0.0.1:33039",
	  "monitoring_endpoint": "tcp://127.0.0.1:38269", "backdoor_endpoint": null,
	  "fqdn": "localhost", "hostname": "vm", "ip": "127.0.0.1", "type": false, "future_field": [1, 2]}`
	inst, err := decodeRecord("echo", "28c636ffe8af14d47ac8c867d0687154", []byte(raw))
	require.NoError(t, err)
	assert.Equal(t, "28c636ffe8af14d47ac8c867d0687154", inst.ID)
	assert.Equal(t, "465b1d832bc83802948e8a91d085832f", inst.Identity)
	assert.Equal(t, "echo", inst.Name)
	assert.Equal(t, "tcp://127.0.0.1:47411", inst.Endpoint)
	assert.Equal(t, "", inst.Version)
	assert.Equal(t, "tcp://127.0.0.1:33039", inst.Fields["log_endpoint"])
	assert.Equal(t, "vm", inst.Fields["hostname"])
	assert.Equal(t, false, inst.Fields["type"])
	assert.Contains(t, inst.Fields, "future_field")
	assert.NotContains(t, inst.Fields, "endpoint")

	// The builtin interface carries lymph's own version.
	inst, err = decodeRecord("lymph", "n", []byte(`{"endpoint": "tcp://127.0.0.1:1", "version": "0.16.0-dev"}`))
	require.NoError(t, err)
	assert.Equal(t, "0.16.0-dev", inst.Version)
	assert.Equal(t, "n", inst.ID, "the node name stands in for a missing id")
	assert.Equal(t, Identity("tcp://127.0.0.1:1"), inst.Identity, "identity computed when missing")

	for _, bad := range []string{`{}`, `{"endpoint": 5}`, `not json`, `[]`} {
		_, err := decodeRecord("echo", "x", []byte(bad))
		assert.Error(t, err, bad)
	}
}
