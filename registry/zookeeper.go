package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// zkRegistry keeps lymph's layout in ZooKeeper: <chroot>/services/NAME/ID,
// ephemeral, holding the instance's JSON record.
//
// Session handling: zk.Conn reconnects by itself and, after an expiry,
// starts a new session by itself; what it cannot do is bring back our
// ephemeral nodes and our watches. So every time a session is (re)gained,
// resync checks each node we own and re-creates the missing ones, and a
// "generation" channel is closed to make every Watch reread its service.
type zkRegistry struct {
	cfg    zkConfig
	conn   *zk.Conn
	events <-chan zk.Event // zk closes it when its goroutines are gone
	log    *slog.Logger

	mu      sync.Mutex // guards closed and the wg.Add that follows a check of it
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup

	genMu    sync.Mutex
	gen      chan struct{} // closed (and replaced) when a session is gained
	sessions atomic.Int64  // sessions gained, reconnections included (for tests and logs)
	online   atomic.Bool   // between a session gained and the next disconnection

	resync chan struct{} // cap 1: asks resyncLoop to check our nodes

	regMu sync.Mutex        // serialises the writes of our nodes
	own   map[string][]byte // path -> record of the nodes we keep alive
	gone  map[string]bool   // paths unregistered whose deletion has yet to succeed
}

func openZooKeeper(cfg zkConfig, log *slog.Logger) (*zkRegistry, error) {
	log = log.With("registry", "zookeeper", "chroot", cfg.chroot)
	r := &zkRegistry{
		cfg:     cfg,
		log:     log,
		closing: make(chan struct{}),
		gen:     make(chan struct{}),
		resync:  make(chan struct{}, 1),
		own:     map[string][]byte{},
		gone:    map[string]bool{},
	}
	firstSession := r.gen
	conn, events, err := zk.Connect(cfg.hosts, cfg.sessionTimeout,
		zk.WithLogger(zkLogger{log}),
		zk.WithLogInfo(false),
		// The callback, unlike the event channel, never drops an event.
		zk.WithEventCallback(r.onEvent))
	if err != nil {
		return nil, fmt.Errorf("registry: zookeeper %v: %w", cfg.hosts, err)
	}
	r.conn, r.events = conn, events
	if cfg.connectTimeout > 0 {
		select {
		case <-firstSession:
		case <-time.After(cfg.connectTimeout):
			r.Close()
			return nil, fmt.Errorf("%w: no ZooKeeper session with %s within %v",
				ErrUnavailable, strings.Join(cfg.hosts, ","), cfg.connectTimeout)
		}
	}
	r.wg.Add(1)
	go r.resyncLoop()
	return r, nil
}

// onEvent runs on zk's connection goroutine: it must not block, nor call
// into r.conn (whose requests that goroutine serves).
func (r *zkRegistry) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	switch ev.State {
	case zk.StateHasSession:
		n := r.sessions.Add(1)
		r.online.Store(true)
		if n == 1 {
			r.log.Debug("zookeeper session established", "server", ev.Server)
		} else {
			r.log.Info("zookeeper session re-established", "server", ev.Server)
		}
		r.genMu.Lock()
		close(r.gen)
		r.gen = make(chan struct{})
		r.genMu.Unlock()
		r.requestResync()
	case zk.StateExpired:
		r.log.Warn("zookeeper session expired; registering again in a new one", "server", ev.Server)
	case zk.StateDisconnected:
		// Said once per outage (zk repeats it at every failed attempt),
		// and not when we are the ones closing.
		if r.online.Swap(false) && !r.isClosed() {
			r.log.Warn("lost the zookeeper connection; reconnecting", "server", ev.Server)
		}
	}
}

// sessionGen returns the channel closed when the next session is gained.
func (r *zkRegistry) sessionGen() <-chan struct{} {
	r.genMu.Lock()
	defer r.genMu.Unlock()
	return r.gen
}

func (r *zkRegistry) requestResync() {
	select {
	case r.resync <- struct{}{}:
	default: // one is pending already
	}
}

// resyncLoop re-creates our nodes after a session change, retrying every
// second while ZooKeeper refuses.
func (r *zkRegistry) resyncLoop() {
	defer r.wg.Done()
	var retry <-chan time.Time
	for {
		select {
		case <-r.closing:
			return
		case <-r.resync:
		case <-retry:
		}
		retry = nil
		if err := r.reconcile(); err != nil {
			if r.isClosed() {
				return
			}
			r.log.Warn("cannot restore registrations yet; retrying", "err", err)
			retry = time.After(time.Second)
		}
	}
}

// reconcile makes ZooKeeper hold exactly our nodes: re-creates the missing
// ones and deletes those unregistered while ZooKeeper was unreachable.
func (r *zkRegistry) reconcile() error {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	var errs []error
	for p, data := range r.own {
		created, err := r.ensure(p, data)
		if err != nil {
			errs = append(errs, err)
		} else if created {
			r.log.Info("registered again", "path", p)
		}
	}
	for p := range r.gone {
		if err := r.deleteOwn(p); err != nil {
			errs = append(errs, err)
		} else {
			delete(r.gone, p)
		}
	}
	return errors.Join(errs...)
}

func (r *zkRegistry) servicePath(name string) string {
	return path.Join(r.cfg.chroot, "services", name)
}

// ensure makes path our ephemeral node holding data. A node there that
// belongs to another session is stale (lymph's rule: a restart faster than
// the session timeout leaves one) and is replaced. It reports whether it
// had to create the node. regMu is held.
func (r *zkRegistry) ensure(p string, data []byte) (created bool, err error) {
	for range 5 {
		ok, stat, err := r.conn.Exists(p)
		if err != nil {
			return false, err
		}
		if ok && stat.EphemeralOwner == r.conn.SessionID() {
			cur, stat, err := r.conn.Get(p)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			}
			if err != nil {
				return false, err
			}
			if !bytes.Equal(cur, data) {
				if _, err := r.conn.Set(p, data, stat.Version); err != nil && !errors.Is(err, zk.ErrBadVersion) {
					return false, err
				}
			}
			return false, nil
		}
		if ok {
			r.log.Info("replacing stale node", "path", p, "owner", fmt.Sprintf("%#x", stat.EphemeralOwner))
			err := r.conn.Delete(p, stat.Version)
			if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return false, err
			}
		}
		_, err = r.conn.Create(p, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, zk.ErrNoNode):
			if err := r.createParents(p); err != nil {
				return false, err
			}
		case errors.Is(err, zk.ErrNodeExists):
			// Someone was faster: look again.
		default:
			return false, err
		}
	}
	return false, fmt.Errorf("registry: %s keeps changing under us", p)
}

// createParents creates the persistent nodes above p, lymph's chroot
// included (Python lymph does the same with kazoo's makepath).
func (r *zkRegistry) createParents(p string) error {
	dir := path.Dir(p)
	var at string
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		at += "/" + part
		_, err := r.conn.Create(at, nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// deleteOwn deletes p if it is our session's node. regMu is held.
func (r *zkRegistry) deleteOwn(p string) error {
	ok, stat, err := r.conn.Exists(p)
	if err != nil {
		return err
	}
	if !ok || stat.EphemeralOwner != r.conn.SessionID() {
		return nil // gone, or someone else's now
	}
	err = r.conn.Delete(p, stat.Version)
	if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
		return err
	}
	return nil
}

// Register implements Registry.
func (r *zkRegistry) Register(ctx context.Context, inst Instance) error {
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	data, err := encodeRecord(inst)
	if err != nil {
		return err
	}
	p := path.Join(r.servicePath(inst.Name), inst.ID)
	_, err = run(ctx, r, func(a *attempt) (struct{}, error) {
		r.regMu.Lock()
		defer r.regMu.Unlock()
		_, had := r.own[p]
		if _, err := r.ensure(p, data); err != nil {
			return struct{}{}, err
		}
		if !a.commit() && !had {
			// Our caller gave up and was told it failed: take it back.
			if err := r.deleteOwn(p); err != nil {
				r.gone[p] = true
			}
			return struct{}{}, nil
		}
		delete(r.gone, p)
		r.own[p] = data
		return struct{}{}, nil
	})
	return err
}

// Unregister implements Registry. It forgets the instance at once, so that
// it is never re-created; when the node cannot be deleted now (ZooKeeper
// unreachable), the error says so and the deletion is retried as soon as a
// session is back.
func (r *zkRegistry) Unregister(ctx context.Context, inst Instance) error {
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	p := path.Join(r.servicePath(inst.Name), inst.ID)
	_, err = run(ctx, r, func(*attempt) (struct{}, error) {
		r.regMu.Lock()
		defer r.regMu.Unlock()
		if _, ok := r.own[p]; !ok && !r.gone[p] {
			return struct{}{}, nil
		}
		delete(r.own, p)
		r.gone[p] = true
		if err := r.deleteOwn(p); err != nil {
			return struct{}{}, err
		}
		delete(r.gone, p)
		return struct{}{}, nil
	})
	return err
}

// Lookup implements Registry.
func (r *zkRegistry) Lookup(ctx context.Context, name string) ([]Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return run(ctx, r, func(*attempt) ([]Instance, error) {
		dir := r.servicePath(name)
		children, _, err := r.conn.Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			return []Instance{}, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]Instance, 0, len(children))
		for _, c := range children {
			data, _, err := r.conn.Get(path.Join(dir, c))
			if errors.Is(err, zk.ErrNoNode) {
				continue // left while we read
			}
			if err != nil {
				return nil, err
			}
			inst, err := decodeRecord(name, c, data)
			if err != nil {
				r.log.Warn("ignoring unreadable instance node", "path", path.Join(dir, c), "err", err)
				continue
			}
			out = append(out, inst)
		}
		sortInstances(out)
		return out, nil
	})
}

// Discover implements Registry.
func (r *zkRegistry) Discover(ctx context.Context) ([]string, error) {
	return run(ctx, r, func(*attempt) ([]string, error) {
		root := path.Join(r.cfg.chroot, "services")
		children, _, err := r.conn.Children(root)
		if errors.Is(err, zk.ErrNoNode) {
			return []string{}, nil
		}
		if err != nil {
			return nil, err
		}
		names := []string{}
		for _, c := range children {
			ok, stat, err := r.conn.Exists(path.Join(root, c))
			if err != nil {
				return nil, err
			}
			if ok && stat.NumChildren > 0 && checkName(c) == nil {
				names = append(names, c)
			}
		}
		sort.Strings(names)
		return names, nil
	})
}

func (r *zkRegistry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// goTracked starts fn on a goroutine that Close waits for, unless closed.
func (r *zkRegistry) goTracked(fn func()) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn()
	}()
	return nil
}

// Close implements Registry. Closing the session makes ZooKeeper delete our
// ephemeral nodes at once.
func (r *zkRegistry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.closing)
	r.mu.Unlock()

	r.conn.Close()
	r.wg.Wait()
	// zk.Conn.Close returns before its goroutines end; they close the event
	// channel last, so draining it means none of them outlives Close.
	timeout := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-r.events:
			if !ok {
				return nil
			}
		case <-timeout:
			r.log.Warn("zookeeper connection still shutting down after 30s")
			return nil
		}
	}
}

// zkLogger sends zk's own messages to slog. They are mostly reconnection
// chatter, so they go at Debug level; the registry logs what matters.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "source", "go-zookeeper")
}
