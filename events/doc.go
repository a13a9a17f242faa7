// Package events is lymph's event system: services emit typed events and
// other services handle them, on RabbitMQ in exactly Python lymph's layout
// (so Go and Python instances exchange events and share queues), on an
// embedded spool between the processes of one machine, or in one process.
//
// # Backends
//
// One URL picks the backend (Open, FromEnv with $LYMPH_EVENTS):
//
//	amqp://user:pass@host:5672/vhost   RabbitMQ (?exchange=NAME renames lymph's exchanges)
//	local: or local:///some/dir        the embedded default: no broker, one machine
//	memory: or memory:NAME             this process only (tests)
//
// Every backend has RabbitMQ's semantics, checked by one conformance suite:
// a queue per handler shared by the service's instances (each event handled
// once per service), private auto-deleted queues for broadcast and once
// handlers, RabbitMQ's topic wildcards ("*" one word, "#" zero or more),
// retries through the handler's own queue with headers.retry_count counting
// down inside the event, delays, bounded prefetch, and an event whose handler
// is running when its subscriber stops going back to the queue.
//
// # RabbitMQ
//
// The layout is lymph's (lymph/events/kombu.py): the durable topic exchange
// "lymph" and the direct "lymph_waiting" and "lymph_retry"; queues
// "<interface>-<handler>", non-durable, x-ha-policy=all ("-<uuid4>" and
// auto-delete for broadcast and once); the body the msgpack map {type,
// headers, body, source}, content type application/lymph+x-msgpack, encoding
// binary, delivery mode 2. Deviations, all invisible to Python: emits wait for
// publisher confirms (an error means the event may be lost, where Python
// fires and forgets); delayed events are published straight into lymph's
// "<type>-wait_<ms>" queue through the default exchange, which is not bound
// to lymph_waiting, so Go adds nothing to lymph's duplicate delivery of
// delayed events; prefetch is bounded. Connections are supervised here,
// not by amqp091-go's experimental recovery: publishing and each consumer
// have their own connection, redialled with a backoff without limit, and
// every (re)connect re-declares exchanges, queues and bindings, as kombu
// does for lymph. Messages that are not lymph events (another content type,
// broken msgpack, a non-map, an unknown __type__) are rejected, counted and
// logged at most once a second; they never reach a handler or stop a
// consumer.
//
// # The embedded backend
//
// local: keeps queues as directories (see local.go): publishing links a
// message file into every matching queue, consumers claim messages by an
// atomic rename, a consumer's flock is its liveness (a killed process's
// claims go back to the queue, its auto-delete queues go), inotify wakes
// consumers, and a slow poll (2 s) backs it up. Nothing spins while idle.
// Delayed events wait in a directory that every open backend sweeps when due.
package events
