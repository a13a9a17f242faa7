package transport

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// inboundReadBuffer is every connection's read buffer: accepted ones carry
// messages, and dialed ones the replies of peers that share them
// (shared.go).
const inboundReadBuffer = 32 << 10

// Buffers are pooled: a connection holds one only while it has bytes
// buffered or is reading, never while its reader is parked waiting for the
// peer, so that idle connections (thousands of clients that connected and
// went quiet) cost no buffer at all.
var inboundBufs = sync.Pool{New: func() any { b := make([]byte, inboundReadBuffer); return &b }}

// readBuffer is a buffered reader of one TCP connection, like bufio.Reader
// but with a buffer it borrows from a pool: on Unix it gives the buffer back
// whenever a read finds the socket empty and the buffer drained, just before
// the goroutine parks in the network poller, and takes one again when the
// socket becomes readable. A busy connection keeps its buffer (its reads find
// data at once); a quiet one holds none. It can busy-poll too (poller).
type readBuffer struct {
	c    *net.TCPConn
	pool *sync.Pool
	size int     // of the pool's buffers
	buf  *[]byte // nil while parked or before the first read
	r, w int     // read and write offsets in *buf

	poll *poller       // nil: never busy-poll
	held *atomic.Int64 // counts buffers held, for Stats; may be nil
	sys  sysReader
}

func newReadBuffer(c *net.TCPConn, held *atomic.Int64) *readBuffer {
	b := &readBuffer{c: c, pool: &inboundBufs, size: inboundReadBuffer, held: held}
	b.sys.init(b)
	return b
}

// Buffered returns the number of bytes that can be read without a system
// call.
func (b *readBuffer) Buffered() int { return b.w - b.r }

// fill reads at least one byte into the (empty) buffer.
func (b *readBuffer) fill() error {
	b.r, b.w = 0, 0
	n, err := b.sys.read(nil)
	b.w = n
	return err
}

// Read reads up to len(p) bytes: from the buffer when it holds any, else
// straight into p when p is at least as big as a buffer, else through one
// buffer fill.
func (b *readBuffer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= b.size {
			return b.sys.read(p)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.r += n
	return n, nil
}

// ReadByte reads one byte.
func (b *readBuffer) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := (*b.buf)[b.r]
	b.r++
	return c, nil
}

// Discard skips the next n bytes, reading them into the buffer and
// dropping them: skipping costs no memory whatever n is.
func (b *readBuffer) Discard(n int) (int, error) {
	done := 0
	for done < n {
		if b.r == b.w {
			if err := b.fill(); err != nil {
				return done, noEOF(err)
			}
		}
		k := min(n-done, b.w-b.r)
		b.r += k
		done += k
	}
	return done, nil
}

// take borrows a buffer if none is held.
func (b *readBuffer) take() []byte {
	if b.buf == nil {
		b.buf = b.pool.Get().(*[]byte)
		if b.held != nil {
			b.held.Add(1)
		}
	}
	return *b.buf
}

// release gives the buffer back when it holds nothing unread: called as
// the reader is about to park.
func (b *readBuffer) release() {
	if b.buf != nil && b.r == b.w {
		b.pool.Put(b.buf)
		b.buf = nil
		if b.held != nil {
			b.held.Add(-1)
		}
		b.r, b.w = 0, 0
	}
}

// drop gives the buffer back whatever it holds: the connection is done.
// Only the reading goroutine may call it.
func (b *readBuffer) drop() {
	b.r = b.w
	b.release()
}

// discardAll reads and drops everything until the stream ends, returning
// the error that ended it (io.EOF for a clean close).
func (b *readBuffer) discardAll() error {
	for {
		if err := b.fill(); err != nil {
			b.drop()
			return err
		}
	}
}

var _ io.ByteReader = (*readBuffer)(nil)
