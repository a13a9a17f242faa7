//go:build !unix

package transport

import "errors"

const busyPollSupported = false

// pollFD is never called: newPollReader returns nil here.
func (r *pollReader) pollFD(fd uintptr) bool {
	r.err = errors.ErrUnsupported
	return true
}
