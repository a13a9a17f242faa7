//go:build unix

package transport

import "syscall"

const busyPollSupported = true

// pollFD is the RawConn.Read callback: it reads without blocking and, while
// the budget lasts, tries again instead of reporting the socket empty
// (which parks the reader in the network poller until it is readable, then
// calls pollFD again).
func (r *pollReader) pollFD(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), r.p)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if r.again() {
				continue
			}
			return false
		}
		r.n, r.err = max(n, 0), err
		return true
	}
}
