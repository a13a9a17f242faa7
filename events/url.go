package events

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// EnvVar is the environment variable FromEnv reads the backend URL from.
const EnvVar = "LYMPH_EVENTS"

// DefaultURL is the backend FromEnv opens when EnvVar is unset: the
// embedded one, which needs no broker.
const DefaultURL = "local:"

// FromEnv opens the bus named by $LYMPH_EVENTS, or DefaultURL.
func FromEnv(opts ...Option) (*Bus, error) {
	u := strings.TrimSpace(os.Getenv(EnvVar))
	if u == "" {
		u = DefaultURL
	}
	return Open(u, opts...)
}

// Open opens a Bus on the backend rawURL names:
//
//	amqp://user:pass@host:5672/vhost  RabbitMQ in lymph's layout (?exchange=lymph
//	                                  renames the exchanges, as lymph's config does)
//	local: or local:///some/dir       the embedded spool: the processes of one machine
//	memory: or memory:NAME            this process only (NAME: a broker of its own)
//
// An amqp: URL waits up to 30 s for its first connection and fails if it
// gets none; after that, connections are re-made without limit.
func Open(rawURL string, opts ...Option) (*Bus, error) {
	o := buildOptions(opts)
	raw := strings.TrimSpace(rawURL)
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("events: %q is not an events URL (amqp://host:5672/, local:, memory:)", rawURL)
	}
	switch strings.ToLower(scheme) {
	case "amqp", "amqps":
		cfg, err := parseAMQP(raw)
		if err != nil {
			return nil, fmt.Errorf("events: %q: %w", redact(raw), err)
		}
		cfg.log = o.logger
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := newAMQP(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return New(b, opts...), nil
	case "local":
		dir, err := parseLocal(rest)
		if err != nil {
			return nil, fmt.Errorf("events: %q: %w", rawURL, err)
		}
		b, err := newLocal(dir, o.logger)
		if err != nil {
			return nil, err
		}
		return New(b, opts...), nil
	case "memory":
		ns, err := parseMemory(rest)
		if err != nil {
			return nil, fmt.Errorf("events: %q: %w", rawURL, err)
		}
		return New(NewMemory(ns), opts...), nil
	}
	return nil, fmt.Errorf("events: unknown scheme %q in %q (amqp:, local:, memory:)", scheme, rawURL)
}
