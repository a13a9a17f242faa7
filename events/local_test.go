//go:build linux

package events

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocalConformance(t *testing.T) {
	dir := t.TempDir()
	url := "local://" + dir
	testConformance(t, backendUnderTest{
		open: func(t *testing.T) *Bus { return mustOpen(t, url) },
		inject: func(t *testing.T, eventType string, body []byte, ct string) {
			b, err := newLocal(dir, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.(*localBackend).route(eventType, ct, body); err != nil {
				t.Fatal(err)
			}
		},
	})
	// Nothing left behind by the private queues.
	entries, _ := os.ReadDir(filepath.Join(dir, "queues"))
	for _, e := range entries {
		meta, _ := os.ReadFile(filepath.Join(dir, "queues", e.Name(), "meta"))
		if string(meta) == "auto-delete" {
			t.Errorf("auto-delete queue %s left behind", e.Name())
		}
	}
}
