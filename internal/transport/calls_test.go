package transport

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCallGaugeActive: a connection polls with a few calls in progress,
// or just after one completed; not with none for a while, nor with more
// than maxPolledCalls.
func TestCallGaugeActive(t *testing.T) {
	const budget = time.Hour // "just completed" lasts the whole test
	var g callGauge
	assert.False(t, g.active(time.Nanosecond), "no call yet")
	g.sent(TypeREQ)
	assert.True(t, g.active(budget), "one call out")
	for range maxPolledCalls - 1 {
		g.received(TypeREQ)
	}
	assert.True(t, g.active(budget), "maxPolledCalls in progress")
	g.sent(TypeREQ)
	assert.False(t, g.active(budget), "more than maxPolledCalls in progress")
	g.received(TypeREP)
	assert.True(t, g.active(budget))
	for range maxPolledCalls {
		g.sent(TypeREP)
		g.received(TypeREP)
	}
	assert.True(t, g.active(budget), "none in progress, one just completed")
	time.Sleep(time.Millisecond) // the clock moves past the last completion
	assert.False(t, g.active(time.Nanosecond), "none in progress, none recently")
}
