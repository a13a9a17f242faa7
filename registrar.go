package lymph

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lymphgo/lymph/registry"
)

// registerWait bounds how long Start and Install wait for the registry
// before they leave a registration to the background: a container serves
// while its registry is down, and registers when it answers again.
const registerWait = 2 * time.Second

// registerRetry is how often registrations the registry refused for being
// unavailable are tried again.
const registerRetry = 500 * time.Millisecond

// registrar keeps the container's instances registered. A registration the
// registry cannot take now (it is unreachable) is kept and retried in the
// background; lymph.status reports what is still pending.
type registrar struct {
	reg registry.Registry
	log *slog.Logger

	mu      sync.Mutex
	want    map[string]registry.Instance // by instance id
	pending map[string]bool              // wanted, not yet registered
	lastErr error
	kick    chan struct{}
}

func newRegistrar(reg registry.Registry, log *slog.Logger) *registrar {
	return &registrar{reg: reg, log: log, want: map[string]registry.Instance{}, pending: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// transient reports whether a registration error may go away by itself.
func transient(err error) bool {
	return errors.Is(err, registry.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// add registers inst, waiting at most registerWait (and ctx). An error
// that may pass (the registry is unreachable) leaves inst to the
// background retries and returns nil; any other is returned.
func (r *registrar) add(ctx context.Context, inst registry.Instance) error {
	r.mu.Lock()
	r.want[inst.ID] = inst
	r.pending[inst.ID] = true
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, registerWait)
	defer cancel()
	err := r.reg.Register(ctx, inst)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		delete(r.pending, inst.ID)
		return nil
	case transient(err):
		r.lastErr = err
		r.log.Warn("registry unavailable: serving unregistered, registering when it answers", "interface", inst.Name, "error", err)
		r.poke()
		return nil
	}
	delete(r.want, inst.ID)
	delete(r.pending, inst.ID)
	return err
}

func (r *registrar) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// run retries pending registrations until ctx ends.
func (r *registrar) run(ctx context.Context) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-retry:
		}
		retry = nil
		if r.retry(ctx) > 0 {
			retry = time.After(registerRetry)
		}
	}
}

// retry tries each pending registration once and returns how many are
// still pending.
func (r *registrar) retry(ctx context.Context) int {
	r.mu.Lock()
	var todo []registry.Instance
	for id := range r.pending {
		todo = append(todo, r.want[id])
	}
	r.mu.Unlock()
	left := 0
	for _, inst := range todo {
		attempt, cancel := context.WithTimeout(ctx, registerWait)
		err := r.reg.Register(attempt, inst)
		cancel()
		r.mu.Lock()
		_, wanted := r.want[inst.ID]
		switch {
		case !wanted: // withdrawn meanwhile
			if err == nil {
				r.mu.Unlock()
				_ = r.reg.Unregister(ctx, inst)
				continue
			}
		case err == nil:
			delete(r.pending, inst.ID)
			r.log.Info("registered", "interface", inst.Name, "instance", inst.ID)
		default:
			r.lastErr = err
			left++
		}
		r.mu.Unlock()
	}
	return left
}

// withdrawAll unregisters every instance, within ctx.
func (r *registrar) withdrawAll(ctx context.Context) {
	r.mu.Lock()
	all := make([]registry.Instance, 0, len(r.want))
	for _, inst := range r.want {
		all = append(all, inst)
	}
	clear(r.want)
	clear(r.pending)
	r.mu.Unlock()
	for _, inst := range all {
		if err := r.reg.Unregister(ctx, inst); err != nil {
			r.log.Warn("cannot unregister interface", "interface", inst.Name, "error", err)
		}
	}
}

// status reports how many registrations are wanted and pending, and the
// last error of a pending one.
func (r *registrar) status() (wanted, pending int, lastErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 {
		lastErr = r.lastErr
	}
	return len(r.want), len(r.pending), lastErr
}

// registrationStatus is the part of lymph.status that tells whether the
// container is registered.
func (c *Container) registrationStatus() map[string]any {
	if c.registrar == nil {
		return map[string]any{"registration": "none"}
	}
	_, pending, err := c.registrar.status()
	if pending == 0 {
		return map[string]any{"registration": "registered"}
	}
	return map[string]any{"registration": "pending", "registration_error": err.Error()}
}
