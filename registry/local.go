package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultPollInterval is how often a local registry's Watch rereads the
// directory.
const DefaultPollInterval = 250 * time.Millisecond

// localRegistry keeps each registered instance as a file
// <dir>/services/NAME/ID.json (the layout of lymph's znodes, so that another
// kind of record can later sit beside "services"), locked by its owner for
// as long as it is registered. See the package doc for why.
//
// Creating and deleting files of a service happens under an exclusive lock
// on <dir>/services/NAME/.lock, so that a reader removing a dead owner's file
// cannot remove the live file that a restarted owner has just put at the
// same path.
type localRegistry struct {
	root string // <dir>/services
	poll time.Duration
	log  *slog.Logger

	mu        sync.Mutex          // serialises Register, Unregister, repair and Close
	own       map[string]*ownFile // path -> what we registered there
	closed    bool
	repairing bool          // repairLoop runs
	done      chan struct{} // closed by Close: ends the watches and repairLoop
	wg        sync.WaitGroup
}

var errNoFlock = errors.New("registry: local: needs flock(2), which this system lacks; use memory: or zookeeper:")

// ownFile is one of our registrations: the file we keep locked, and its
// record, to write it again if the file is deleted under us.
type ownFile struct {
	f    *os.File
	name string
	data []byte
}

// repairInterval is how often a local registry checks that its files are
// still there: a user's rm -rf, or a temporary-file cleaner in /tmp, must
// not make a running service vanish for good.
const repairInterval = 2 * time.Second

// defaultLocalDir is $XDG_RUNTIME_DIR/lymph (a per-user, memory-backed
// directory that the login manager empties at logout), else a per-user
// directory under the temporary directory.
func defaultLocalDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "lymph")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("lymph-%d", os.Getuid()))
}

func newLocal(dir string, poll time.Duration, log *slog.Logger) (*localRegistry, error) {
	if !localSupported {
		return nil, errNoFlock
	}
	private := dir == ""
	if private {
		dir = defaultLocalDir()
	}
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry: local: %w", err)
	}
	if private {
		if err := checkPrivateDir(dir); err != nil {
			return nil, err
		}
	}
	root := filepath.Join(dir, "services")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("registry: local: %w", err)
	}
	return &localRegistry{
		root: root,
		poll: poll,
		log:  log.With("registry", "local", "dir", dir),
		own:  map[string]*ownFile{},
		done: make(chan struct{}),
	}, nil
}

func (r *localRegistry) path(name, id string) string {
	return filepath.Join(r.root, name, id+".json")
}

// withNameLock runs fn holding the service's creation/deletion lock.
func (r *localRegistry) withNameLock(name string, fn func() error) error {
	dir := filepath.Join(r.root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close() // closing drops the lock
	if err := lockFile(lf); err != nil {
		return err
	}
	return fn()
}

// Register implements Registry.
func (r *localRegistry) Register(ctx context.Context, inst Instance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	data, err := encodeRecord(inst)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if err := r.writeLocked(inst.Name, r.path(inst.Name, inst.ID), data); err != nil {
		return fmt.Errorf("registry: local: register %s/%s: %w", inst.Name, inst.ID, err)
	}
	return nil
}

// writeLocked puts data at path as our registration. r.mu is held.
func (r *localRegistry) writeLocked(name, path string, data []byte) error {
	var f *os.File
	err := r.withNameLock(name, func() error {
		var err error
		r.sweepTemp(filepath.Dir(path))
		f, err = createLocked(filepath.Dir(path), data)
		if err != nil {
			return err
		}
		// rename replaces whatever was there (a dead owner's file, or an
		// older registration of ours) in one step: readers see the old
		// file or the new one, never a missing or half-written one.
		if err := os.Rename(f.Name(), path); err != nil {
			os.Remove(f.Name())
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if old := r.own[path]; old != nil {
		old.f.Close()
	}
	r.own[path] = &ownFile{f: f, name: name, data: data}
	if !r.repairing { // started with the first registration: lookups alone need none

		r.repairing = true
		r.wg.Add(1)
		go r.repairLoop()
	}
	return nil
}

// repairLoop writes our files again when they are deleted under us.
func (r *localRegistry) repairLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(repairInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-tick.C:
			r.repair()
		}
	}
}

func (r *localRegistry) repair() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for path, o := range r.own {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			// There, ours or not: a file at our path that is not ours
			// was put there by a restart of the same instance, which
			// wins (as it does in ZooKeeper).
			continue
		}
		if err := r.writeLocked(o.name, path, o.data); err != nil {
			r.log.Warn("cannot restore deleted registration", "path", path, "err", err)
		} else {
			r.log.Warn("restored registration deleted by someone else", "path", path)
		}
	}
}

// createLocked writes data to a new temporary file in dir that it has locked
// first, and returns it open: the lock must be held before the file gets
// its final name, or a reader could take it for a dead owner's.
func createLocked(dir string, data []byte) (*os.File, error) {
	f, err := os.CreateTemp(dir, ".tmp-*.json")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	ok, err := tryLockFile(f, true)
	if err != nil {
		return fail(err)
	}
	if !ok {
		return fail(errors.New("fresh temporary file already locked"))
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	return f, nil
}

// sweepTemp deletes temporary files left by a writer that died before its
// rename. Called under the name lock, when no live writer has one.
func (r *localRegistry) sweepTemp(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*.json"))
	for _, t := range tmps {
		os.Remove(t)
	}
}

// Unregister implements Registry.
func (r *localRegistry) Unregister(ctx context.Context, inst Instance) error {
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	return r.withdrawLocked(inst.Name, r.path(inst.Name, inst.ID))
}

// withdrawLocked removes our file at path, if it is still ours, and drops
// our lock. r.mu is held.
func (r *localRegistry) withdrawLocked(name, path string) error {
	o := r.own[path]
	if o == nil {
		return nil
	}
	delete(r.own, path)
	defer o.f.Close()
	err := r.withNameLock(name, func() error { return removeIfSame(path, o.f) })
	if err != nil {
		return fmt.Errorf("registry: local: unregister %s: %w", path, err)
	}
	return nil
}

// removeIfSame removes path if it still names the file f is open on.
func removeIfSame(path string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !os.SameFile(fi, pi) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Lookup implements Registry.
func (r *localRegistry) Lookup(ctx context.Context, name string) ([]Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if r.isClosed() {
		return nil, ErrClosed
	}
	return r.scan(name)
}

func (r *localRegistry) isClosed() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// scan reads the live instances of name, deleting dead owners' files.
func (r *localRegistry) scan(name string) ([]Instance, error) {
	dir := filepath.Join(r.root, name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Instance{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: local: %w", err)
	}
	out := []Instance{}
	for _, e := range entries {
		file := e.Name()
		if strings.HasPrefix(file, ".") || !strings.HasSuffix(file, ".json") || e.IsDir() {
			continue
		}
		inst, ok := r.readLive(name, filepath.Join(dir, file))
		if ok {
			out = append(out, inst)
		}
	}
	sortInstances(out)
	return out, nil
}

// readLive reads the instance at path if its owner still holds the lock. A
// file we can lock has no owner: it is deleted (under the name lock, and
// only if it is still the file we looked at).
func (r *localRegistry) readLive(name, path string) (Instance, bool) {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.log.Warn("cannot read instance file", "path", path, "err", err)
		}
		return Instance{}, false
	}
	defer f.Close()
	free, err := tryLockFile(f, false)
	if err != nil {
		r.log.Warn("cannot check instance file", "path", path, "err", err)
		return Instance{}, false
	}
	if free {
		err := r.withNameLock(name, func() error { return removeIfSame(path, f) })
		if err != nil {
			r.log.Warn("cannot remove dead instance file", "path", path, "err", err)
		} else {
			r.log.Debug("removed dead instance file", "path", path)
		}
		return Instance{}, false
	}
	data, err := io.ReadAll(f)
	if err != nil {
		r.log.Warn("cannot read instance file", "path", path, "err", err)
		return Instance{}, false
	}
	inst, err := decodeRecord(name, strings.TrimSuffix(filepath.Base(path), ".json"), data)
	if err != nil {
		r.log.Warn("ignoring unreadable instance file", "path", path, "err", err)
		return Instance{}, false
	}
	return inst, true
}

// Discover implements Registry.
func (r *localRegistry) Discover(ctx context.Context) ([]string, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	entries, err := os.ReadDir(r.root)
	if err != nil {
		return nil, fmt.Errorf("registry: local: %w", err)
	}
	names := []string{}
	for _, e := range entries {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		insts, err := r.scan(e.Name())
		if err != nil {
			return nil, err
		}
		if len(insts) > 0 {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Watch implements Registry.
func (r *localRegistry) Watch(ctx context.Context, name string) (<-chan []Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	first, err := r.scan(name)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	snap := newSnapshots()
	snap.offer(first)
	r.wg.Add(1)
	go r.watch(ctx, name, snap)
	return snap.out, nil
}

func (r *localRegistry) watch(ctx context.Context, name string, snap *snapshots) {
	defer r.wg.Done()
	defer close(snap.out)
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	// File events make joins and leaves visible at once; the poll finds
	// owners that died without a word.
	dir := filepath.Join(r.root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.log.Debug("watch: cannot create the service directory; polling only", "name", name, "err", err)
	}
	notify := notifyDir(dir)
	defer notify.Close()
	rescan := notify != nil // changes between Watch's first scan and now
	for {
		if rescan {
			rescan = false
			set, err := r.scan(name)
			if err != nil {
				r.log.Warn("watch: cannot read instances", "name", name, "err", err)
			} else {
				snap.offer(set)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-r.done:
			return
		case snap.ch() <- snap.pending:
			snap.delivered()
		case <-notify.C():
			rescan = true
		case <-tick.C:
			rescan = true
		}
	}
}

// Close implements Registry.
func (r *localRegistry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	r.mu.Unlock()
	r.wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for path, o := range r.own {
		errs = append(errs, r.withdrawLocked(o.name, path))
	}
	return errors.Join(errs...)
}
