package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// attempt tells an operation that outlived its caller's context whether the
// caller gave up on it, and tells the caller whether it took effect anyway.
type attempt struct {
	mu                   sync.Mutex
	abandoned, committed bool
}

// commit marks the operation done, unless its caller gave up first.
func (a *attempt) commit() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.committed = !a.abandoned
	return a.committed
}

// abandon marks the operation given up, unless it was committed first.
func (a *attempt) abandon() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.abandoned = !a.committed
	return a.abandoned
}

// offlineWait is how long a read or a registration waits for a ZooKeeper
// session when there is none, before it fails with ErrUnavailable: long
// enough for the first session of a registry just opened, short enough
// that a caller learns at once that ZooKeeper is down.
const offlineWait = 500 * time.Millisecond

// runOnline is run for operations that are pointless without a session:
// with none, it waits for one at most offlineWait.
func runOnline[T any](ctx context.Context, r *zkRegistry, op func(*attempt) (T, error)) (T, error) {
	if !r.online.Load() && !r.isClosed() {
		gen := r.sessionGen()
		if !r.online.Load() {
			t := time.NewTimer(offlineWait)
			select {
			case <-gen:
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if !r.online.Load() && !r.isClosed() {
			var zero T
			if err := ctx.Err(); err != nil {
				return zero, err
			}
			return zero, fmt.Errorf("%w: no ZooKeeper session with %s", ErrUnavailable, strings.Join(r.cfg.hosts, ","))
		}
	}
	return run(ctx, r, op)
}

// run runs op on a goroutine of its own so that ctx can end the wait: zk's
// requests take no context, and while ZooKeeper is unreachable they wait for
// a cycle of reconnection attempts.
func run[T any](ctx context.Context, r *zkRegistry, op func(*attempt) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	a := &attempt{}
	if err := r.goTracked(func() {
		v, err := op(a)
		done <- result{v, err}
	}); err != nil {
		return zero, err
	}
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		if a.abandon() {
			return zero, ctx.Err()
		}
		res = <-done // it took effect: report how it ended
	}
	return res.v, r.wrapErr(res.err)
}

// wrapErr marks connection failures with ErrUnavailable, and those caused
// by our own Close with ErrClosed.
func (r *zkRegistry) wrapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrConnectionClosed), errors.Is(err, zk.ErrClosing):
		if r.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, zk.ErrNoServer), errors.Is(err, zk.ErrSessionExpired),
		errors.Is(err, zk.ErrSessionMoved):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
