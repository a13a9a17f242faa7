package transport

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSendDirectKeepsOrder: a sender that finds its connection idle writes
// its message itself, others queue for the writer while it writes; each
// goroutine's messages still arrive all, once and in the order it sent
// them, through spells of one sender at a time, concurrent bursts, and
// messages too big to be written directly.
func TestSendDirectKeepsOrder(t *testing.T) {
	ctx := testContext(t)
	in := newInbox()
	receiver := listen(t, Options{Handler: in.handler})
	sender := listen(t, Options{})

	const senders, each = 8, 200
	send := func(who, seq int) {
		size := 8
		if seq%50 == 7 {
			size = maxDirect + 1 // through the writer
		}
		body := make([]byte, size)
		binary.BigEndian.PutUint32(body, uint32(who))
		binary.BigEndian.PutUint32(body[4:], uint32(seq))
		require.NoError(t, sender.Send(ctx, receiver.Endpoint(), NewID(), TypeREP, "x", testHeaders, body))
	}
	total := 0
	for round := range 3 {
		for seq := range each { // one at a time: direct writes
			send(senders, round*each+seq)
		}
		total += each
		var wg sync.WaitGroup
		for who := range senders { // concurrent: queued and batched
			wg.Go(func() {
				for seq := range each {
					send(who, round*each+seq)
				}
			})
		}
		total += senders * each
		// Drain as we go: the inbox holds 1,024.
		next := map[int]int{}
		for range each + senders*each {
			m := in.next(t)
			who, seq := int(binary.BigEndian.Uint32(m.Body)), int(binary.BigEndian.Uint32(m.Body[4:]))
			require.Equal(t, round*each+next[who], seq, "sender %d's messages out of order", who)
			next[who]++
		}
		wg.Wait()
	}
	assert.Equal(t, uint64(total), sender.Stats().MessagesOut)
	assert.Zero(t, sender.Stats().Dropped.Unsent)
}
