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
	cfg zkConfig
	log *slog.Logger

	// conn is the current connection. It is replaced (see renewLoop) when
	// the server keeps refusing to resume our session: a ZooKeeper that
	// restarted without its data refuses every client that has seen a
	// higher zxid than its own, and zk.Conn retries with that zxid forever.
	conn    atomic.Pointer[zk.Conn]
	connGen atomic.Int64 // which connection's events onEvent acts on
	// hadSession is the connGen of the last connection that had a
	// session: only such a connection can be refused for its zxid.
	hadSession   atomic.Int64
	offlineSince atomic.Int64  // unix nanos; 0 while online
	renew        chan struct{} // cap 1: the server refused to resume the session
	drains       sync.WaitGroup

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
	r.renew = make(chan struct{}, 1)
	firstSession := r.gen
	if err := r.connect(); err != nil {
		return nil, err
	}
	if cfg.connectTimeout > 0 {
		select {
		case <-firstSession:
		case <-time.After(cfg.connectTimeout):
			r.Close()
			return nil, fmt.Errorf("%w: no ZooKeeper session with %s within %v",
				ErrUnavailable, strings.Join(cfg.hosts, ","), cfg.connectTimeout)
		}
	}
	r.wg.Add(2)
	go r.resyncLoop()
	go r.renewLoop()
	return r, nil
}

// connect makes a new connection (and so a new session) the current one,
// closing the previous one.
func (r *zkRegistry) connect() error {
	gen := r.connGen.Add(1)
	conn, events, err := zk.Connect(r.cfg.hosts, r.cfg.sessionTimeout,
		zk.WithLogger(zkLogger{log: r.log, refused: func() { r.refused(gen) }}),
		zk.WithLogInfo(false),
		// The callback, unlike the event channel, never drops an event.
		zk.WithEventCallback(func(ev zk.Event) {
			if r.connGen.Load() == gen {
				if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
					r.hadSession.Store(gen)
				}
				r.onEvent(ev)
			}
		}))
	if err != nil {
		return fmt.Errorf("registry: zookeeper %v: %w", r.cfg.hosts, err)
	}
	old := r.conn.Swap(conn)
	r.drains.Add(1)
	go func() {
		defer r.drains.Done()
		// zk closes the channel when its goroutines are gone.
		for range events {
		}
	}()
	if old != nil {
		old.Close()
	}
	return nil
}

// zc returns the current connection.
func (r *zkRegistry) zc() *zk.Conn { return r.conn.Load() }

// refused is told (on zk's goroutine: it must not block) that a server
// closed connection gen while it tried to resume its session.
func (r *zkRegistry) refused(gen int64) {
	if r.online.Load() || gen != r.connGen.Load() || r.hadSession.Load() != gen {
		return // a fresh connection has no zxid to be refused for
	}
	select {
	case r.renew <- struct{}{}:
	default:
	}
}

// renewMinInterval spaces new sessions: a server that refuses for another
// reason must not make us open connections in a loop.
const renewMinInterval = 2 * time.Second

// renewLoop starts a new session when the server refuses to resume ours
// (see conn), or when ours could not be resumed for a session timeout
// (the server has expired it by then, or lost it): our nodes are then
// re-created in it by resync, within a moment of ZooKeeper answering.
func (r *zkRegistry) renewLoop() {
	defer r.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last time.Time
	var later <-chan time.Time // a refusal that came too soon after the last renewal
	for {
		why := ""
		select {
		case <-r.closing:
			return
		case <-r.renew:
			why = "zookeeper refuses to resume our session (did it lose its data?); starting a new one"
		case <-later:
			later = nil
			if r.hadSession.Load() != r.connGen.Load() {
				continue // renewed since, by the ticker
			}
			why = "zookeeper refuses to resume our session (did it lose its data?); starting a new one"
		case <-tick.C:
			since := r.offlineSince.Load()
			if since == 0 || time.Since(time.Unix(0, since)) < r.cfg.sessionTimeout || r.hadSession.Load() != r.connGen.Load() {
				continue
			}
			why = "no zookeeper session for a session timeout; starting a new one"
		}
		if r.online.Load() || r.isClosed() {
			continue
		}
		if wait := renewMinInterval - time.Since(last); wait > 0 {
			// Not dropped: zk would say it again only at its next refusal.
			if later == nil {
				later = time.After(wait)
			}
			continue
		}
		last = time.Now()
		r.log.Warn(why)
		if err := r.connect(); err != nil {
			r.log.Warn("cannot reconnect to zookeeper", "err", err)
		}
	}
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
		r.offlineSince.Store(0)
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
			r.offlineSince.Store(time.Now().UnixNano())
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
	conn := r.zc()
	for range 5 {
		ok, stat, err := conn.Exists(p)
		if err != nil {
			return false, err
		}
		if ok && stat.EphemeralOwner == conn.SessionID() {
			cur, stat, err := conn.Get(p)
			if errors.Is(err, zk.ErrNoNode) {
				continue
			}
			if err != nil {
				return false, err
			}
			if !bytes.Equal(cur, data) {
				if _, err := conn.Set(p, data, stat.Version); err != nil && !errors.Is(err, zk.ErrBadVersion) {
					return false, err
				}
			}
			return false, nil
		}
		if ok {
			r.log.Info("replacing stale node", "path", p, "owner", fmt.Sprintf("%#x", stat.EphemeralOwner))
			err := conn.Delete(p, stat.Version)
			if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
				return false, err
			}
		}
		_, err = conn.Create(p, data, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
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
	conn := r.zc()
	dir := path.Dir(p)
	var at string
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		at += "/" + part
		_, err := conn.Create(at, nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// deleteOwn deletes p if it is our session's node. regMu is held.
func (r *zkRegistry) deleteOwn(p string) error {
	conn := r.zc()
	ok, stat, err := conn.Exists(p)
	if err != nil {
		return err
	}
	if !ok || stat.EphemeralOwner != conn.SessionID() {
		return nil // gone, or someone else's now
	}
	err = conn.Delete(p, stat.Version)
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
	return r.registerPath(ctx, path.Join(r.servicePath(inst.Name), inst.ID), data)
}

// registerPath keeps an ephemeral node at p holding data, in this session
// and the next ones, until unregisterPath.
func (r *zkRegistry) registerPath(ctx context.Context, p string, data []byte) error {
	_, err := runOnline(ctx, r, func(a *attempt) (struct{}, error) {
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
	return r.unregisterPath(ctx, path.Join(r.servicePath(inst.Name), inst.ID))
}

// unregisterPath forgets the node at p at once, so that it is never
// re-created, and deletes it now or, when ZooKeeper is unreachable, as
// soon as a session is back (the error then says so).
func (r *zkRegistry) unregisterPath(ctx context.Context, p string) error {
	_, err := run(ctx, r, func(*attempt) (struct{}, error) {
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
	return runOnline(ctx, r, func(*attempt) ([]Instance, error) {
		dir := r.servicePath(name)
		children, _, err := r.zc().Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			return []Instance{}, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]Instance, 0, len(children))
		for _, c := range children {
			data, _, err := r.zc().Get(path.Join(dir, c))
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
	return runOnline(ctx, r, func(*attempt) ([]string, error) {
		root := path.Join(r.cfg.chroot, "services")
		children, _, err := r.zc().Children(root)
		if errors.Is(err, zk.ErrNoNode) {
			return []string{}, nil
		}
		if err != nil {
			return nil, err
		}
		names := []string{}
		for _, c := range children {
			ok, stat, err := r.zc().Exists(path.Join(root, c))
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

	r.wg.Wait() // renewLoop makes no connection after this
	r.zc().Close()
	// zk.Conn.Close returns before its goroutines end; they close the event
	// channel last, so draining it means none of them outlives Close.
	drained := make(chan struct{})
	go func() { r.drains.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
		r.log.Warn("zookeeper connection still shutting down after 30s")
	}
	return nil
}

// zkLogger sends zk's own messages to slog. They are mostly reconnection
// chatter, so they go at Debug level; the registry logs what matters. zk
// reports a server refusing to resume the session only this way.
type zkLogger struct {
	log     *slog.Logger
	refused func()
}

func (l zkLogger) Printf(format string, args ...any) {
	if strings.HasPrefix(format, "authentication failed") && l.refused != nil {
		l.refused()
	}
	l.log.Debug(fmt.Sprintf(format, args...), "source", "go-zookeeper")
}
