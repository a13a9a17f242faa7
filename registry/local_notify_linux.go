//go:build linux

package registry

import (
	"bytes"
	"os"
	"syscall"
	"unsafe"
)

// dirNotifier wakes a local watch when a service's directory changes, so
// that a new or withdrawn instance is seen at once rather than at the next
// poll. (A crashed owner's lock is released without any file event: the
// poll still finds those.)
type dirNotifier struct {
	f      *os.File
	events chan struct{}
	done   chan struct{} // closed when read returns
}

const notifyMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_DELETE | syscall.IN_CLOSE_WRITE |
	syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM | syscall.IN_ATTRIB

// notifyDir returns a notifier for dir (which exists), or nil when the
// system cannot watch it; the watch then polls only.
func notifyDir(dir string) *dirNotifier {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return nil
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, notifyMask); err != nil {
		syscall.Close(fd)
		return nil
	}
	// A non-blocking descriptor in an os.File goes through Go's poller:
	// reads park the goroutine, and Close wakes it.
	n := &dirNotifier{f: os.NewFile(uintptr(fd), "inotify:"+dir), events: make(chan struct{}, 1), done: make(chan struct{})}
	go n.read()
	return n
}

// C is signalled (coalesced) after changes of the directory's entries other
// than dot files, such as the service's .lock.
func (n *dirNotifier) C() <-chan struct{} {
	if n == nil {
		return nil
	}
	return n.events
}

func (n *dirNotifier) read() {
	defer close(n.done)
	buf := make([]byte, 16<<10)
	for {
		k, err := n.f.Read(buf)
		if err != nil {
			return // closed
		}
		relevant := false
		for off := 0; off+syscall.SizeofInotifyEvent <= k; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			nameLen := int(ev.Len)
			start := off + syscall.SizeofInotifyEvent
			if start+nameLen > k {
				break
			}
			name := bytes.TrimRight(buf[start:start+nameLen], "\x00")
			if len(name) == 0 || name[0] != '.' {
				relevant = true
			}
			off = start + nameLen
		}
		if relevant {
			select {
			case n.events <- struct{}{}:
			default:
			}
		}
	}
}

// Close stops the notifier.
func (n *dirNotifier) Close() {
	if n != nil {
		n.f.Close()
		<-n.done
	}
}

const notifySupported = true
