//go:build linux

package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// The embedded backend ("local:"): RabbitMQ's queue semantics between the
// processes of one machine, with no broker, in a spool directory:
//
//	DIR/queues/Q/meta            "auto-delete" or "" (the queue's flags)
//	DIR/queues/Q/bind/P          one empty file per binding pattern P
//	DIR/queues/Q/msgs/M          messages waiting, M sorts in arrival order
//	DIR/queues/Q/claimed/C.M     message M held by consumer C (outstanding)
//	DIR/queues/Q/consumers/C     consumer C's lock file: flock held while C lives
//	DIR/delayed/DUE-M            a delayed event, routed when DUE (unix ns) passes
//
// A message file is its content type, a newline, and the body. Publishing
// writes into tmp/ and renames into each matching queue's msgs/ (atomic:
// a consumer never sees half a message). Consumers claim a message by
// renaming it into claimed/: one rename wins, so a shared queue hands each
// event to one consumer. Ack deletes the claim; reject puts it back (same
// name, so it keeps its place) or deletes it. A consumer's lock is its
// liveness, as in the local registry: claims of a dead consumer go back to
// msgs/ and an auto-delete queue without a live consumer is removed, by any
// process that next looks. Wake-ups come from inotify on msgs/ (and
// delayed/), with a slow poll behind it in case a wake-up is lost: nothing
// spins while idle. Queues live until deleted, like RabbitMQ's while it
// runs (the directory lives in $XDG_RUNTIME_DIR, emptied at logout, or the
// temporary directory).

const localPoll = 2 * time.Second

func defaultLocalDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "lymph-events")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("lymph-events-%d", os.Getuid()))
}

// parseLocal reads "local:" or "local:///some/dir".
func parseLocal(rest string) (string, error) {
	if rest == "" {
		return defaultLocalDir(), nil
	}
	u, err := url.Parse("local:" + rest)
	if err != nil {
		return "", err
	}
	if u.Host != "" {
		return "", fmt.Errorf("a local events dir has no host: write local:///path")
	}
	if u.Path == "" || !filepath.IsAbs(u.Path) {
		return "", fmt.Errorf("local: wants an absolute path: local:///path")
	}
	return filepath.Clean(u.Path), nil
}

type localBackend struct {
	dir    string
	log    *slog.Logger
	id     string
	seq    atomic.Uint64
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	mu        sync.Mutex
	consumers map[*localConsumer]struct{}
}

func newLocal(dir string, log *slog.Logger) (Backend, error) {
	for _, d := range []string{dir, filepath.Join(dir, "queues"), filepath.Join(dir, "tmp"), filepath.Join(dir, "delayed")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("events: local: %w", err)
		}
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, err
	}
	l := &localBackend{dir: dir, log: log, id: uuid.NewString()[:8], closed: make(chan struct{}), consumers: map[*localConsumer]struct{}{}}
	l.wg.Add(1)
	go l.runDelayed()
	return l, nil
}

// checkPrivateDir refuses a directory another user owns or may write to:
// in a shared /tmp someone could fake or read our events.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("events: local: %s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("events: local: %s belongs to uid %d, not to us", dir, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("events: local: %s is writable by others (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}

// escape makes a queue name or pattern one safe path element.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) || c == '*' || c == '#'
		if ok {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

func (l *localBackend) queueDir(name string) string {
	return filepath.Join(l.dir, "queues", escape(name))
}

// msgName is sortable in arrival order across processes.
func (l *localBackend) msgName() string {
	return fmt.Sprintf("%020d-%s-%08d", time.Now().UnixNano(), l.id, l.seq.Add(1))
}

func (l *localBackend) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// writeTmp writes a message file in tmp/ and returns its path.
func (l *localBackend) writeTmp(ct string, msg []byte) (string, error) {
	p := filepath.Join(l.dir, "tmp", l.msgName())
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(append(append([]byte(ct), '\n'), msg...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(p)
		return "", err
	}
	return p, nil
}

// put places a copy of the message file tmp into queue q's msgs/.
func (l *localBackend) put(tmp, qdir string, last bool) error {
	dst := filepath.Join(qdir, "msgs", filepath.Base(tmp))
	if last {
		return os.Rename(tmp, dst)
	}
	return os.Link(tmp, dst)
}

// route delivers a message to every queue with a matching binding.
func (l *localBackend) route(eventType, ct string, msg []byte) error {
	entries, err := os.ReadDir(filepath.Join(l.dir, "queues"))
	if err != nil {
		return err
	}
	var targets []string
	for _, e := range entries {
		qdir := filepath.Join(l.dir, "queues", e.Name())
		binds, err := os.ReadDir(filepath.Join(qdir, "bind"))
		if err != nil {
			continue // being created or deleted
		}
		for _, b := range binds {
			if Match(unescape(b.Name()), eventType) {
				targets = append(targets, qdir)
				break
			}
		}
	}
	if len(targets) == 0 {
		return nil // unroutable: dropped, as RabbitMQ drops it
	}
	tmp, err := l.writeTmp(ct, msg)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	for _, q := range targets {
		// Hard links: one write, n queues. A queue deleted meanwhile is
		// not an error.
		if err := l.put(tmp, q, false); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (l *localBackend) Publish(ctx context.Context, eventType string, msg []byte, delay time.Duration) error {
	if l.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if delay <= 0 {
		return l.route(eventType, ContentType, msg)
	}
	tmp, err := l.writeTmp(ContentType, append(append([]byte(eventType), '\n'), msg...))
	if err != nil {
		return err
	}
	due := time.Now().Add(delay).UnixNano()
	return os.Rename(tmp, filepath.Join(l.dir, "delayed", fmt.Sprintf("%020d-%s", due, filepath.Base(tmp))))
}

// runDelayed routes delayed events when due. Every open backend runs one;
// the rename into tmp/ decides which process routes each event.
func (l *localBackend) runDelayed() {
	defer l.wg.Done()
	dir := filepath.Join(l.dir, "delayed")
	w := newWatcher(dir, l.log)
	defer w.close()
	for {
		next := l.sweepDelayed(dir)
		wait := localPoll
		if next > 0 && next < wait {
			wait = next
		}
		t := time.NewTimer(wait)
		select {
		case <-l.closed:
			t.Stop()
			return
		case <-w.c:
		case <-t.C:
		}
		t.Stop()
	}
}

// sweepDelayed routes what is due and returns the time until the next.
func (l *localBackend) sweepDelayed(dir string) time.Duration {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	now := time.Now().UnixNano()
	for _, e := range entries {
		dueS, _, ok := strings.Cut(e.Name(), "-")
		due, err := strconv.ParseInt(dueS, 10, 64)
		if !ok || err != nil {
			continue
		}
		if due > now {
			return time.Duration(due - now)
		}
		claim := filepath.Join(l.dir, "tmp", "delayed-"+l.id+"-"+e.Name())
		if os.Rename(filepath.Join(dir, e.Name()), claim) != nil {
			continue // another process took it
		}
		data, err := os.ReadFile(claim)
		_ = os.Remove(claim)
		if err != nil {
			continue
		}
		ct, rest, _ := bytes.Cut(data, []byte{'\n'})
		typ, msg, _ := bytes.Cut(rest, []byte{'\n'})
		if err := l.route(string(typ), string(ct), msg); err != nil {
			l.log.Warn("events: local: routing a delayed event failed", "type", string(typ), "error", err)
		}
	}
	return 0
}

func (l *localBackend) Retry(ctx context.Context, queue string, msg []byte) error {
	if l.isClosed() {
		return ErrClosed
	}
	qdir := l.queueDir(queue)
	if _, err := os.Stat(filepath.Join(qdir, "msgs")); err != nil {
		return nil // the queue is gone: RabbitMQ would drop it too
	}
	tmp, err := l.writeTmp(ContentType, msg)
	if err != nil {
		return err
	}
	if err := l.put(tmp, qdir, true); err != nil {
		_ = os.Remove(tmp)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

func (l *localBackend) declare(q Queue) (string, error) {
	qdir := l.queueDir(q.Name)
	for _, d := range []string{"bind", "msgs", "claimed", "consumers"} {
		if err := os.MkdirAll(filepath.Join(qdir, d), 0o700); err != nil {
			return "", err
		}
	}
	meta := ""
	if q.AutoDelete {
		meta = "auto-delete"
	}
	if err := os.WriteFile(filepath.Join(qdir, "meta"), []byte(meta), 0o600); err != nil {
		return "", err
	}
	for _, p := range q.Patterns {
		f, err := os.OpenFile(filepath.Join(qdir, "bind", escape(p)), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return "", err
		}
		_ = f.Close()
	}
	return qdir, nil
}

func (l *localBackend) Declare(ctx context.Context, q Queue) error {
	if l.isClosed() {
		return ErrClosed
	}
	_, err := l.declare(q)
	return err
}

func (l *localBackend) Consume(ctx context.Context, q Queue, deliver func(Delivery)) (Consumer, error) {
	if l.isClosed() {
		return nil, ErrClosed
	}
	if q.Prefetch < 1 {
		q.Prefetch = 1
	}
	qdir := l.queueDir(q.Name)
	id := uuid.NewString()
	// The lock comes first, so that a sweeper never sees a new
	// auto-delete queue without a live consumer.
	if err := os.MkdirAll(filepath.Join(qdir, "consumers"), 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(qdir, "consumers", id), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if _, err := l.declare(q); err != nil {
		_ = lock.Close()
		return nil, err
	}
	c := &localConsumer{l: l, q: q, qdir: qdir, id: id, lock: lock, deliver: deliver,
		cancel: make(chan struct{}), done: make(chan struct{}), settled: make(chan struct{}, 1)}
	l.mu.Lock()
	l.consumers[c] = struct{}{}
	l.mu.Unlock()
	go c.run()
	return c, nil
}

func (l *localBackend) Close() error {
	l.once.Do(func() {
		l.mu.Lock()
		cs := make([]*localConsumer, 0, len(l.consumers))
		for c := range l.consumers {
			cs = append(cs, c)
		}
		l.mu.Unlock()
		for _, c := range cs {
			_ = c.Close()
		}
		close(l.closed)
		l.wg.Wait()
	})
	return nil
}

type localConsumer struct {
	l       *localBackend
	q       Queue
	qdir    string
	id      string
	lock    *os.File
	deliver func(Delivery)

	outstanding atomic.Int32
	settled     chan struct{} // a delivery was settled: maybe room for more
	cancel      chan struct{}
	done        chan struct{}
	cancelOnce  sync.Once
	closeOnce   sync.Once
}

func (c *localConsumer) run() {
	defer close(c.done)
	w := newWatcher(filepath.Join(c.qdir, "msgs"), c.l.log)
	defer w.close()
	lastSweep := time.Time{}
	for {
		if time.Since(lastSweep) > localPoll {
			c.sweepDead()
			lastSweep = time.Now()
		}
		c.claimAll()
		t := time.NewTimer(localPoll)
		select {
		case <-c.cancel:
			t.Stop()
			return
		case <-w.c:
		case <-c.settled:
		case <-t.C:
		}
		t.Stop()
	}
}

// claimAll claims and delivers waiting messages while there is room.
func (c *localConsumer) claimAll() {
	msgs := filepath.Join(c.qdir, "msgs")
	for {
		if int(c.outstanding.Load()) >= c.q.Prefetch {
			return
		}
		entries, err := os.ReadDir(msgs) // sorted by name: arrival order
		if err != nil || len(entries) == 0 {
			return
		}
		progressed := false
		for _, e := range entries {
			select {
			case <-c.cancel:
				return
			default:
			}
			if int(c.outstanding.Load()) >= c.q.Prefetch {
				return
			}
			claim := filepath.Join(c.qdir, "claimed", c.id+"."+e.Name())
			if os.Rename(filepath.Join(msgs, e.Name()), claim) != nil {
				continue // another consumer won it
			}
			progressed = true
			data, err := os.ReadFile(claim)
			if err != nil {
				continue
			}
			ct, body, _ := bytes.Cut(data, []byte{'\n'})
			c.outstanding.Add(1)
			c.deliver(&localDelivery{c: c, name: e.Name(), claim: claim, ct: string(ct), body: body})
		}
		if !progressed {
			return
		}
	}
}

// sweepDead returns the claims of dead consumers and removes dead consumers'
// lock files (and their auto-delete queues, when no one is left).
func (c *localConsumer) sweepDead() {
	c.l.sweepQueue(c.qdir)
}

// sweepQueue: a consumer is dead when its lock file can be locked.
func (l *localBackend) sweepQueue(qdir string) (live int) {
	cdir := filepath.Join(qdir, "consumers")
	entries, _ := os.ReadDir(cdir)
	dead := map[string]bool{}
	for _, e := range entries {
		f, err := os.OpenFile(filepath.Join(cdir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			dead[e.Name()] = true
			_ = os.Remove(filepath.Join(cdir, e.Name()))
		} else {
			live++
		}
		_ = f.Close()
	}
	claims, _ := os.ReadDir(filepath.Join(qdir, "claimed"))
	for _, e := range claims {
		owner, name, ok := strings.Cut(e.Name(), ".")
		if ok && dead[owner] {
			_ = os.Rename(filepath.Join(qdir, "claimed", e.Name()), filepath.Join(qdir, "msgs", name))
		}
	}
	return live
}

func (c *localConsumer) Cancel() error {
	c.cancelOnce.Do(func() { close(c.cancel) })
	<-c.done
	return nil
}

func (c *localConsumer) Close() error {
	_ = c.Cancel()
	c.closeOnce.Do(func() {
		// Outstanding claims go back, keeping their place.
		claims, _ := os.ReadDir(filepath.Join(c.qdir, "claimed"))
		for _, e := range claims {
			if owner, name, ok := strings.Cut(e.Name(), "."); ok && owner == c.id {
				_ = os.Rename(filepath.Join(c.qdir, "claimed", e.Name()), filepath.Join(c.qdir, "msgs", name))
			}
		}
		_ = os.Remove(filepath.Join(c.qdir, "consumers", c.id))
		_ = c.lock.Close()
		if c.q.AutoDelete && c.l.sweepQueue(c.qdir) == 0 {
			c.l.deleteQueue(c.qdir)
		}
		c.l.mu.Lock()
		delete(c.l.consumers, c)
		c.l.mu.Unlock()
	})
	return nil
}

// deleteQueue removes a queue: bindings first, so that no publisher routes
// into it while it goes.
func (l *localBackend) deleteQueue(qdir string) {
	gone := filepath.Join(l.dir, "tmp", "deleted-"+uuid.NewString())
	if os.Rename(qdir, gone) == nil {
		_ = os.RemoveAll(gone)
	}
}

type localDelivery struct {
	c       *localConsumer
	name    string
	claim   string
	ct      string
	body    []byte
	settled atomic.Bool
}

func (d *localDelivery) Body() []byte        { return d.body }
func (d *localDelivery) ContentType() string { return d.ct }
func (d *localDelivery) Ack() error          { return d.settle(func() error { return os.Remove(d.claim) }) }
func (d *localDelivery) Reject(requeue bool) error {
	if requeue {
		return d.settle(func() error { return os.Rename(d.claim, filepath.Join(d.c.qdir, "msgs", d.name)) })
	}
	return d.settle(func() error { return os.Remove(d.claim) })
}

func (d *localDelivery) settle(f func() error) error {
	if !d.settled.CompareAndSwap(false, true) {
		return errDeliveryDone
	}
	err := f()
	d.c.outstanding.Add(-1)
	select {
	case d.c.settled <- struct{}{}:
	default:
	}
	if errors.Is(err, os.ErrNotExist) {
		return errDeliveryDone // the consumer closed and gave it back
	}
	return err
}

// watcher turns inotify events on one directory into wake-ups on c. Without
// inotify, c never fires and the callers' slow poll does the work.
type watcher struct {
	c    chan struct{}
	f    *os.File
	done chan struct{}
}

func newWatcher(dir string, log *slog.Logger) *watcher {
	w := &watcher{c: make(chan struct{}, 1), done: make(chan struct{})}
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		log.Debug("events: local: no inotify; polling", "error", err)
		close(w.done)
		return w
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_MOVED_TO|syscall.IN_CREATE|syscall.IN_CLOSE_WRITE); err != nil {
		_ = syscall.Close(fd)
		close(w.done)
		return w
	}
	// A non-blocking fd in an *os.File goes through Go's poller: Read
	// parks, and Close wakes it.
	w.f = os.NewFile(uintptr(fd), "inotify")
	go w.read()
	return w
}

func (w *watcher) read() {
	defer close(w.done)
	buf := make([]byte, 64*(syscall.SizeofInotifyEvent+syscall.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		if n >= int(unsafe.Sizeof(syscall.InotifyEvent{})) {
			select {
			case w.c <- struct{}{}:
			default:
			}
		}
	}
}

func (w *watcher) close() {
	if w.f != nil {
		_ = w.f.Close()
	}
	<-w.done
}
