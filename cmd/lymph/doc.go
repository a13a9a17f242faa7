// Command lymph talks to the services of a lymph mesh — Go services built
// with github.com/lymphgo/lymph and Python services built with lymph — from
// the command line: send requests (and load tests), inspect a service's
// methods, list what the registry knows, ping an instance, follow log
// streams, change log levels, print the configuration.
//
// Install it with
//
//	go install github.com/lymphgo/lymph/cmd/lymph@latest
//
// # Commands
//
//	lymph request [--address=ADDR] [--timeout=SECONDS] [--json] [-D] [--trace-id=ID] SUBJECT [PARAMS|-]
//	lymph request -N COUNT -C CONCURRENCY SUBJECT [PARAMS|-]
//	lymph inspect [--json] ADDRESS
//	lymph discover [--instances] [--versions] [--full] [--json] [NAME]
//	lymph ping [-n COUNT] [--interval SECONDS] [--payload TEXT] [--json] ADDRESS
//	lymph status [--json] ADDRESS
//	lymph tail [-l LEVEL] SERVICE...
//	lymph change-loglevel [-n LOGGER] -l LEVEL [-p SECONDS] ADDRESS
//	lymph config
//
// SUBJECT is interface.method, optionally with a version: echo.upper@1.2
// asks for an instance whose interface version is >=1.2.0 and <2.0.0.
// PARAMS is a JSON object of keyword arguments; "-" reads it from stdin.
// ADDRESS is a service name (echo, echo@1.2), resolved through the registry,
// or an instance's endpoint, tcp://host:port. Every command has --help with
// examples.
//
// request -N COUNT -C CONCURRENCY is a load test: one warm-up request, then
// COUNT requests from CONCURRENCY goroutines over the same connections,
// with the parameters encoded once, and a report in the layout of Python
// lymph's tool (Requests per second, Mean time per request, Timeout rate,
// Error rate, Total time, Percentiles). A progress bar is drawn on stderr
// while it runs, when stderr is a terminal.
//
// # Registry
//
// The registry is the one named by --registry URL, else by $LYMPH_REGISTRY,
// else by the registry of the lymph configuration, read as Python lymph
// reads it: --config FILE, else $LYMPH_CONFIG, else .lymph.yml in the
// current directory when there is one, over the sections of
// $LYMPH_NODE_CONFIG, with $(env.NAME) and $(var.NAME) ($LYMPH_VARS)
// substituted (lymph config prints the result). Python lymph's registry
// layouts are understood:
//
//	container:
//	  registry:
//	    class: lymph.discovery.zookeeper:ZookeeperServiceRegistry
//	    zkclient: dep:kazoo            # or {class: kazoo.client:KazooClient, hosts: ...}
//	dependencies:
//	  kazoo:
//	    class: kazoo.client:KazooClient
//	    hosts: 127.0.0.1:2181          # kazoo's syntax: a chroot may follow, default /lymph
//
// and the older top-level registry: {hosts: ..., chroot: ...}, which
// overrides container.registry as in lymph. lymph's static registry
// (lymph.discovery.static:StaticServiceRegistryHub) lives inside one Python
// process: here it is an empty registry. A command sent to a tcp:// address
// needs no registry and runs whatever the configuration says. Without any
// registry the tool uses local:, the embedded registry of this machine. See
// package registry for the URL forms: zookeeper://host:2181/lymph, local:,
// local:///dir, memory:.
//
// The tool runs one lymph container per command, on --ip (default
// $LYMPH_NODE_IP or 127.0.0.1) and a free port: services send their replies
// there, so on a multi-host mesh --ip must be this machine's address as the
// services see it. The container does not register itself in the registry.
//
// # Output
//
// Replies are printed indented, in colour on a terminal and plain when piped
// (NO_COLOR, --no-color and --color decide otherwise), or as JSON with
// --json. Errors are one line on stderr, starting with "lymph: ".
//
// # Exit codes
//
//	0    success
//	1    usage error, bad input (JSON, subject, registry URL, config) or other failure
//	2    NACK: the service refused the request (unknown method, bad arguments,
//	     or a failure the method did not declare)
//	3    remote error: the method raised a declared error; its type and message
//	     are printed
//	4    timeout: no reply within --timeout (default 2 s)
//	5    lookup failure: no live instance of the service, the endpoint is not
//	     reachable, or the registry is unavailable
//	130  interrupted by SIGINT or SIGTERM
//
// A load test exits with the code of its first failed request when any
// failed (after printing the report), and 0 otherwise. ping --count exits
// with the code of its first failed ping.
package main
