package codec

import "sync"

// Big messages are encoded into buffers kept in pools by size class, when
// the caller can say when the buffer is free again (MarshalReply's
// release): a server answering with megabytes would otherwise take a fresh
// buffer from the heap for every reply, and the garbage collector would
// run every few replies to take them back.

// bigClasses are the capacities of the pooled buffers: powers of two and
// the halfway points between them, so that a buffer is at most a third
// bigger than what it holds. Messages beyond the last are not pooled.
var bigClasses = func() []int {
	var c []int
	for n := 2 * maxPooledBuffer; n <= 8<<20; n *= 2 {
		c = append(c, n, n+n/2)
	}
	return c
}()

var bigPools = make([]sync.Pool, len(bigClasses))

// bigClass returns the index of the smallest class holding n bytes, or -1.
func bigClass(n int) int {
	for i, c := range bigClasses {
		if n <= c {
			return i
		}
	}
	return -1
}

// getBig returns an empty buffer with room for n bytes.
func getBig(n int) []byte {
	i := bigClass(n)
	if i < 0 {
		return make([]byte, 0, n)
	}
	if b, ok := bigPools[i].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, bigClasses[i])
}

// putBig gives b back to its class's pool, if it came from one.
func putBig(b []byte) {
	if i := bigClass(cap(b)); i >= 0 && bigClasses[i] == cap(b) {
		b = b[:0]
		bigPools[i].Put(&b)
	}
}

// room makes room in e.buf for n more bytes, taking a pooled big buffer
// when e.big allows it and e.buf would outgrow the state's own. Callers
// call it before they append a big string or []byte.
func (e *encState) room(n int) {
	if !e.big || cap(e.buf)-len(e.buf) >= n || len(e.buf)+n <= maxPooledBuffer {
		return
	}
	nb := append(getBig(len(e.buf)+n), e.buf...)
	if e.own == nil {
		e.own = e.buf[:0] // the state's buffer, kept for the next message
	} else {
		putBig(e.buf)
	}
	e.buf = nb
}
