package lymph_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/lymphgo/lymph"
)

// A Go service configured by the same .lymph.yml as the Python ones.
func ExampleFromConfig() {
	dir, _ := os.MkdirTemp("", "lymph-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, ".lymph.yml")
	_ = os.WriteFile(path, []byte(`
container:
    ip: 127.0.0.1
    port: 4000
    service_name: echo
registry:
    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
    zkclient: {class: kazoo.client:KazooClient, hosts: "127.0.0.1:2181"}
`), 0o644)
	conf, err := lymph.FromConfig(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(conf.ServiceName, conf.Endpoint, conf.RegistryURL)
	// lymph.NewContainer(conf.Options()...)

	// Output: echo tcp://127.0.0.1:4000 zookeeper://127.0.0.1:2181/lymph
}
