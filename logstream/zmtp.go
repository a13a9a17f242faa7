package logstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
)

// ZMTP 3 framing, for the two socket ends this package speaks: zmq4.Open
// runs the greeting and the NULL handshake (under a deadline, a size limit
// and recover, as internal/transport does, for the same reasons: zmq4 has
// no deadline, allocates what a header declares and panics on short
// metadata), then frames are read and written here, with every size
// checked before anything is allocated.

const (
	flagMore    = 0x01
	flagLong    = 0x02
	flagCommand = 0x04

	greetingSize = 64
	// handshakeMaxFrame bounds the frames of the handshake (READY and its
	// metadata are a few hundred bytes).
	handshakeMaxFrame = 4096
)

// handshakeTimeout bounds a peer's handshake (a variable for tests).
var handshakeTimeout = 5 * time.Second

// errTooLarge is a frame larger than the reader accepts.
var errTooLarge = errors.New("logstream: frame too large")

// limitedConn is a net.Conn read through a buffer and, during the
// handshake, through a frame-size check.
type limitedConn struct {
	net.Conn
	r     *bufio.Reader
	limit *sizeScan
}

func newLimitedConn(c net.Conn) *limitedConn {
	return &limitedConn{Conn: c, r: bufio.NewReader(c)}
}

func (c *limitedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.limit != nil && n > 0 {
		if lerr := c.limit.scan(p[:n]); lerr != nil {
			return 0, lerr
		}
	}
	return n, err
}

// handshake runs zmq4's ZMTP handshake on c as a socket of type typ.
func handshake(c *limitedConn, typ zmq4.SocketType, server bool) (err error) {
	c.limit = &sizeScan{max: handshakeMaxFrame, need: greetingSize}
	defer func() {
		c.limit = nil
		if r := recover(); r != nil {
			err = fmt.Errorf("logstream: zmq4 handshake panicked: %v", r)
		}
	}()
	if err := c.SetDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return err
	}
	if _, err := zmq4.Open(c, null.Security(), typ, zmq4.SocketIdentity(""), server, nil); err != nil {
		return err
	}
	return c.SetDeadline(time.Time{})
}

// sizeScan follows the byte stream of a handshake (the greeting, then
// frames) and fails as soon as a frame declares more than max bytes, before
// zmq4 allocates them.
type sizeScan struct {
	max   uint64
	state int // 0 greeting or body, 1 flags, 2 size
	need  uint64
	long  bool
	size  [8]byte
}

func (z *sizeScan) scan(p []byte) error {
	for len(p) > 0 {
		switch z.state {
		case 0:
			n := min(uint64(len(p)), z.need)
			p, z.need = p[n:], z.need-n
			if z.need == 0 {
				z.state = 1
			}
		case 1:
			z.long = p[0]&flagLong != 0
			z.need, z.size, z.state = 1, [8]byte{}, 2
			if z.long {
				z.need = 8
			}
			p = p[1:]
		case 2:
			z.size[8-z.need] = p[0]
			p, z.need = p[1:], z.need-1
			if z.need > 0 {
				continue
			}
			size := binary.BigEndian.Uint64(z.size[:])
			if size > z.max {
				return fmt.Errorf("%w: %d bytes declared in the handshake (limit %d)", errTooLarge, size, z.max)
			}
			z.need, z.state = size, 0
			if size == 0 {
				z.state = 1
			}
		}
	}
	return nil
}

// frame is one ZMTP frame as read.
type frame struct {
	command bool
	more    bool
	body    []byte
}

// readFrame reads one frame of at most max bytes.
func readFrame(r *bufio.Reader, max uint64) (frame, error) {
	flags, err := r.ReadByte()
	if err != nil {
		return frame{}, err
	}
	var size uint64
	if flags&flagLong != 0 {
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return frame{}, err
		}
		size = binary.BigEndian.Uint64(b[:])
	} else {
		b, err := r.ReadByte()
		if err != nil {
			return frame{}, err
		}
		size = uint64(b)
	}
	if size > max {
		return frame{}, fmt.Errorf("%w: %d bytes (limit %d)", errTooLarge, size, max)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return frame{}, err
	}
	return frame{command: flags&flagCommand != 0, more: flags&flagMore != 0, body: body}, nil
}

// appendMessage frames parts as one ZMTP message.
func appendMessage(b []byte, parts ...[]byte) []byte {
	for i, p := range parts {
		var flags byte
		if i < len(parts)-1 {
			flags |= flagMore
		}
		if len(p) > 255 {
			b = append(b, flags|flagLong)
			b = binary.BigEndian.AppendUint64(b, uint64(len(p)))
		} else {
			b = append(b, flags, byte(len(p)))
		}
		b = append(b, p...)
	}
	return b
}
