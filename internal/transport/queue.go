package transport

import (
	"math/bits"
	"sync"
)

// Queue slices are pooled by capacity class (16 << i entries), so that a
// busy connection's queue grows and is swapped without allocating in the
// steady state, while an idle one keeps at most maxSpare entries: what
// bursts leave behind goes back to the pools, and a GC empties those.
const (
	minQueueCap  = 16
	queueClasses = 13 // up to 16 << 12 = 65,536 entries
	maxPooledCap = minQueueCap << (queueClasses - 1)
)

var queuePools [queueClasses]sync.Pool // of *[]outMsg

// queueClass returns the class whose capacity is at least n.
func queueClass(n int) int {
	if n <= minQueueCap {
		return 0
	}
	return bits.Len(uint(n-1)) - bits.Len(uint(minQueueCap-1))
}

// growQueue returns q with room for at least one more message, its
// contents kept; q itself goes back to its pool.
func growQueue(q []outMsg) []outMsg {
	want := max(minQueueCap, 2*cap(q))
	var nq []outMsg
	if want <= maxPooledCap {
		c := queueClass(want)
		if p, _ := queuePools[c].Get().(*[]outMsg); p != nil {
			nq = (*p)[:0]
		} else {
			nq = make([]outMsg, 0, minQueueCap<<c)
		}
	} else {
		nq = make([]outMsg, 0, want)
	}
	nq = append(nq, q...)
	putQueue(q)
	return nq
}

// putQueue clears q (letting its payloads go) and pools it, if it is of
// a pooled class.
func putQueue(q []outMsg) {
	if cap(q) < minQueueCap || cap(q) > maxPooledCap || cap(q)&(cap(q)-1) != 0 {
		return
	}
	poolQueue(q[:0])
}

// poolQueue is putQueue's second half, apart because taking q's address
// moves q to the heap on entry: putQueue's early returns stay free.
func poolQueue(q []outMsg) {
	clear(q[:cap(q)])
	queuePools[queueClass(cap(q))].Put(&q)
}
