// Package lymphtest helps users test their lymph services: real containers
// on loopback ports, with an in-process registry of their own, stopped when
// the test ends.
//
//	func TestUpper(t *testing.T) {
//		reg := lymphtest.Registry(t)
//		lymphtest.Start(t, reg, func(c *lymph.Container) error { return c.Install(&Echo{}, lymph.WithName("echo")) })
//		client := lymphtest.Start(t, reg, nil)
//		out, err := lymph.Call[string](context.Background(), client.Proxy("echo"), "upper", UpperArgs{Text: "foo"})
//		...
//	}
package lymphtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/registry"
)

var namespaces atomic.Int64

// Registry returns an in-process registry that no other test shares, closed
// when the test ends.
func Registry(t testing.TB) registry.Registry {
	t.Helper()
	reg, err := registry.Open(fmt.Sprintf("memory:lymphtest-%d", namespaces.Add(1)))
	if err != nil {
		t.Fatalf("lymphtest: %v", err)
	}
	t.Cleanup(func() { reg.Close() })
	return reg
}

// Start starts a container on a free loopback port, registered in reg, with
// what install puts in it (nil for a client), and stops it when the test
// ends, failing the test if it does not stop cleanly within five seconds.
// Options after reg override the defaults.
func Start(t testing.TB, reg registry.Registry, install func(*lymph.Container) error, opts ...lymph.ContainerOption) *lymph.Container {
	t.Helper()
	opts = append([]lymph.ContainerOption{lymph.WithEndpoint("tcp://127.0.0.1:0"), lymph.WithRegistry(reg)}, opts...)
	c, err := lymph.NewContainer(opts...)
	if err != nil {
		t.Fatalf("lymphtest: %v", err)
	}
	if install != nil {
		if err := install(c); err != nil {
			t.Fatalf("lymphtest: install: %v", err)
		}
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("lymphtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("lymphtest: stop: %v", err)
		}
	})
	return c
}
