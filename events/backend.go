package events

import (
	"context"
	"errors"
	"time"
)

// Backend moves encoded events between queues: RabbitMQ (amqp:), the
// embedded spool (local:) or one process (memory:). A Bus adds lymph's
// semantics on top (decoding, retries, once, sequential, metrics), so that
// every backend behaves the same. All methods are safe for concurrent use.
type Backend interface {
	// Publish routes msg, an encoded event, to every queue with a binding
	// that matches eventType, after delay. It returns nil only when the
	// backend holds the message (a publisher confirm on RabbitMQ).
	Publish(ctx context.Context, eventType string, msg []byte, delay time.Duration) error
	// Retry puts msg on the named queue only (lymph's lymph_retry
	// exchange, routing key = queue name).
	Retry(ctx context.Context, queue string, msg []byte) error
	// Declare creates q and its bindings without consuming (lymph's
	// active=False handlers). Declaring again is not an error.
	Declare(ctx context.Context, q Queue) error
	// Consume declares q and its bindings, and calls deliver for each
	// message until the Consumer is stopped, re-declaring and resuming by
	// itself after the backend was lost (a broker restart). deliver is
	// called from one goroutine per consumer and must not block for
	// long; at most q.Prefetch deliveries are outstanding (neither acked
	// nor rejected) at once.
	Consume(ctx context.Context, q Queue, deliver func(Delivery)) (Consumer, error)
	// Close releases the backend; consumers still running stop.
	Close() error
}

// Queue describes one handler queue, as lymph names and flags it.
type Queue struct {
	// Name is the queue name: "<interface>-<handler>", with "-<uuid4>"
	// for broadcast and once handlers.
	Name string
	// Patterns are the binding keys on the main exchange.
	Patterns []string
	// AutoDelete deletes the queue when its last consumer goes (broadcast
	// and once handlers).
	AutoDelete bool
	// Prefetch bounds the deliveries outstanding at once (at least 1).
	Prefetch int
}

// Delivery is one message handed to a consumer.
type Delivery interface {
	// Body is the message's bytes.
	Body() []byte
	// ContentType is its content type ("" when it has none).
	ContentType() string
	// Ack removes the message from its queue.
	Ack() error
	// Reject drops the message, or puts it back on its queue when requeue.
	Reject(requeue bool) error
}

// Consumer is a running Consume.
type Consumer interface {
	// Cancel stops new deliveries and returns when deliver will not be
	// called again. Deliveries already handed out stay outstanding: they
	// may still be acked or rejected until Close.
	Cancel() error
	// Close cancels if needed and releases the consumer; deliveries still
	// outstanding go back to the queue.
	Close() error
}

// ErrClosed is returned by a Bus or Backend used after Close.
var ErrClosed = errors.New("events: closed")

// ErrNotConfirmed is wrapped by Emit's error when the broker did not
// confirm the event: it may not have reached it.
var ErrNotConfirmed = errors.New("events: publish not confirmed")
