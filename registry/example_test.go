package registry_test

import (
	"context"
	"fmt"

	"github.com/lymphgo/lymph/registry"
)

// A service registers its interface; a client finds it, keeping only the
// instances compatible with version 1.2.
func Example() {
	ctx := context.Background()
	// memory: for a runnable example; a real deployment uses FromEnv, or
	// Open("local:") / Open("zookeeper://zk1:2181,zk2:2181/lymph").
	reg, err := registry.Open("memory:example")
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	for i, v := range []string{"1.1.0", "1.3.0", "2.0.0"} {
		inst, err := registry.NewInstance("echo", fmt.Sprintf("tcp://127.0.0.1:%d", 4001+i), v)
		if err != nil {
			panic(err)
		}
		if err := reg.Register(ctx, inst); err != nil {
			panic(err)
		}
	}

	name, constraint := registry.SplitVersionedName("echo@1.2")
	all, err := reg.Lookup(ctx, name)
	if err != nil {
		panic(err)
	}
	for _, inst := range registry.Match(all, constraint) {
		fmt.Println(inst.Name, inst.Version, inst.Endpoint)
	}
	for _, inst := range registry.Match(all, "") {
		fmt.Println("latest:", inst.Version)
	}
	// Output:
	// echo 1.3.0 tcp://127.0.0.1:4002
	// latest: 2.0.0
}
