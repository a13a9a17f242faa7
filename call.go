package lymph

import (
	"context"
	"sync"
	"time"

	"github.com/lymphgo/lymph/internal/bufpool"
	"github.com/lymphgo/lymph/internal/transport"
)

// syncCall is the waiter of a synchronous call (Proxy.Call). Nobody but the
// caller ever sees it, so it is pooled with its channel and timer: a call
// that waits for its reply costs no allocation for the waiting.
type syncCall struct {
	done  chan struct{} // one signal per call, from complete
	timer *time.Timer
	reply Message
	err   error
}

var syncCalls = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &syncCall{done: make(chan struct{}, 1), timer: t}
}}

func (s *syncCall) complete(in transport.Incoming, err error) {
	if err != nil {
		s.err = err
	} else {
		s.reply.setFrom(&in)
	}
	s.done <- struct{}{}
}

// wait waits for the reply until d passes or ctx ends. Whoever takes the
// call out of the pending table completes it; when the timer or ctx loses
// that race, the reply is on its way and is waited for, so a syncCall goes
// back to the pool with nothing pending.
func (s *syncCall) wait(ctx context.Context, c *Container, id, subject string, d time.Duration) error {
	s.timer.Reset(d)
	defer s.timer.Stop()
	var err error
	select {
	case <-s.done:
		return s.err
	case <-s.timer.C:
		err = noReplyError(subject, d)
	case <-ctx.Done():
		err = waitError(subject, ctx.Err())
	}
	if _, ok := c.pending.take(id); ok {
		return err
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
