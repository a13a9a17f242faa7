package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sort"
)

// The keys of lymph's JSON record that Instance has fields for; every other
// key lives in Instance.Fields.
var coreKeys = map[string]bool{"id": true, "identity": true, "endpoint": true, "version": true}

// encodeRecord returns the JSON lymph stores for an instance (the znode's
// data, or the local registry's file). Python lymph writes all of these
// keys, so we do too, with null for the endpoints we don't have: some tools
// read them without checking. Fields override the defaults.
func encodeRecord(inst Instance) ([]byte, error) {
	host, _ := os.Hostname()
	rec := map[string]any{
		"log_endpoint":        nil,
		"monitoring_endpoint": nil,
		"backdoor_endpoint":   nil,
		"fqdn":                host,
		"hostname":            host,
		"ip":                  endpointHost(inst.Endpoint),
		"type":                false,
	}
	for k, v := range inst.Fields {
		rec[k] = v
	}
	rec["id"] = inst.ID
	rec["identity"] = inst.Identity
	rec["endpoint"] = inst.Endpoint
	if inst.Version == "" {
		rec["version"] = nil
	} else {
		rec["version"] = inst.Version
	}
	return json.Marshal(rec)
}

// decodeRecord reads the record of an instance of name stored under the node
// (or file) called id. Only the endpoint is required: id and identity are
// recomputed when missing, unknown keys are kept in Fields, and a version
// that is not text counts as none.
func decodeRecord(name, id string, data []byte) (Instance, error) {
	var rec map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep numbers as written
	if err := dec.Decode(&rec); err != nil {
		return Instance{}, fmt.Errorf("registry: record %s/%s: %w", name, id, err)
	}
	inst := Instance{Name: name, ID: id}
	inst.Endpoint, _ = rec["endpoint"].(string)
	if inst.Endpoint == "" {
		return Instance{}, fmt.Errorf("registry: record %s/%s has no endpoint", name, id)
	}
	if s, ok := rec["id"].(string); ok && s != "" {
		inst.ID = s
	}
	inst.Identity, _ = rec["identity"].(string)
	if inst.Identity == "" {
		inst.Identity = Identity(inst.Endpoint)
	}
	inst.Version, _ = rec["version"].(string)
	for k, v := range rec {
		if !coreKeys[k] {
			if inst.Fields == nil {
				inst.Fields = make(map[string]any, len(rec))
			}
			inst.Fields[k] = v
		}
	}
	return inst, nil
}

// endpointHost returns the host of tcp://host:port, the "ip" lymph records.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func sortInstances(s []Instance) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].ID != s[j].ID {
			return s[i].ID < s[j].ID
		}
		return s[i].Endpoint < s[j].Endpoint
	})
}
