package transport

import (
	"encoding/binary"
	"fmt"
)

const (
	// greetingSize is the length of the ZMTP 3 greeting.
	greetingSize = 64
	// handshakeMaxFrame bounds each frame during the handshake: the
	// commands there (READY, HELLO, WELCOME, INITIATE) carry a little
	// metadata or a user name and password.
	handshakeMaxFrame = 64 << 10
)

// scanner states
const (
	scanGreeting = iota
	scanFlags
	scanSize
	scanBody
)

// zmtpLimit follows a ZMTP byte stream from its first byte (the greeting,
// then frames) as it is handed to zmq4, and fails as soon as a frame header
// declares more than max bytes. zmq4's Conn.read does make([]byte, size)
// with the declared size before reading the body, so a peer that sends a
// valid greeting and then a frame header for 4 GiB would make us allocate
// 4 GiB. The check runs on the bytes that complete the size field, so zmq4
// gets a read error instead of the size.
//
// It is used while zmq4 runs the handshake; afterwards msgReader parses the
// frames itself and enforces Options.MaxMessageSize.
type zmtpLimit struct {
	max   uint64
	state int
	need  uint64 // bytes left in the greeting, size field or body
	long  bool
	size  [8]byte
	off   int64 // stream offset, for error messages
}

func newZMTPLimit(max uint64) *zmtpLimit {
	return &zmtpLimit{max: max, state: scanGreeting, need: greetingSize}
}

// scan consumes p, the next bytes of the stream, and returns an error when
// a frame in it is too large. The error sticks: later calls return it too.
func (z *zmtpLimit) scan(p []byte) error {
	for len(p) > 0 {
		switch z.state {
		case scanGreeting, scanBody:
			n := uint64(len(p))
			if n > z.need {
				n = z.need
			}
			p = p[n:]
			z.off += int64(n)
			z.need -= n
			if z.need == 0 {
				z.state = scanFlags
			}
		case scanFlags:
			z.long = p[0]&flagLong != 0
			z.need = 1
			if z.long {
				z.need = 8
			}
			z.size = [8]byte{}
			z.state = scanSize
			p = p[1:]
			z.off++
		case scanSize:
			// Collect the size bytes right-aligned, big-endian.
			z.size[8-z.need] = p[0]
			p = p[1:]
			z.off++
			z.need--
			if z.need > 0 {
				continue
			}
			var size uint64
			if z.long {
				size = binary.BigEndian.Uint64(z.size[:])
			} else {
				size = uint64(z.size[7])
			}
			if size > z.max {
				z.state = -1
				return fmt.Errorf("%w: frame of %d bytes declared at offset %d (limit %d)", ErrTooLarge, size, z.off, z.max)
			}
			z.need = size
			z.state = scanBody
			if size == 0 {
				z.state = scanFlags
			}
		default:
			return fmt.Errorf("%w: stream already over its limit", ErrTooLarge)
		}
	}
	return nil
}
