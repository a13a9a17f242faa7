package events

import (
	"context"
	"testing"

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
