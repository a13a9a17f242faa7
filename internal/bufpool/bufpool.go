// Package bufpool keeps big byte buffers for reuse, in pools by size
// class, for the code that knows when a buffer is free again: the codec's
// encoder (a reply, once written) and the transport's reader (a message,
// once its receiver has decoded it). A buffer nobody gives back is
// garbage collected as any other; one taken from a pool is not zeroed, so
// it must be written before it is read.
//
// Without them, every message of a megabyte took a fresh buffer from the
// heap, which the runtime zeroes first (a pass as long as the copy that
// follows), and the garbage collector ran every few messages to take them
// back.
package bufpool

import (
	"math/bits"
	"sync"
)

// Min is the smallest pooled capacity: smaller buffers are cheap to
// allocate, and not worth a pool's bookkeeping.
const Min = 32 << 10

// Max is the largest pooled capacity; bigger buffers are allocated and
// left to the garbage collector.
const Max = 16 << 20

// Between powers of two the classes are steps of an eighth, so that a
// buffer is at most an eighth bigger than what it holds: a buffer nobody
// gives back costs that much more than an exact allocation.
const (
	stepsLog = 3
	steps    = 1 << stepsLog
	minLog   = 15 // Min == 1<<minLog
	maxLog   = 24 // Max == 1<<maxLog
)

// pools holds Min's class, then steps classes per doubling up to Max.
var pools [1 + (maxLog-minLog)*steps]sync.Pool

// class returns the index and capacity of the smallest class holding n
// bytes; ok is false for n over Max.
func class(n int) (i, size int, ok bool) {
	if n <= Min {
		return 0, Min, true
	}
	if n > Max {
		return 0, 0, false
	}
	p := bits.Len(uint(n-1)) - 1 // 1<<p < n <= 1<<(p+1)
	step := 1 << (p - stepsLog)
	k := (n - 1<<p + step - 1) / step // 1..steps
	return 1 + (p-minLog)*steps + k - 1, 1<<p + k*step, true
}

// Get returns an empty buffer with room for n bytes, pooled when n is at
// most Max.
func Get(n int) []byte {
	i, size, ok := class(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if b, ok := pools[i].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// Put gives b back for a later Get, if its capacity is a class's (it came
// from Get). The caller must not use b afterwards.
func Put(b []byte) {
	if i, size, ok := class(cap(b)); ok && size == cap(b) {
		b = b[:0]
		pools[i].Put(&b)
	}
}
