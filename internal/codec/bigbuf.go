package codec

import "github.com/lymphgo/lymph/internal/bufpool"

// Big messages are encoded into pooled buffers (internal/bufpool) when the
// caller can say when the buffer is free again (MarshalReply's release): a
// server answering with megabytes would otherwise take a fresh buffer from
// the heap for every reply, and the garbage collector would run every few
// replies to take them back.

// room makes room in e.buf for n more bytes, taking a pooled big buffer
// when e.big allows it and e.buf would outgrow the state's own. Callers
// call it before they append a big string or []byte.
func (e *encState) room(n int) {
	if !e.big || cap(e.buf)-len(e.buf) >= n || len(e.buf)+n <= maxPooledBuffer {
		return
	}
	nb := append(bufpool.Get(len(e.buf)+n), e.buf...)
	if e.own == nil {
		e.own = e.buf[:0] // the state's buffer, kept for the next message
	} else {
		bufpool.Put(e.buf)
	}
	e.buf = nb
}
