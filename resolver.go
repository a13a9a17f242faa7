package lymph

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/lymphgo/lymph/registry"
)

// resolver finds a service's instances through the registry. It watches
// each name it was asked for, so a call costs a map lookup rather than a
// registry round trip, and it learns of joins and leaves as they happen.
type resolver struct {
	reg    registry.Registry
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	names map[string]*watchedName
}

// watchedName is what the resolver knows of one name.
type watchedName struct {
	ready     chan struct{} // closed once the first set arrived (or the watch failed)
	mu        sync.Mutex
	instances []registry.Instance
	err       error
}

func newResolver(reg registry.Registry, logger *slog.Logger) *resolver {
	ctx, cancel := context.WithCancel(context.Background())
	return &resolver{reg: reg, logger: logger, ctx: ctx, cancel: cancel, names: map[string]*watchedName{}}
}

// lookup returns the instances of name whose version satisfies constraint.
func (r *resolver) lookup(ctx context.Context, name, constraint string) ([]registry.Instance, error) {
	r.mu.Lock()
	w, ok := r.names[name]
	if !ok {
		w = &watchedName{ready: make(chan struct{})}
		r.names[name] = w
		r.wg.Add(1)
		go r.watch(name, w)
	}
	r.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %v", ErrLookupFailure, name, ctx.Err())
	}
	w.mu.Lock()
	instances, err := w.instances, w.err
	w.mu.Unlock()
	if err != nil {
		// The watch failed: ask the registry directly rather than fail.
		if instances, err = r.reg.Lookup(ctx, name); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrLookupFailure, name, err)
		}
	}
	return registry.Match(instances, constraint), nil
}

func (r *resolver) watch(name string, w *watchedName) {
	defer r.wg.Done()
	first := true
	markReady := func() {
		if first {
			first = false
			close(w.ready)
		}
	}
	defer markReady()
	updates, err := r.reg.Watch(r.ctx, name)
	if err != nil {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
		r.logger.Warn("cannot watch service in registry; looking it up on each call", "service", name, "error", err)
		return
	}
	for instances := range updates {
		w.mu.Lock()
		w.instances, w.err = instances, nil
		w.mu.Unlock()
		markReady()
	}
	// The watch ended: forget the name so the next lookup starts a new one.
	r.mu.Lock()
	if r.names[name] == w {
		delete(r.names, name)
	}
	r.mu.Unlock()
	w.mu.Lock()
	if w.err == nil && r.ctx.Err() == nil {
		w.err = fmt.Errorf("watch of %q ended", name)
	}
	w.mu.Unlock()
}

func (r *resolver) close() {
	r.cancel()
	r.wg.Wait()
}
