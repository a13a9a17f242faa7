package registry

import (
	"context"
	"sort"
	"sync"
)

// memStores holds the namespaces of memory: registries, for the life of the
// process: a registry opened later must see what an earlier one registered.
var memStores = struct {
	sync.Mutex
	m map[string]*memStore
}{m: map[string]*memStore{}}

func memStoreNamed(ns string) *memStore {
	memStores.Lock()
	defer memStores.Unlock()
	s := memStores.m[ns]
	if s == nil {
		s = &memStore{services: map[string]map[string]memEntry{}, changed: map[string]chan struct{}{}}
		memStores.m[ns] = s
	}
	return s
}

// memStore is one namespace. Each service name has a "changed" channel that
// is closed (and replaced) on every change: a broadcast that lets any number
// of watchers wake without a list of subscribers to maintain.
type memStore struct {
	mu       sync.Mutex
	services map[string]map[string]memEntry // name -> instance id -> entry
	changed  map[string]chan struct{}
}

type memEntry struct {
	inst  Instance
	owner *memRegistry
}

// changedLocked returns the channel that will be closed at name's next change.
func (s *memStore) changedLocked(name string) chan struct{} {
	ch := s.changed[name]
	if ch == nil {
		ch = make(chan struct{})
		s.changed[name] = ch
	}
	return ch
}

func (s *memStore) notifyLocked(name string) {
	if ch := s.changed[name]; ch != nil {
		close(ch)
		delete(s.changed, name)
	}
}

func (s *memStore) lookupLocked(name string) []Instance {
	out := make([]Instance, 0, len(s.services[name]))
	for _, e := range s.services[name] {
		out = append(out, e.inst)
	}
	sortInstances(out)
	return out
}

// memRegistry is a Registry over a memStore.
type memRegistry struct {
	store *memStore

	mu     sync.Mutex // guards closed and the wg.Add that follows a check of it
	closed bool
	done   chan struct{} // closed by Close: ends the watches
	wg     sync.WaitGroup
}

func newMemory(namespace string) *memRegistry {
	return &memRegistry{store: memStoreNamed(namespace), done: make(chan struct{})}
}

func (r *memRegistry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Register implements Registry.
func (r *memRegistry) Register(ctx context.Context, inst Instance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	// Through the same JSON record as the other backends, so that readers
	// see the same Fields (ip, hostname...) whichever backend they use, and
	// the caller's map stays the caller's.
	data, err := encodeRecord(inst)
	if err != nil {
		return err
	}
	if inst, err = decodeRecord(inst.Name, inst.ID, data); err != nil {
		return err
	}
	s := r.store
	s.mu.Lock()
	defer s.mu.Unlock()
	// Checked under the store lock, so Close (which takes it to withdraw
	// our entries) cannot run between the check and the insert.
	if r.isClosed() {
		return ErrClosed
	}
	if s.services[inst.Name] == nil {
		s.services[inst.Name] = map[string]memEntry{}
	}
	s.services[inst.Name][inst.ID] = memEntry{inst: inst, owner: r}
	s.notifyLocked(inst.Name)
	return nil
}

// Unregister implements Registry.
func (r *memRegistry) Unregister(ctx context.Context, inst Instance) error {
	if r.isClosed() {
		return ErrClosed
	}
	inst, err := inst.normalize()
	if err != nil {
		return err
	}
	s := r.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.services[inst.Name][inst.ID]; ok && e.owner == r {
		delete(s.services[inst.Name], inst.ID)
		s.notifyLocked(inst.Name)
	}
	return nil
}

// Lookup implements Registry.
func (r *memRegistry) Lookup(ctx context.Context, name string) ([]Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if r.isClosed() {
		return nil, ErrClosed
	}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	return r.store.lookupLocked(name), nil
}

// Discover implements Registry.
func (r *memRegistry) Discover(ctx context.Context) ([]string, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	var names []string
	for name, insts := range r.store.services {
		if len(insts) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Watch implements Registry.
func (r *memRegistry) Watch(ctx context.Context, name string) (<-chan []Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	snap := newSnapshots()
	r.wg.Add(1)
	go r.watch(ctx, name, snap)
	return snap.out, nil
}

func (r *memRegistry) watch(ctx context.Context, name string, snap *snapshots) {
	defer r.wg.Done()
	defer close(snap.out)
	for {
		r.store.mu.Lock()
		snap.offer(r.store.lookupLocked(name))
		changed := r.store.changedLocked(name)
		r.store.mu.Unlock()
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return
			case <-r.done:
				return
			case snap.ch() <- snap.pending:
				snap.delivered()
			case <-changed:
				waiting = false
			}
		}
	}
}

// Close implements Registry.
func (r *memRegistry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	r.mu.Unlock()
	r.wg.Wait()

	s := r.store
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, insts := range s.services {
		for id, e := range insts {
			if e.owner == r {
				delete(insts, id)
				s.notifyLocked(name)
			}
		}
	}
	return nil
}
