package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The memory backend: RabbitMQ's model (a topic exchange, named queues
// shared by competing consumers, auto-delete, prefetch, requeue) inside one
// process. Buses opened on the same "memory:NAME" share one broker.

var (
	memoryMu      sync.Mutex
	memoryBrokers = map[string]*memBroker{}
)

func memoryBroker(ns string) *memBroker {
	memoryMu.Lock()
	defer memoryMu.Unlock()
	b := memoryBrokers[ns]
	if b == nil {
		b = &memBroker{queues: map[string]*memQueue{}}
		b.cond = sync.NewCond(&b.mu)
		memoryBrokers[ns] = b
	}
	return b
}

// NewMemory returns a memory backend on the broker of namespace ns ("" is
// the default one "memory:" opens).
func NewMemory(ns string) Backend {
	return &memBackend{broker: memoryBroker(ns)}
}

type memBroker struct {
	mu     sync.Mutex
	cond   *sync.Cond // signalled on every queue change
	queues map[string]*memQueue
}

type memQueue struct {
	name       string
	patterns   map[string]bool
	msgs       []memMsg
	consumers  int
	autoDelete bool
	deleted    bool
}

func (b *memBroker) declare(q Queue) *memQueue {
	mq := b.queues[q.Name]
	if mq == nil {
		mq = &memQueue{name: q.Name, patterns: map[string]bool{}, autoDelete: q.AutoDelete}
		b.queues[q.Name] = mq
	}
	for _, p := range q.Patterns {
		mq.patterns[p] = true
	}
	return mq
}

func (b *memBroker) route(eventType string, msg []byte, ct string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, q := range b.queues {
		for p := range q.patterns {
			if Match(p, eventType) {
				q.msgs = append(q.msgs, memMsg{msg, ct})
				break
			}
		}
	}
	b.cond.Broadcast()
}

type memBackend struct {
	broker *memBroker
	mu     sync.Mutex
	closed bool
}

func (m *memBackend) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *memBackend) Publish(ctx context.Context, eventType string, msg []byte, delay time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	if delay <= 0 {
		m.broker.route(eventType, msg, ContentType)
		return nil
	}
	// The broker holds delayed events, as RabbitMQ's wait queues do: they
	// outlive the backend that published them.
	time.AfterFunc(delay, func() { m.broker.route(eventType, msg, ContentType) })
	return nil
}

func (m *memBackend) Retry(ctx context.Context, queue string, msg []byte) error {
	if m.isClosed() {
		return ErrClosed
	}
	b := m.broker
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[queue]; q != nil {
		q.msgs = append(q.msgs, memMsg{msg, ContentType})
		b.cond.Broadcast()
	}
	return nil
}

func (m *memBackend) Declare(ctx context.Context, q Queue) error {
	if m.isClosed() {
		return ErrClosed
	}
	m.broker.mu.Lock()
	defer m.broker.mu.Unlock()
	m.broker.declare(q)
	return nil
}

func (m *memBackend) Consume(ctx context.Context, q Queue, deliver func(Delivery)) (Consumer, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	if q.Prefetch < 1 {
		q.Prefetch = 1
	}
	b := m.broker
	b.mu.Lock()
	mq := b.declare(q)
	mq.consumers++
	b.mu.Unlock()
	c := &memConsumer{b: b, q: mq, prefetch: q.Prefetch, deliver: deliver, done: make(chan struct{}), unacked: map[*memDelivery]struct{}{}}
	go c.run()
	return c, nil
}

func (m *memBackend) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

type memConsumer struct {
	b        *memBroker
	q        *memQueue
	prefetch int
	deliver  func(Delivery)
	done     chan struct{}

	// guarded by b.mu
	unacked   map[*memDelivery]struct{}
	cancelled bool
	closed    bool
}

func (c *memConsumer) run() {
	defer close(c.done)
	b := c.b
	b.mu.Lock()
	for {
		for !c.cancelled && (len(c.q.msgs) == 0 || len(c.unacked) >= c.prefetch) {
			b.cond.Wait()
		}
		if c.cancelled {
			b.mu.Unlock()
			return
		}
		msg := c.q.msgs[0]
		c.q.msgs[0] = memMsg{}
		c.q.msgs = c.q.msgs[1:]
		d := &memDelivery{c: c, msg: msg}
		c.unacked[d] = struct{}{}
		b.mu.Unlock()
		c.deliver(d)
		b.mu.Lock()
	}
}

func (c *memConsumer) Cancel() error {
	c.b.mu.Lock()
	c.cancelled = true
	c.b.cond.Broadcast()
	c.b.mu.Unlock()
	<-c.done
	return nil
}

func (c *memConsumer) Close() error {
	_ = c.Cancel()
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	for d := range c.unacked {
		c.q.msgs = append([]memMsg{d.msg}, c.q.msgs...)
	}
	c.unacked = nil
	c.q.consumers--
	if c.q.autoDelete && c.q.consumers == 0 && !c.q.deleted {
		c.q.deleted = true
		delete(b.queues, c.q.name)
	}
	b.cond.Broadcast()
	return nil
}

type memDelivery struct {
	c   *memConsumer
	msg memMsg
}

type memMsg struct {
	body        []byte
	contentType string
}

var errDeliveryDone = errors.New("events: delivery already settled or its consumer closed")

func (d *memDelivery) Body() []byte        { return d.msg.body }
func (d *memDelivery) ContentType() string { return d.msg.contentType }
func (d *memDelivery) Ack() error          { return d.settle(false, false) }
func (d *memDelivery) Reject(requeue bool) error {
	return d.settle(true, requeue)
}

func (d *memDelivery) settle(reject, requeue bool) error {
	c := d.c
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	if _, ok := c.unacked[d]; !ok {
		return errDeliveryDone
	}
	delete(c.unacked, d)
	if reject && requeue && !c.q.deleted {
		c.q.msgs = append([]memMsg{d.msg}, c.q.msgs...)
	}
	c.b.cond.Broadcast()
	return nil
}

// parseMemory reads "memory:" or "memory:NAME".
func parseMemory(rest string) (string, error) {
	if len(rest) > 0 && rest[0] == '/' {
		return "", fmt.Errorf("memory: takes a name, not a path: %q", rest)
	}
	return rest, nil
}
