package lymph

import (
	"context"
	"sync"

	"github.com/lymphgo/lymph/internal/bufpool"
	"github.com/lymphgo/lymph/internal/transport"
)

// syncCall is the waiter of a synchronous call (Proxy.Call). Nobody but the
// caller ever sees it, so it is pooled with its channel: a call that waits
// for its reply costs no allocation for the waiting. Its deadline is the
// pending table's (pendingCalls.sweep).
type syncCall struct {
	done  chan struct{} // one signal per call, from complete
	reply Message
	err   error
}

var syncCalls = sync.Pool{New: func() any {
	return &syncCall{done: make(chan struct{}, 1)}
}}

func (s *syncCall) complete(in transport.Incoming, err error) {
	if err != nil {
		s.err = err
	} else {
		s.reply.setFrom(&in)
	}
	s.done <- struct{}{}
}

// wait waits for the reply, or for the pending table's clock to expire the
// call, or for ctx to end. Whoever takes the call out of the pending table
// completes it; when ctx loses that race, the reply (or the expiry) is on
// its way and is waited for, so a syncCall goes back to the pool with
// nothing pending.
func (s *syncCall) wait(ctx context.Context, c *Container, id, subject string) error {
	ended := ctx.Done()
	if ended == nil { // context.Background: nothing but the call ends the wait
		<-s.done
		return s.err
	}
	select {
	case <-s.done:
		return s.err
	case <-ended:
	}
	if _, ok := c.pending.take(id); ok {
		return waitError(subject, ctx.Err())
	}
	<-s.done
	return s.err
}

// release puts the waiter back in the pool, and with it the reply's
// buffer when the transport took it from bufpool (a big reply): decoding
// copied everything out of it, and nobody else saw the reply.
func (s *syncCall) release() {
	if b := s.reply.pooled; b != nil {
		bufpool.Put(b)
	}
	s.err = nil
	s.reply.setFrom(&transport.Incoming{})
	syncCalls.Put(s)
}
