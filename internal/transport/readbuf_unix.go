//go:build unix

package transport

import (
	"io"
	"net"
	"os"
	"syscall"
)

const busyPollSupported = true

// sysReader reads the socket through its RawConn, so that the buffer can be
// given back at the moment a read finds the socket empty (before the
// runtime parks the goroutine) and, when polling, so that an empty socket
// is tried again instead of parking.
type sysReader struct {
	b  *readBuffer
	rc syscall.RawConn // nil if the connection has none: plain reads
	// The callback is one method value made once, not a closure per read
	// (which would escape: two allocations per read).
	cb  func(fd uintptr) bool
	p   []byte // direct read target; nil reads into the buffer
	n   int
	err error
}

func (s *sysReader) init(b *readBuffer) {
	s.b = b
	if rc, err := b.c.SyscallConn(); err == nil {
		s.rc = rc
	}
	s.cb = s.readFD
}

// read reads at least one byte into p, or into the buffer when p is nil.
func (s *sysReader) read(p []byte) (int, error) {
	b := s.b
	if s.rc == nil {
		if p == nil {
			p = b.take()
		}
		return b.c.Read(p)
	}
	s.p = p
	b.poll.begin()
	rerr := s.rc.Read(s.cb)
	b.poll.end()
	n, err := s.n, s.err
	s.p, s.n, s.err = nil, 0, nil
	if rerr == nil && err != nil {
		rerr = os.NewSyscallError("read", err) // as net.Conn.Read reports it
	}
	switch {
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: b.c.LocalAddr(), Addr: b.c.RemoteAddr(), Err: rerr}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// readFD is the RawConn.Read callback: it reads without blocking; on an
// empty socket it polls again while the poll budget lasts, else gives the
// buffer back and reports the socket empty, which parks the goroutine until
// the socket is readable (then readFD runs again).
func (s *sysReader) readFD(fd uintptr) bool {
	for {
		dst := s.p
		if dst == nil {
			dst = s.b.take()
		}
		n, err := syscall.Read(int(fd), dst)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.b.poll.again() {
				continue
			}
			s.b.release()
			return false
		}
		s.n, s.err = max(n, 0), err
		return true
	}
}
