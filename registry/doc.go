// Package registry is lymph's service discovery: where the instances of a
// service (an interface name such as "echo") can be reached, and how to learn
// when they come and go.
//
// A Registry is opened from a URL, the same syntax everywhere (code, the
// command line, the LYMPH_REGISTRY environment variable):
//
//	zookeeper://host1:2181,host2:2181/lymph?session_timeout=10s&connect_timeout=10s
//	zk://127.0.0.1                    (alias; port defaults to 2181)
//	local:                            (the embedded default, default directory)
//	local:///path/to/dir              (the embedded default in that directory)
//	memory:                           (in this process only; memory:NAME for a separate namespace)
//
// zookeeper: is lymph's own layout, shared with Python lymph services: the
// path is the chroot (default and "/" both mean /lymph), every instance is an
// ephemeral znode /services/NAME/INSTANCE_ID holding lymph's JSON record.
// session_timeout (default 10s) is the ZooKeeper session timeout asked for;
// connect_timeout (default 10s) is how long Open waits for the first session
// (0 = don't wait: requests queue until ZooKeeper answers). A plain number is
// seconds.
//
// local: needs nothing installed and works across the processes of one
// machine. Its directory defaults to $XDG_RUNTIME_DIR/lymph, or
// os.TempDir()/lymph-UID when that is unset. Each instance is a file
// services/NAME/INSTANCE_ID.json holding the same JSON record as the znode.
// Its owner keeps an exclusive flock(2) on the file for as long as the
// instance is registered; the kernel drops that lock the moment the owner
// exits, however it exits. Readers take an unlocked file for a dead owner's
// and delete it. This was chosen over a pid plus a refreshed mtime because
// liveness then needs no heartbeat, no clock and no pid (which the system
// reuses), and a dead instance vanishes at once instead of after a grace
// period. Its costs: flock is unreliable on network file systems (the
// directory is meant to be local: the default is), and it needs a Unix. An
// owner whose file is deleted under it (rm -rf, a /tmp cleaner) writes it
// again within seconds. Watch polls the directory (every 250ms by default,
// e.g. local:?poll=100ms) because what changes when a process dies is a
// lock, which inotify does not report.
//
// memory: keeps everything in this process: for tests and for a service that
// calls itself. All "memory:" registries of a process share one namespace, so
// a service container and a client opened separately see each other;
// "memory:NAME" (or memory://NAME) is a namespace of its own.
//
// FromEnv opens the URL in $LYMPH_REGISTRY, or "local:" when it is unset.
//
// Registry methods report backend failures, never "not found": a name with no
// live instance is an empty result. Turning that into lymph's lookup failure
// (ErrLookupFailure, ErrNotConnected) is the caller's business. Errors caused
// by an unreachable backend wrap ErrUnavailable; use after Close gives
// ErrClosed.
//
// Version constraints follow lymph: Match(instances, "1.2") keeps instances
// whose version is >=1.2.0 and <2.0.0, and Match(instances, "") keeps the
// instances of the latest version present (see Match).
package registry
