package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
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
// It also fails at the first byte of the greeting that is not ZMTP 3's
// (NotZMTPError), so that a peer speaking another protocol is reported as
// such at once.
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
	err   error // the first failure, returned by every later scan

	// head keeps the first bytes of the stream, to show them when they
	// are not a ZMTP greeting.
	head  [notZMTPShown]byte
	nhead int
}

func newZMTPLimit(max uint64) *zmtpLimit {
	return &zmtpLimit{max: max, state: scanGreeting, need: greetingSize}
}

// scan consumes p, the next bytes of the stream, and returns an error when
// a frame in it is too large or the greeting is not ZMTP 3's. The error sticks: later calls return it too.
func (z *zmtpLimit) scan(p []byte) error {
	for len(p) > 0 {
		switch z.state {
		case scanGreeting:
			// The signature is checked byte by byte as it arrives: a
			// peer that is not ZMTP (an HTTP server answering our
			// greeting with a 400 and keeping the connection open, say)
			// fails the handshake at its first byte, instead of zmq4
			// waiting for 64 bytes that may never come.
			if err := z.checkSignature(p); err != nil {
				z.state, z.err = -1, err
				return err
			}
			fallthrough
		case scanBody:
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
				z.err = fmt.Errorf("%w: frame of %d bytes declared at offset %d (limit %d)", ErrTooLarge, size, z.off, z.max)
				return z.err
			}
			z.need = size
			z.state = scanBody
			if size == 0 {
				z.state = scanFlags
			}
		default:
			return z.err
		}
	}
	return nil
}

// notZMTPShown is how many of a non-ZMTP peer's first bytes its error shows.
const notZMTPShown = 24

// The ZMTP 3 signature: byte 0 is 0xFF and byte 9 is 0x7F (the eight
// bytes between are padding), and the major version at byte 10 is 3.
const (
	sigFirst    = 0xff
	sigLast     = 0x7f
	sigLastAt   = 9
	versionAt   = 10
	zmtpVersion = 3
)

// checkSignature checks the bytes of p that fall in the signature and
// version (stream offsets 0 to 10), given that z.off bytes came before p,
// and remembers the stream's first bytes for the error.
func (z *zmtpLimit) checkSignature(p []byte) error {
	z.nhead += copy(z.head[z.nhead:], p)
	for i, b := range p {
		var bad bool
		switch z.off + int64(i) {
		case 0:
			bad = b != sigFirst
		case sigLastAt:
			bad = b != sigLast
		case versionAt:
			bad = b < zmtpVersion
		default:
			if z.off+int64(i) > versionAt {
				return nil
			}
			continue
		}
		if bad {
			return &NotZMTPError{Got: append([]byte(nil), z.head[:z.nhead]...)}
		}
	}
	return nil
}

// ErrNotZMTP is matched (errors.Is) by a NotZMTPError.
var ErrNotZMTP = errors.New("transport: peer does not speak ZMTP 3")

// NotZMTPError reports a peer whose first bytes are not a ZMTP 3 greeting:
// another protocol's server (HTTP, say) on a port taken for a lymph
// instance's. It matches ErrNotZMTP and, for a peer we dialed (a request
// to it was surely not sent), ErrNotConnected.
type NotZMTPError struct {
	// Peer is the endpoint dialed, or the remote address of a client that
	// connected; "" when unknown.
	Peer string
	// Got is the start of what the peer sent.
	Got []byte
	// dialed is set for a peer we connected to.
	dialed bool
}

func (e *NotZMTPError) Error() string {
	at := ""
	if e.Peer != "" {
		at = " at " + e.Peer
	}
	got := strconv.Quote(string(e.Got))
	if len(e.Got) == notZMTPShown {
		got = got[:len(got)-1] + `..."`
	}
	return "transport: peer" + at + " does not speak ZMTP 3 (got " + got + ")"
}

// Unwrap makes the error match ErrNotZMTP, and ErrNotConnected when we
// dialed the peer.
func (e *NotZMTPError) Unwrap() []error {
	if e.dialed {
		return []error{ErrNotZMTP, ErrNotConnected}
	}
	return []error{ErrNotZMTP}
}
