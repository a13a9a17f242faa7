//go:build !unix

package transport

const busyPollSupported = false

// sysReader reads with plain reads: the buffer, once taken, is kept, and
// there is no busy polling.
type sysReader struct{ b *readBuffer }

func (s *sysReader) init(b *readBuffer) { s.b = b }

func (s *sysReader) read(p []byte) (int, error) {
	if p == nil {
		p = s.b.take()
	}
	return s.b.c.Read(p)
}
