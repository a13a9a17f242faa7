package events

import (
	"testing"
)

func TestMemoryConformance(t *testing.T) {
	ns := randomName("ns")
	testConformance(t, backendUnderTest{
		open: func(t *testing.T) *Bus { return mustOpen(t, "memory:"+ns) },
		inject: func(t *testing.T, eventType string, body []byte, ct string) {
			memoryBroker(ns).route(eventType, body, ct)
		},
	})
}
