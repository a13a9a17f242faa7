package lymph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lymphgo/lymph/registry"
)

const (
	// emptyHoldBack is how long a name keeps its last instances when the
	// registry suddenly reports none. A registry that lost its data (a
	// ZooKeeper restarted empty) reports none until the instances register
	// again; gRPC's resolver rule is the model: an empty update is not
	// trusted over a working set. Instances that are really gone fail fast
	// (their connections are refused) and are skipped meanwhile.
	emptyHoldBack = 3 * time.Second
	// unusedAfter is how long a name nobody looks up keeps its watch.
	unusedAfter = 5 * time.Minute
	// watchRetryMin and watchRetryMax bound the backoff between attempts
	// to watch a name whose watch failed or ended.
	watchRetryMin = 100 * time.Millisecond
	watchRetryMax = 5 * time.Second
	// maxCachedConstraints bounds the matches kept per instance set.
	maxCachedConstraints = 32
)

// resolver finds a service's instances through the registry. It watches
// each name it was asked for, so a call costs a map lookup rather than a
// registry round trip, and it learns of joins and leaves as they happen.
// A failed watch is retried in the background (lookups ask the registry
// directly meanwhile), and a name unused for unusedAfter is forgotten.
type resolver struct {
	reg    registry.Registry
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	epoch  time.Time

	mu     sync.Mutex
	closed bool
	names  map[string]*watchedName
	wg     sync.WaitGroup // the watch goroutines and the sweeper
}

// watchedName is what the resolver knows of one name.
type watchedName struct {
	ready  chan struct{} // closed once the first set arrived, or the first watch failed
	used   atomic.Int64  // resolver.now() of the last lookup
	cancel context.CancelFunc

	mu      sync.Mutex
	set     *instanceSet // nil until a set arrived
	prev    *instanceSet // the last non-empty set, while an empty one is held back
	emptyAt time.Time
	err     error // why there is no watch right now
}

// instanceSet is one set of instances the registry reported, with the
// endpoints matching each version constraint asked of it, computed once.
type instanceSet struct {
	instances []registry.Instance
	mu        sync.Mutex
	matches   map[string][]string
}

func newInstanceSet(instances []registry.Instance) *instanceSet {
	return &instanceSet{instances: instances, matches: map[string][]string{}}
}

// endpoints returns the endpoints of the instances matching constraint.
// The slice is shared: do not modify it.
func (s *instanceSet) endpoints(constraint string) []string {
	s.mu.Lock()
	eps, ok := s.matches[constraint]
	s.mu.Unlock()
	if ok {
		return eps
	}
	matched := registry.Match(s.instances, constraint)
	eps = make([]string, len(matched))
	for i, inst := range matched {
		eps[i] = inst.Endpoint
	}
	s.mu.Lock()
	if len(s.matches) < maxCachedConstraints {
		s.matches[constraint] = eps
	}
	s.mu.Unlock()
	return eps
}

func newResolver(reg registry.Registry, logger *slog.Logger) *resolver {
	ctx, cancel := context.WithCancel(context.Background())
	r := &resolver{reg: reg, logger: logger, ctx: ctx, cancel: cancel, epoch: time.Now(), names: map[string]*watchedName{}}
	r.wg.Add(1)
	go r.sweep()
	return r
}

func (r *resolver) now() int64 { return int64(time.Since(r.epoch)) }

// endpoints returns the endpoints of name's instances whose version
// satisfies constraint (already checked to parse). The slice is shared.
func (r *resolver) endpoints(ctx context.Context, name, constraint string) ([]string, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %s: the container stopped", ErrNotRunning, name)
	}
	w, ok := r.names[name]
	if !ok {
		wctx, cancel := context.WithCancel(r.ctx)
		w = &watchedName{ready: make(chan struct{}), cancel: cancel}
		r.names[name] = w
		r.wg.Add(1)
		go r.watch(wctx, name, w)
	}
	r.mu.Unlock()
	w.used.Store(r.now())

	select {
	case <-w.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %v", ErrLookupFailure, name, ctx.Err())
	}
	w.mu.Lock()
	set, err := w.set, w.err
	if set != nil && len(set.instances) == 0 && w.prev != nil {
		if time.Since(w.emptyAt) < emptyHoldBack {
			set = w.prev
		} else {
			w.prev = nil
		}
	}
	w.mu.Unlock()
	if set == nil && errors.Is(err, registry.ErrUnavailable) {
		// The registry is down and nothing of name is known: say so now
		// rather than make the caller wait for it.
		return nil, fmt.Errorf("%w: %s: %w", ErrLookupFailure, name, err)
	}
	if set == nil {
		// No watch yet: ask the registry directly rather than fail.
		instances, lerr := r.reg.Lookup(ctx, name)
		if lerr != nil {
			return nil, fmt.Errorf("%w: %s: %v (watch: %v)", ErrLookupFailure, name, lerr, err)
		}
		return newInstanceSet(instances).endpoints(constraint), nil
	}
	return set.endpoints(constraint), nil
}

// watch follows name until ctx ends, starting the registry's watch again
// (with backoff) whenever it fails or ends.
func (r *resolver) watch(ctx context.Context, name string, w *watchedName) {
	defer r.wg.Done()
	var once sync.Once
	markReady := func() { once.Do(func() { close(w.ready) }) }
	defer markReady()
	backoff := watchRetryMin
	for {
		updates, err := r.reg.Watch(ctx, name)
		if err == nil {
			for instances := range updates {
				w.apply(instances)
				markReady()
				backoff = watchRetryMin
			}
			err = fmt.Errorf("watch of %q ended", name)
		}
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		markReady()
		r.logger.Warn("cannot watch service in registry; retrying", "service", name, "error", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, watchRetryMax)
	}
}

// apply takes a new set from the registry.
func (w *watchedName) apply(instances []registry.Instance) {
	set := newInstanceSet(instances)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(instances) == 0 && w.set != nil && len(w.set.instances) > 0 {
		w.prev, w.emptyAt = w.set, time.Now()
	} else if len(instances) > 0 {
		w.prev = nil
	}
	w.set, w.err = set, nil
}

// sweep forgets the names nobody looked up for unusedAfter.
func (r *resolver) sweep() {
	defer r.wg.Done()
	tick := time.NewTicker(unusedAfter / 5)
	defer tick.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
		}
		r.forgetUnused(unusedAfter)
	}
}

// forgetUnused ends the watches of the names not looked up for d.
func (r *resolver) forgetUnused(d time.Duration) {
	limit := r.now() - int64(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, w := range r.names {
		if w.used.Load() < limit {
			w.cancel()
			delete(r.names, name)
		}
	}
}

func (r *resolver) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}
