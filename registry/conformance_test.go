package registry

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opener opens a fresh Registry on the store under test; registries opened
// by the same opener see each other (one namespace, directory or chroot).
type opener func(t *testing.T) Registry

// testConformance checks the behaviour every backend shares.
func testConformance(t *testing.T, open opener) {
	t.Run("RegisterLookupUnregister", func(t *testing.T) {
		ctx := ctxFor(t)
		a, b := open(t), open(t)
		name := randomName("svc")
		i1, i2 := instance(t, name, 1001, ""), instance(t, name, 1002, "")
		require.NoError(t, a.Register(ctx, i1))
		require.NoError(t, a.Register(ctx, i1), "registering twice is fine")
		require.NoError(t, b.Register(ctx, i2))

		got, err := b.Lookup(ctx, name)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.ElementsMatch(t, []string{i1.Endpoint, i2.Endpoint}, endpoints(got))
		for _, inst := range got {
			want := i1
			if inst.Endpoint == i2.Endpoint {
				want = i2
			}
			assert.Equal(t, want.ID, inst.ID)
			assert.Equal(t, want.Identity, inst.Identity)
			assert.Equal(t, name, inst.Name)
			assert.Equal(t, "", inst.Version)
			assert.Equal(t, "127.0.0.1", inst.Fields["ip"])
		}

		require.NoError(t, b.Unregister(ctx, i1), "not b's: left alone")
		got, err = a.Lookup(ctx, name)
		require.NoError(t, err)
		assert.Len(t, got, 2)

		require.NoError(t, a.Unregister(ctx, i1))
		require.NoError(t, a.Unregister(ctx, i1), "unregistering twice is fine")
		got, err = a.Lookup(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, []string{i2.Endpoint}, endpoints(got))

		none, err := a.Lookup(ctx, randomName("nobody"))
		require.NoError(t, err)
		assert.Empty(t, none)
		assert.NotNil(t, none, "no instance is an empty set, not nil")
	})

	t.Run("VersionsAndFields", func(t *testing.T) {
		ctx := ctxFor(t)
		r := open(t)
		name := randomName("svc")
		inst := instance(t, name, 1003, "1.2.0")
		inst.Fields = map[string]any{"log_endpoint": "tcp://127.0.0.1:9", "custom": "x"}
		require.NoError(t, r.Register(ctx, inst))
		got, err := r.Lookup(ctx, name)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "1.2.0", got[0].Version)
		assert.Equal(t, inst.ID, got[0].ID)
		assert.Equal(t, "tcp://127.0.0.1:9", got[0].Fields["log_endpoint"])
		assert.Equal(t, "x", got[0].Fields["custom"])
		assert.Len(t, Match(got, "1.1"), 1)
		assert.Empty(t, Match(got, "1.3"))
	})

	t.Run("Discover", func(t *testing.T) {
		ctx := ctxFor(t)
		r := open(t)
		n1, n2 := randomName("disc"), randomName("disc")
		i1 := instance(t, n1, 1004, "")
		require.NoError(t, r.Register(ctx, i1))
		require.NoError(t, r.Register(ctx, instance(t, n2, 1005, "")))
		names, err := r.Discover(ctx)
		require.NoError(t, err)
		assert.Contains(t, names, n1)
		assert.Contains(t, names, n2)
		assert.IsIncreasing(t, names)

		require.NoError(t, r.Unregister(ctx, i1))
		names, err = r.Discover(ctx)
		require.NoError(t, err)
		assert.NotContains(t, names, n1, "a name without live instances is not listed")
		assert.Contains(t, names, n2)
	})

	t.Run("WatchJoinAndLeave", func(t *testing.T) {
		ctx := ctxFor(t)
		watcher, a, b := open(t), open(t), open(t)
		name := randomName("watch")
		ch, err := watcher.Watch(ctx, name)
		require.NoError(t, err)
		nextSet(t, ch, "initial empty set", hasEndpoints())

		i1, i2 := instance(t, name, 1006, ""), instance(t, name, 1007, "")
		require.NoError(t, a.Register(ctx, i1))
		nextSet(t, ch, "first joins", hasEndpoints(i1.Endpoint))
		require.NoError(t, b.Register(ctx, i2))
		nextSet(t, ch, "second joins", hasEndpoints(i1.Endpoint, i2.Endpoint))
		require.NoError(t, a.Unregister(ctx, i1))
		nextSet(t, ch, "first leaves", hasEndpoints(i2.Endpoint))
		require.NoError(t, b.Close())
		nextSet(t, ch, "second's registry closes", hasEndpoints())
	})

	t.Run("WatchStartsWithCurrentSet", func(t *testing.T) {
		ctx := ctxFor(t)
		r := open(t)
		name := randomName("watch")
		inst := instance(t, name, 1008, "")
		require.NoError(t, r.Register(ctx, inst))
		ch, err := r.Watch(ctx, name)
		require.NoError(t, err)
		set := <-ch
		assert.Equal(t, []string{inst.Endpoint}, endpoints(set))
	})

	t.Run("WatchEndsWithContext", func(t *testing.T) {
		r := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := r.Watch(ctx, randomName("watch"))
		require.NoError(t, err)
		cancel()
		waitClosed(t, ch)
	})

	t.Run("WatchEndsWithClose", func(t *testing.T) {
		r := open(t)
		ch, err := r.Watch(ctxFor(t), randomName("watch"))
		require.NoError(t, err)
		require.NoError(t, r.Close())
		waitClosed(t, ch)
	})

	t.Run("SlowReaderGetsLatestSet", func(t *testing.T) {
		ctx := ctxFor(t)
		watcher, r := open(t), open(t)
		name := randomName("watch")
		ch, err := watcher.Watch(ctx, name)
		require.NoError(t, err)
		// Not reading while instances come and go: the reader must get
		// the final state, without a backlog in front of it.
		var last Instance
		for i := range 5 {
			last = instance(t, name, 2000+i, "")
			require.NoError(t, r.Register(ctx, last))
		}
		nextSet(t, ch, "all five", func(s []Instance) bool { return len(s) == 5 })
	})

	t.Run("StaleAtSamePathIsReplaced", func(t *testing.T) {
		ctx := ctxFor(t)
		old, restarted := open(t), open(t)
		name := randomName("svc")
		inst := instance(t, name, 1009, "")
		oldInst := inst
		oldInst.Fields = map[string]any{"hostname": "old"}
		require.NoError(t, old.Register(ctx, oldInst))
		// A restart on the same endpoint, faster than the old registration
		// went away: same instance id, so the same path.
		inst.Fields = map[string]any{"hostname": "new"}
		require.NoError(t, restarted.Register(ctx, inst))
		got, err := restarted.Lookup(ctx, name)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "new", got[0].Fields["hostname"])

		require.NoError(t, old.Close(), "closing the old owner must not remove the new registration")
		got, err = restarted.Lookup(ctx, name)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, "new", got[0].Fields["hostname"])
	})

	t.Run("CloseWithdrawsAndRefuses", func(t *testing.T) {
		ctx := ctxFor(t)
		r, other := open(t), open(t)
		name := randomName("svc")
		inst := instance(t, name, 1010, "")
		require.NoError(t, r.Register(ctx, inst))
		require.NoError(t, r.Close())
		require.NoError(t, r.Close(), "closing twice is fine")
		got, err := other.Lookup(ctx, name)
		require.NoError(t, err)
		assert.Empty(t, got)

		assert.ErrorIs(t, r.Register(ctx, inst), ErrClosed)
		_, err = r.Lookup(ctx, name)
		assert.ErrorIs(t, err, ErrClosed)
		_, err = r.Watch(ctx, name)
		assert.ErrorIs(t, err, ErrClosed)
		_, err = r.Discover(ctx)
		assert.ErrorIs(t, err, ErrClosed)
	})

	t.Run("InvalidNames", func(t *testing.T) {
		ctx := ctxFor(t)
		r := open(t)
		for _, name := range []string{"", "a/b", "..", ".x"} {
			_, err := r.Lookup(ctx, name)
			assert.ErrorIs(t, err, ErrInvalidName, "%q", name)
			_, err = r.Watch(ctx, name)
			assert.ErrorIs(t, err, ErrInvalidName, "%q", name)
			err = r.Register(ctx, Instance{Name: name, Endpoint: "tcp://127.0.0.1:1"})
			assert.ErrorIs(t, err, ErrInvalidName, "%q", name)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		r := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := r.Register(ctx, instance(t, randomName("svc"), 1011, ""))
		assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	})
}
