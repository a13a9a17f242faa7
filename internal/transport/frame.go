package transport

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/lymphgo/lymph/internal/bufpool"
)

// ZMTP 3 frame flags (https://rfc.zeromq.org/spec/23/, "Framing").
const (
	flagMore    = 0x01 // another frame of the same message follows
	flagLong    = 0x02 // the size is 8 bytes, big-endian; else 1 byte
	flagCommand = 0x04 // a command frame (handshake, PING...), not a message
)

// maxScratch is the largest per-connection scratch buffer kept between
// messages; a connection that once received a huge header frame must not
// pin that memory for its whole life.
const maxScratch = 64 << 10

// errProtocol reports a byte stream that is not ZMTP 3 after the handshake.
var errProtocol = errors.New("transport: ZMTP protocol error")

// msgReader decodes lymph messages from a ZMTP byte stream after the
// handshake. It reads the frames itself instead of going through zmq4's
// Conn.read, because that one allocates whatever size a frame header
// declares before reading a byte of it (a 4 GiB header from anyone who can
// connect is an out-of-memory crash), and allocates every frame separately.
// Here each size is checked against the limit before any allocation, and a
// message costs two allocations: one string for id and subject, one slice
// for headers and body.
//
// A message over the limit whose id, type and subject frames came within
// it is read past without being stored (its headers and body are
// discarded) and returned with TooLarge set, so that the request can be
// refused at once instead of the caller waiting out its deadline; one that
// declares more than oversizeFactor times the limit in all, or whose first
// three frames are already over it, ends the connection.
type msgReader struct {
	r   byteReader
	max uint64
	buf []byte // scratch for id, type, subject, headers
	str []byte // scratch to build the id+subject string
}

// oversizeFactor bounds what is read past for an oversized message: beyond
// oversizeFactor × MaxMessageSize the peer is taken for hostile or broken
// and disconnected.
const oversizeFactor = 4

// byteReader is what msgReader reads from: a readBuffer, or a bufio.Reader
// in tests.
type byteReader interface {
	io.Reader
	io.ByteReader
	Discard(n int) (int, error)
}

func newMsgReader(r byteReader, max int64) *msgReader {
	return &msgReader{r: r, max: uint64(max)}
}

// frameHeader reads one frame's flags and size.
func (m *msgReader) frameHeader() (flags byte, size uint64, err error) {
	if flags, err = m.r.ReadByte(); err != nil {
		return 0, 0, err
	}
	if flags&flagLong == 0 {
		b, err := m.r.ReadByte()
		return flags, uint64(b), noEOF(err)
	}
	// Byte by byte: a [8]byte handed to io.ReadFull through the
	// byteReader interface would escape, an allocation per long frame.
	for range 8 {
		b, err := m.r.ReadByte()
		if err != nil {
			return 0, 0, noEOF(err)
		}
		size = size<<8 | uint64(b)
	}
	return flags, size, nil
}

// noEOF turns an EOF in the middle of a frame into ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// read reads the next message into in (all but Sender). A message that was
// read whole but must be dropped returns its dropReason and a nil error; an
// oversized one that can be refused comes back with in.TooLarge set (see
// msgReader). An error means the stream cannot be read further (I/O error,
// a message far over the size limit, a protocol error) and the connection
// must be closed.
func (m *msgReader) read(in *Incoming) (dropReason, error) {
	var (
		nframes  int
		total    uint64
		ends     [4]int // where id, type, subject, headers end in m.buf
		oversize bool   // over the limit: headers and body are skipped
	)
	absurd := oversizeFactor * m.max
	if cap(m.buf) > maxScratch || cap(m.str) > maxScratch {
		m.buf, m.str = nil, nil
	}
	m.buf = m.buf[:0]
	*in = Incoming{}
	for {
		flags, size, err := m.frameHeader()
		if err != nil {
			if nframes > 0 {
				err = noEOF(err)
			}
			return dropNone, err
		}
		if flags&flagCommand != 0 {
			// A command between messages (a ZMTP 3.1 PING from a peer
			// that ignores our 3.0 greeting, say): skip it. Inside a
			// message, or with MORE set, it is not ZMTP.
			if nframes != 0 || flags&flagMore != 0 {
				return dropNone, fmt.Errorf("%w: command frame inside a message", errProtocol)
			}
			if size > m.max {
				return dropTooLarge, fmt.Errorf("%w: command frame of %d bytes", ErrTooLarge, size)
			}
			if _, err := m.r.Discard(int(size)); err != nil {
				return dropNone, noEOF(err)
			}
			continue
		}
		// total <= absurd here, so the sum cannot overflow.
		if size > absurd || total+size > absurd {
			return dropTooLarge, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, absurd)
		}
		total += size
		if total > m.max {
			if nframes < 3 {
				return dropTooLarge, fmt.Errorf("%w: more than %d bytes before the headers", ErrTooLarge, m.max)
			}
			oversize = true
		}
		n := int(size)
		switch {
		case nframes < 3 || (nframes == 3 && !oversize): // id, type, subject, headers
			start := len(m.buf)
			m.buf = slices.Grow(m.buf, n)[:start+n]
			if _, err := io.ReadFull(m.r, m.buf[start:]); err != nil {
				return dropNone, noEOF(err)
			}
			ends[nframes] = len(m.buf)
		case nframes == 4 && !oversize: // body, allocated together with the headers
			hdr := m.buf[ends[2]:ends[3]]
			var b []byte
			if size := len(hdr) + n; size >= bufpool.Min {
				// Pooled (Incoming.Pooled): the heap would zero the
				// buffer first, a pass as long as the read that fills it.
				b = bufpool.Get(size)[:size]
				in.Pooled = b
			} else {
				b = make([]byte, size)
			}
			copy(b, hdr)
			if _, err := io.ReadFull(m.r, b[len(hdr):]); err != nil {
				return dropNone, noEOF(err)
			}
			in.Headers, in.Body = b[:len(hdr):len(hdr)], b[len(hdr):]
		default: // skipped: oversized headers or body, or a sixth frame or more
			if _, err := m.r.Discard(n); err != nil {
				return dropNone, noEOF(err)
			}
		}
		nframes++
		if flags&flagMore == 0 {
			break
		}
	}
	if nframes != 5 {
		*in = Incoming{}
		return dropBadFrames, nil
	}
	id, typ, subject := m.buf[:ends[0]], m.buf[ends[0]:ends[1]], m.buf[ends[1]:ends[2]]
	t, reason := validateFrames(id, typ, subject)
	if reason != dropNone {
		*in = Incoming{}
		return reason, nil
	}
	// One allocation for both strings: the subject shares id's backing array.
	m.str = append(append(m.str[:0], id...), subject...)
	s := string(m.str)
	in.ID, in.Type, in.Subject = s[:len(id)], t, s[len(id):]
	if oversize {
		in.Headers, in.Body, in.TooLarge = nil, nil, true
	}
	return dropNone, nil
}

// outMsg is one message waiting in a peer's send queue.
type outMsg struct {
	id, typ, subject string
	headers, body    []byte
	// release, when not nil, is called once headers and body have been
	// written (or failed to be): their buffer may then be reused. Not
	// called for a message dropped unwritten; the garbage collector has
	// it then.
	release func()
}

func (m *outMsg) size() int64 {
	return int64(len(m.id) + len(m.typ) + len(m.subject) + len(m.headers) + len(m.body))
}
