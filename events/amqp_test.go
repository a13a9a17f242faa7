package events

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lymphgo/lymph/internal/codec"
	"github.com/stretchr/testify/assert"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

func TestAMQPConformance(t *testing.T) {
	url := requireAMQP(t)
	testConformance(t, backendUnderTest{
		open: func(t *testing.T) *Bus { return mustOpen(t, url) },
		inject: func(t *testing.T, eventType string, body []byte, ct string) {
			rawPublish(t, url, "lymph", eventType, amqp.Publishing{ContentType: ct, Body: body})
		},
	})
}

// rawPublish publishes one message with a plain amqp091-go connection.
func rawPublish(t testing.TB, url, exchange, key string, p amqp.Publishing) {
	t.Helper()
	conn, err := amqp.Dial(url)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, key, false, false, p)
	require.NoError(t, err)
	require.True(t, dc.Wait(), "the broker confirmed the raw publish")
}

// rawChannel opens a plain amqp091-go channel for checks outside the Bus.
func rawChannel(t testing.TB, url string) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	return conn, ch
}

// TestAMQPLayoutIsLymphs re-declares what the Bus declared with Python
// lymph's exact flags (kombu's declarations): any difference would be a 406
// here, as it would be for Python.
func TestAMQPLayoutIsLymphs(t *testing.T) {
	url := requireAMQP(t)
	ctx := ctxFor(t)
	b := mustOpen(t, url)
	typ, queue := randomName("ev"), randomName("svc-on_ev")
	h, got := collect()
	subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
	bsub := subscribe(t, b, Subscription{Queue: queue + "b", Types: []string{typ}, Broadcast: true}, func(context.Context, *Event) error { return nil })

	_, ch := rawChannel(t, url)
	require.NoError(t, ch.ExchangeDeclare("lymph", "topic", true, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("lymph_waiting", "direct", true, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("lymph_retry", "direct", true, false, false, false, nil))
	ha := amqp.Table{"x-ha-policy": "all"}
	_, err := ch.QueueDeclare(queue, false, false, false, false, ha)
	require.NoError(t, err, "the shared queue has lymph's flags")
	_, err = ch.QueueDeclare(bsub.Queue(), false, true, false, false, ha)
	require.NoError(t, err, "the broadcast queue has lymph's flags")

	// The check can fail: a durable declaration of the shared queue is a 406.
	_, err = ch.QueueDeclare(queue, true, false, false, false, ha)
	var aerr *amqp.Error
	require.ErrorAs(t, err, &aerr)
	assert.Equal(t, amqp.PreconditionFailed, aerr.Code)

	// The message's properties and body, read raw from a queue of our own.
	_, ch = rawChannel(t, url)
	probe := randomName("probe")
	_, err = ch.QueueDeclare(probe, false, true, true, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(probe, typ, "lymph", false, nil))
	deliveries, err := ch.Consume(probe, "", true, true, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, b.Emit(ctx, typ, map[string]any{"k": "v"}, WithTraceID("tr"), WithSource("me")))
	d := recv(t, deliveries, "the raw message")
	recv(t, got, "the handler's copy")
	assert.Equal(t, ContentType, d.ContentType)
	assert.Equal(t, "binary", d.ContentEncoding)
	assert.Equal(t, uint8(2), d.DeliveryMode)
	assert.Equal(t, uint8(0), d.Priority)
	assert.Equal(t, typ, d.RoutingKey)
	assert.Equal(t, "lymph", d.Exchange)
	var m map[string]any
	require.NoError(t, codec.Unmarshal(d.Body, &m), "the body is a msgpack map with str keys")
	assert.Equal(t, map[string]any{"type": typ, "headers": map[string]any{"trace_id": "tr"}, "body": map[string]any{"k": "v"}, "source": "me"}, m)

	// Delay: lymph's wait queue, with lymph's arguments, and not bound to
	// lymph_waiting (Python's delayed publishes would duplicate into it).
	require.NoError(t, b.Emit(ctx, typ, nil, Delay(250*time.Millisecond)))
	recv(t, got, "the delayed event")
	wait := typ + "-wait_250"
	_, err = ch.QueueDeclare(wait, false, false, false, false, amqp.Table{
		"x-dead-letter-exchange": "lymph", "x-dead-letter-routing-key": typ, "x-message-ttl": int32(250), "x-ha-policy": "all",
	})
	require.NoError(t, err, "the wait queue has lymph's name and arguments")
	rawPublish(t, url, "lymph_waiting", typ, amqp.Publishing{ContentType: ContentType, Body: mustMarshal(t, typ)})
	q, err := ch.QueueDeclarePassive(wait, false, false, false, false, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, q.Messages, "Go's wait queue is not bound to lymph_waiting")
	_, _ = ch.QueueDelete(wait, false, false, false)
}

// TestAMQPReconnectAfterRestart stops and starts a real broker under a
// running subscriber: its queue and bindings come back, and Emit works
// again, without anyone calling anything. The broker restarted is a private
// one, started for this test with .ci/rabbitmq.sh (as the registry's
// ZooKeeper restart test does): restarting the shared one would break the
// tests of other packages running at the same time.
func TestAMQPReconnectAfterRestart(t *testing.T) {
	requireAMQP(t) // the RabbitMQ tests are asked for (and not -short)
	url, script := privateRabbitMQ(t)
	ctx := ctxFor(t)
	b := mustOpen(t, url)
	typ, queue := randomName("ev"), randomName("svc-on_ev")
	h, got := collect()
	hb, gotB := collect()
	subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
	subscribe(t, b, Subscription{Queue: queue + "b", Types: []string{typ}, Broadcast: true}, hb)
	require.NoError(t, b.Emit(ctx, typ, numbered{N: 1}))
	recv(t, got, "the event before the restart")
	recv(t, gotB, "the broadcast event before the restart")

	// While the broker is down, an emit fails rather than losing the
	// event silently.
	script("stop")
	down, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := b.Emit(down, typ, numbered{N: 9})
	cancel()
	require.ErrorIs(t, err, ErrNotConfirmed, "emit with the broker down")
	script("start")

	// Non-durable queues died with the broker: events emitted before the
	// consumer re-declared its queue are unroutable, as with Python. Emit
	// until one arrives on both queues.
	deadline := time.Now().Add(waitLong)
	var okShared, okBroadcast bool
	for !(okShared && okBroadcast) {
		require.True(t, time.Now().Before(deadline), "no event after the restart (shared %v, broadcast %v)", okShared, okBroadcast)
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = b.Emit(ectx, typ, numbered{N: 2})
		cancel()
		select {
		case <-got:
			okShared = true
		case <-gotB:
			okBroadcast = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	require.NoError(t, b.Emit(ctx, typ, numbered{N: 3}), "emit works after the restart")
}

// privateRabbitMQ starts a broker of the test's own with .ci/rabbitmq.sh (on
// a free port; its Erlang distribution port is 20000 above), deletes it at
// the end, and returns its URL and a function that runs the script's
// commands (stop, start, restart) on it.
func privateRabbitMQ(t *testing.T) (url string, script func(cmd string)) {
	t.Helper()
	var port int
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port+20000 < 65536 {
			break
		}
	}
	// Not t.TempDir: Debian's broker runs as the rabbitmq user, which must
	// reach the directory.
	dir := fmt.Sprintf("%s/lymph-rabbitmq-test-%d", os.TempDir(), port)
	script = func(cmd string) {
		t.Helper()
		c := exec.Command("bash", "../.ci/rabbitmq.sh", cmd)
		c.Env = append(os.Environ(), "LYMPH_RMQ_DIR="+dir, fmt.Sprintf("LYMPH_RMQ_PORT=%d", port))
		out, err := c.CombinedOutput()
		require.NoError(t, err, "`.ci/rabbitmq.sh %s` failed:\n%s", cmd, out)
		t.Logf("rabbitmq.sh %s: %s", cmd, out)
	}
	script("start")
	t.Cleanup(func() { script("clean") })
	return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port), script
}

// TestAMQPQueueDeletedUnderConsumer deletes a running subscriber's queue
// behind its back (an operator, or a broker-side cancel): the consumer
// re-declares it and its bindings, and events flow again.
func TestAMQPQueueDeletedUnderConsumer(t *testing.T) {
	url := requireAMQP(t)
	ctx := ctxFor(t)
	b := mustOpen(t, url)
	typ, queue := randomName("ev"), randomName("svc-on_ev")
	h, got := collect()
	subscribe(t, b, Subscription{Queue: queue, Types: []string{typ}}, h)
	_, ch := rawChannel(t, url)
	_, err := ch.QueueDelete(queue, false, false, false)
	require.NoError(t, err)
	deadline := time.Now().Add(waitLong)
	for {
		require.True(t, time.Now().Before(deadline), "no event after the queue was deleted")
		require.NoError(t, b.Emit(ctx, typ, numbered{N: 1}))
		select {
		case <-got:
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestAMQPOpenFails(t *testing.T) {
	url := requireAMQP(t)
	// Bad credentials fail at once (no retrying what cannot succeed), as
	// does a bad URL; an unreachable broker is retried for 30 s.
	_, err := Open(strings.Replace(url, "guest:guest", "guest:wrong", 1))
	assert.Error(t, err)
	_, err = Open("amqp://[::1")
	assert.Error(t, err)
}
