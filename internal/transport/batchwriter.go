package transport

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
)

// bigPiece: a header or body frame at least this long is not copied into
// the batch buffer but written from where it lies, by one vectored write
// (writev) with the framing around it. Copying a 1 MiB body into a 32 KiB
// buffer cost a copy of 32 KiB and an extra system call per message, and
// at 64 KiB, half the body.
const bigPiece = 8 << 10

// batchWriter frames a batch of messages for one vectored write: small
// frames are copied into buf, big ones are referenced in place. It holds
// the batch's payloads only until Flush.
type batchWriter struct {
	dst   io.Writer
	buf   []byte      // framing and small frames; cap writeBufferSize
	start int         // buf[start:] is not yet in vecs
	vecs  net.Buffers // the pieces to write, in order
	n     int         // bytes in vecs
	err   error       // sticky: the first write error
	// out is what Flush hands to WriteTo, which consumes its receiver:
	// a field, so that it need not escape to the heap on every flush.
	out net.Buffers
	// written: the release functions of the messages added (outMsg),
	// called by Flush once their bytes are no longer referenced.
	written []func()
}

var writers = sync.Pool{New: func() any { return newBatchWriter(nil) }}

func newBatchWriter(dst io.Writer) *batchWriter {
	return &batchWriter{dst: dst, buf: make([]byte, 0, writeBufferSize)}
}

// Reset points w at dst, empty.
func (w *batchWriter) Reset(dst io.Writer) {
	clear(w.vecs[:cap(w.vecs)]) // let the payloads go
	clear(w.written)
	w.dst, w.buf, w.start, w.vecs, w.n, w.err = dst, w.buf[:0], 0, w.vecs[:0], 0, nil
	w.written = w.written[:0]
}

// Buffered returns the bytes waiting for Flush.
func (w *batchWriter) Buffered() int { return w.n + len(w.buf) - w.start }

func (w *batchWriter) frameHeader(flags byte, n int) {
	if n > 255 {
		w.buf = append(w.buf, flags|flagLong)
		w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(n))
		return
	}
	w.buf = append(w.buf, flags, byte(n))
}

// piece adds a frame's content: copied when small, referenced when big.
func (w *batchWriter) piece(p []byte) {
	if len(p) < bigPiece {
		w.buf = append(w.buf, p...)
		return
	}
	if w.start < len(w.buf) {
		w.vecs = append(w.vecs, w.buf[w.start:len(w.buf):len(w.buf)])
		w.n += len(w.buf) - w.start
		w.start = len(w.buf)
	}
	w.vecs = append(w.vecs, p)
	w.n += len(p)
}

// Flush writes everything added since the last Flush, with one write, or
// one vectored write for up to 1,024 pieces when big ones are referenced,
// and returns the first write error.
func (w *batchWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.start < len(w.buf) {
		w.vecs = append(w.vecs, w.buf[w.start:])
	}
	switch len(w.vecs) {
	case 0:
	case 1:
		// One buffer (every batch without a big piece): write(2), not
		// writev(2). Linux copies a single user buffer through a faster
		// path than an iovec array, a difference measured per call in
		// the README's speed section.
		_, w.err = w.dst.Write(w.vecs[0])
	default:
		w.out = w.vecs // WriteTo consumes its receiver; keep w.vecs' array
		_, w.err = w.out.WriteTo(w.dst)
		w.out = nil
	}
	clear(w.vecs)
	for i, release := range w.written {
		release()
		w.written[i] = nil
	}
	w.written = w.written[:0]
	if cap(w.buf) > 2*writeBufferSize { // a huge id or subject grew it
		w.buf = make([]byte, 0, writeBufferSize)
	}
	w.buf, w.start, w.vecs, w.n = w.buf[:0], 0, w.vecs[:0], 0
	return w.err
}

// writeMessage adds the five frames of m to w, flushing first when the
// buffer is full. Errors stick in w and come out of the next Flush. We
// frame messages ourselves, into a batch flushed once, because zmq4's
// Conn.SendMsg writes every frame header and body with its own system
// call.
func writeMessage(w *batchWriter, m *outMsg) {
	if len(w.buf) >= writeBufferSize-64 {
		w.Flush() //nolint:errcheck // sticky; the batch's last Flush reports it
	}
	w.frameHeader(flagMore, len(m.id))
	w.buf = append(w.buf, m.id...)
	w.frameHeader(flagMore, len(m.typ))
	w.buf = append(w.buf, m.typ...)
	w.frameHeader(flagMore, len(m.subject))
	w.buf = append(w.buf, m.subject...)
	w.frameHeader(flagMore, len(m.headers))
	w.piece(m.headers)
	w.frameHeader(0, len(m.body))
	w.piece(m.body)
	if m.release != nil {
		w.written = append(w.written, m.release)
	}
}
