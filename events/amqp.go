package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The RabbitMQ backend, in exactly Python lymph's layout (docs/events.md, "RabbitMQ layout"):
// the durable topic exchange X ("lymph") and the direct X_waiting and
// X_retry; non-durable queues "<iface>-<handler>" with x-ha-policy=all;
// delays through "<type>-wait_<ms>" queues that dead-letter into X.
//
// Reconnection is ours, not amqp091-go's experimental Recovery, as kombu's
// is for lymph: a supervisor per connection redials with a backoff without
// limit and re-declares exchanges, queues and bindings on every connect.
// Publishing has its own connection (in confirm mode), and every consumer
// has its own, so that a broker blocking publishers (memory alarm) does not
// stop consumers from acking.

type amqpConfig struct {
	url      string // for amqp.Dial, without our query parameters
	exchange string
	log      *slog.Logger
}

func (c amqpConfig) waiting() string { return c.exchange + "_waiting" }
func (c amqpConfig) retry() string   { return c.exchange + "_retry" }

// parseAMQP reads amqp://user:pass@host:port/vhost?exchange=lymph. Other
// query parameters go to amqp091-go (heartbeat, connection_timeout...).
func parseAMQP(raw string) (amqpConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return amqpConfig{}, err
	}
	q := u.Query()
	cfg := amqpConfig{exchange: "lymph"}
	if x := q.Get("exchange"); x != "" {
		cfg.exchange = x
	}
	q.Del("exchange")
	u.RawQuery = q.Encode()
	cfg.url = u.String()
	if _, err := amqp.ParseURI(cfg.url); err != nil {
		return amqpConfig{}, err
	}
	return cfg, nil
}

// declareExchanges declares lymph's three exchanges with exactly lymph's
// flags: a difference makes Python's own emits fail with 406.
func declareExchanges(ch *amqp.Channel, cfg amqpConfig) error {
	if err := ch.ExchangeDeclare(cfg.exchange, "topic", true, false, false, false, nil); err != nil {
		return err
	}
	if err := ch.ExchangeDeclare(cfg.waiting(), "direct", true, false, false, false, nil); err != nil {
		return err
	}
	return ch.ExchangeDeclare(cfg.retry(), "direct", true, false, false, false, nil)
}

// haArgs is lymph's queue argument: ignored by RabbitMQ 3+, sent so that
// Go's queues are identical to Python's.
func haArgs() amqp.Table { return amqp.Table{"x-ha-policy": "all"} }

func declareQueue(ch *amqp.Channel, cfg amqpConfig, q Queue) error {
	if _, err := ch.QueueDeclare(q.Name, false, q.AutoDelete, false, false, haArgs()); err != nil {
		return err
	}
	for _, p := range q.Patterns {
		if err := ch.QueueBind(q.Name, p, cfg.exchange, false, nil); err != nil {
			return err
		}
	}
	return ch.QueueBind(q.Name, q.Name, cfg.retry(), false, nil)
}

// backoff is a redial schedule: 100 ms doubling to 5 s, with jitter, for ever.
type backoff struct{ n int }

func (b *backoff) next() time.Duration {
	d := 100 * time.Millisecond * time.Duration(math.Pow(2, float64(min(b.n, 6))))
	d = min(d, 5*time.Second)
	b.n++
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (b *backoff) reset() { b.n = 0 }

type amqpBackend struct {
	cfg    amqpConfig
	closed chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	sess      *pubSession   // nil while disconnected
	ready     chan struct{} // closed (and replaced) when sess changes
	consumers map[*amqpConsumer]struct{}
	isClosed  bool
}

type pubSession struct {
	conn *amqp.Connection
	ch   *amqp.Channel
	// waitQueues holds the wait queues declared on this connection.
	waitQueues sync.Map
}

// newAMQP connects the publishing side; ctx bounds the first connect.
func newAMQP(ctx context.Context, cfg amqpConfig) (*amqpBackend, error) {
	a := &amqpBackend{cfg: cfg, closed: make(chan struct{}), ready: make(chan struct{}), consumers: map[*amqpConsumer]struct{}{}}
	var bo backoff
	var sess *pubSession
	for {
		var err error
		if sess, err = a.dialPublisher(); err == nil {
			break
		}
		var aerr *amqp.Error
		if errors.Is(err, amqp.ErrCredentials) || errors.As(err, &aerr) && aerr.Code == amqp.AccessRefused {
			return nil, fmt.Errorf("events: connect %s: %w", redact(cfg.url), err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("events: connect %s: %w", redact(cfg.url), err)
		case <-time.After(bo.next()):
		}
	}
	a.setSession(sess)
	a.wg.Add(1)
	go a.supervise(sess)
	return a, nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "amqp://?"
	}
	return u.Redacted()
}

func (a *amqpBackend) dialPublisher() (*pubSession, error) {
	conn, err := amqp.DialConfig(a.cfg.url, amqp.Config{Heartbeat: 10 * time.Second, Properties: amqp.Table{"connection_name": "lymph-go events publisher"}})
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = declareExchanges(ch, a.cfg)
	}
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &pubSession{conn: conn, ch: ch}, nil
}

func (a *amqpBackend) setSession(s *pubSession) {
	a.mu.Lock()
	a.sess = s
	close(a.ready)
	a.ready = make(chan struct{})
	a.mu.Unlock()
}

// supervise waits for the publishing connection to die and redials it. The
// notification channels are buffered and always drained (amqp091-go
// blocks otherwise).
func (a *amqpBackend) supervise(sess *pubSession) {
	defer a.wg.Done()
	var bo backoff
	for {
		closed := sess.conn.NotifyClose(make(chan *amqp.Error, 1))
		blocked := sess.conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		chClosed := sess.ch.NotifyClose(make(chan *amqp.Error, 1))
	wait:
		for {
			select {
			case <-a.closed:
				_ = sess.conn.Close()
				go drain(closed, blocked, chClosed)
				return
			case b, ok := <-blocked:
				if ok {
					a.cfg.log.Warn("events: RabbitMQ blocks publishing", "active", b.Active, "reason", b.Reason)
				} else {
					blocked = nil
				}
			case err := <-chClosed:
				// A channel error (e.g. a publish to a missing exchange):
				// the connection may live on; start over on a new one.
				a.cfg.log.Warn("events: publishing channel closed", "error", err)
				_ = sess.conn.Close()
				chClosed = nil
			case err := <-closed:
				a.cfg.log.Warn("events: publishing connection lost; reconnecting", "error", err)
				break wait
			}
		}
		go drain(nil, blocked, chClosed)
		a.setSession(nil)
		for {
			select {
			case <-a.closed:
				return
			case <-time.After(bo.next()):
			}
			s, err := a.dialPublisher()
			if err != nil {
				a.cfg.log.Warn("events: publishing connection: reconnect failed; retrying", "error", err)
				continue
			}
			bo.reset()
			sess = s
			a.setSession(s)
			a.cfg.log.Info("events: publishing connection back")
			break
		}
	}
}

// drain empties notification channels until the library closes them.
func drain(closed chan *amqp.Error, blocked chan amqp.Blocking, chClosed chan *amqp.Error) {
	for closed != nil || blocked != nil || chClosed != nil {
		select {
		case _, ok := <-closed:
			if !ok {
				closed = nil
			}
		case _, ok := <-blocked:
			if !ok {
				blocked = nil
			}
		case _, ok := <-chClosed:
			if !ok {
				chClosed = nil
			}
		}
	}
}

// session waits, with ctx, for a live publishing session.
func (a *amqpBackend) session(ctx context.Context) (*pubSession, error) {
	for {
		a.mu.Lock()
		s, ready, closed := a.sess, a.ready, a.isClosed
		a.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if s != nil {
			return s, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: not connected to RabbitMQ: %w", ErrNotConfirmed, ctx.Err())
		}
	}
}

func publishing(msg []byte) amqp.Publishing {
	return amqp.Publishing{
		ContentType:     ContentType,
		ContentEncoding: ContentEncoding,
		DeliveryMode:    amqp.Persistent,
		Priority:        0,
		Headers:         amqp.Table{},
		Body:            msg,
	}
}

func (a *amqpBackend) publish(ctx context.Context, exchange, key string, msg []byte) error {
	s, err := a.session(ctx)
	if err != nil {
		return err
	}
	dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, publishing(msg))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotConfirmed, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotConfirmed, err)
	}
	if !ok {
		return fmt.Errorf("%w: the broker nacked it or the connection closed", ErrNotConfirmed)
	}
	return nil
}

func (a *amqpBackend) Publish(ctx context.Context, eventType string, msg []byte, delay time.Duration) error {
	if delay <= 0 {
		return a.publish(ctx, a.cfg.exchange, eventType, msg)
	}
	ms := delay.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	if ms > math.MaxInt32 {
		return fmt.Errorf("events: delay %v too long", delay)
	}
	name := fmt.Sprintf("%s-wait_%d", eventType, ms)
	s, err := a.session(ctx)
	if err != nil {
		return err
	}
	if _, ok := s.waitQueues.Load(name); !ok {
		if err := a.declareWaitQueue(s, name, eventType, ms); err != nil {
			return err
		}
		s.waitQueues.Store(name, true)
	}
	// Straight into the wait queue through the default exchange, not via
	// X_waiting: binding Go's wait queues there would add to Python
	// lymph's duplicate-delivery bug (docs/events.md, "Delayed events").
	return a.publish(ctx, "", name, msg)
}

// declareWaitQueue declares <type>-wait_<ms> with lymph's arguments on a
// channel of its own: declarations must not share the publishing channel
// with concurrent publishes (amqp091-go#242).
func (a *amqpBackend) declareWaitQueue(s *pubSession, name, eventType string, ms int64) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotConfirmed, err)
	}
	defer ch.Close()
	_, err = ch.QueueDeclare(name, false, false, false, false, amqp.Table{
		"x-dead-letter-exchange":    a.cfg.exchange,
		"x-dead-letter-routing-key": eventType,
		"x-message-ttl":             int32(ms),
		"x-ha-policy":               "all",
	})
	if err != nil {
		return fmt.Errorf("%w: declare %s: %w", ErrNotConfirmed, name, err)
	}
	return nil
}

func (a *amqpBackend) Retry(ctx context.Context, queue string, msg []byte) error {
	return a.publish(ctx, a.cfg.retry(), queue, msg)
}

func (a *amqpBackend) Declare(ctx context.Context, q Queue) error {
	s, err := a.session(ctx)
	if err != nil {
		return err
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return declareQueue(ch, a.cfg, q)
}

func (a *amqpBackend) Close() error {
	a.mu.Lock()
	if a.isClosed {
		a.mu.Unlock()
		return nil
	}
	a.isClosed = true
	cs := make([]*amqpConsumer, 0, len(a.consumers))
	for c := range a.consumers {
		cs = append(cs, c)
	}
	a.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
	close(a.closed)
	a.wg.Wait()
	return nil
}

// amqpConsumer consumes one queue on a connection of its own.
type amqpConsumer struct {
	a       *amqpBackend
	q       Queue
	deliver func(Delivery)
	tag     string

	cancel    chan struct{} // closed by Cancel
	cancelled chan struct{} // closed when deliver will not be called again
	closeReq  chan struct{} // closed by Close
	done      chan struct{} // closed when the supervisor returned
	once1     sync.Once
	once2     sync.Once
	once3     sync.Once
}

func (a *amqpBackend) Consume(ctx context.Context, q Queue, deliver func(Delivery)) (Consumer, error) {
	if q.Prefetch < 1 {
		q.Prefetch = 1
	}
	c := &amqpConsumer{a: a, q: q, deliver: deliver, tag: "lymph-go-" + strconv.FormatInt(rand.Int64(), 36),
		cancel: make(chan struct{}), cancelled: make(chan struct{}), closeReq: make(chan struct{}), done: make(chan struct{})}
	// The first connect is the caller's: it fails if ctx ends first.
	var bo backoff
	var conn *amqp.Connection
	var ch *amqp.Channel
	var deliveries <-chan amqp.Delivery
	for {
		var err error
		conn, ch, deliveries, err = c.connect()
		if err == nil {
			break
		}
		var aerr *amqp.Error
		if errors.As(err, &aerr) && !aerr.Recover && aerr.Code != amqp.ConnectionForced {
			// A hard refusal (406 on a queue's flags, 403...): retrying
			// would not help.
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(bo.next()):
		}
	}
	a.mu.Lock()
	if a.isClosed {
		a.mu.Unlock()
		_ = conn.Close()
		return nil, ErrClosed
	}
	a.consumers[c] = struct{}{}
	a.mu.Unlock()
	go c.run(conn, ch, deliveries)
	return c, nil
}

func (c *amqpConsumer) connect() (*amqp.Connection, *amqp.Channel, <-chan amqp.Delivery, error) {
	conn, err := amqp.DialConfig(c.a.cfg.url, amqp.Config{Heartbeat: 10 * time.Second, Properties: amqp.Table{"connection_name": "lymph-go events " + c.q.Name}})
	if err != nil {
		return nil, nil, nil, err
	}
	fail := func(err error) (*amqp.Connection, *amqp.Channel, <-chan amqp.Delivery, error) {
		_ = conn.Close()
		return nil, nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if err := ch.Qos(c.q.Prefetch, 0, false); err != nil {
		return fail(err)
	}
	if err := declareExchanges(ch, c.a.cfg); err != nil {
		return fail(err)
	}
	if err := declareQueue(ch, c.a.cfg, c.q); err != nil {
		return fail(err)
	}
	deliveries, err := ch.Consume(c.q.Name, c.tag, false, false, false, false, nil)
	if err != nil {
		return fail(err)
	}
	return conn, ch, deliveries, nil
}

// run hands deliveries to deliver and reconnects when the connection dies,
// until Cancel; then it waits for Close to release the connection, so that
// deliveries still outstanding can be acked until then.
func (c *amqpConsumer) run(conn *amqp.Connection, ch *amqp.Channel, deliveries <-chan amqp.Delivery) {
	defer close(c.done)
	defer c.once1.Do(func() { close(c.cancelled) })
	var bo backoff
	for {
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
		lost := c.consume(ch, deliveries, closed, chClosed)
		if !lost {
			// Cancelled: no more deliver calls. Keep the connection for
			// acks of outstanding deliveries until Close.
			c.once1.Do(func() { close(c.cancelled) })
			<-c.closeReq
			_ = conn.Close()
			drain(closed, nil, chClosed)
			return
		}
		_ = conn.Close()
		go drain(closed, nil, chClosed)
		for {
			select {
			case <-c.cancel:
				return
			case <-time.After(bo.next()):
			}
			var err error
			conn, ch, deliveries, err = c.connect()
			if err != nil {
				c.a.cfg.log.Warn("events: consumer reconnect failed; retrying", "queue", c.q.Name, "error", err)
				continue
			}
			bo.reset()
			c.a.cfg.log.Info("events: consumer back; queue and bindings re-declared", "queue", c.q.Name)
			break
		}
	}
}

// consume reads deliveries until the connection is lost (true) or Cancel
// (false). It never blocks on anything but deliver, which the Bus keeps
// short, so the library's frames keep flowing while handlers run.
func (c *amqpConsumer) consume(ch *amqp.Channel, deliveries <-chan amqp.Delivery, closed, chClosed chan *amqp.Error) bool {
	for {
		select {
		case <-c.cancel:
			// basic.cancel; what the library already holds for us goes
			// back to the queue.
			_ = ch.Cancel(c.tag, false)
			for d := range deliveries {
				_ = d.Reject(true)
			}
			return false
		case d, ok := <-deliveries:
			if !ok {
				// The broker cancelled us (queue deleted) or the
				// connection died: start over on a new connection.
				c.a.cfg.log.Warn("events: consumer lost its deliveries; reconnecting", "queue", c.q.Name)
				return true
			}
			c.deliver(&amqpDelivery{d: d})
		case err := <-closed:
			c.a.cfg.log.Warn("events: consumer connection lost; reconnecting", "queue", c.q.Name, "error", err)
			return true
		case err := <-chClosed:
			c.a.cfg.log.Warn("events: consumer channel closed; reconnecting", "queue", c.q.Name, "error", err)
			return true
		}
	}
}

func (c *amqpConsumer) Cancel() error {
	c.once2.Do(func() { close(c.cancel) })
	select {
	case <-c.cancelled:
	case <-c.done:
	}
	return nil
}

func (c *amqpConsumer) Close() error {
	_ = c.Cancel()
	c.once3.Do(func() { close(c.closeReq) })
	<-c.done
	c.a.mu.Lock()
	delete(c.a.consumers, c)
	c.a.mu.Unlock()
	return nil
}

type amqpDelivery struct{ d amqp.Delivery }

func (d *amqpDelivery) Body() []byte        { return d.d.Body }
func (d *amqpDelivery) ContentType() string { return d.d.ContentType }
func (d *amqpDelivery) Ack() error          { return d.d.Ack(false) }
func (d *amqpDelivery) Reject(requeue bool) error {
	return d.d.Reject(requeue)
}
