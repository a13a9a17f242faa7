package transport

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQueueClass(t *testing.T) {
	for _, tc := range []struct{ n, class int }{
		{0, 0}, {1, 0}, {16, 0}, {17, 1}, {32, 1}, {33, 2}, {1024, 6}, {65536, 12},
	} {
		assert.Equal(t, tc.class, queueClass(tc.n), "n=%d", tc.n)
	}
}

// growQueue keeps the contents and at least doubles the room; putQueue
// lets the payloads go.
func TestGrowQueue(t *testing.T) {
	var q []outMsg
	for i := range 100 {
		if len(q) == cap(q) {
			q = growQueue(q)
		}
		q = append(q, outMsg{id: string(rune('a' + i%26))})
	}
	assert.Len(t, q, 100)
	assert.Equal(t, 128, cap(q))
	for i, m := range q {
		assert.Equal(t, string(rune('a'+i%26)), m.id)
	}
	putQueue(q)
	for _, m := range q[:cap(q)] {
		assert.Empty(t, m.id, "a pooled slice pins a payload")
	}
}
