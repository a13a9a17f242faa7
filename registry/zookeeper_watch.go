package registry

import (
	"context"
	"errors"
	"path"
	"reflect"
	"time"

	"github.com/go-zookeeper/zk"
)

// zkWatch follows one service: a children watch on /services/NAME for joins
// and leaves (an exists watch while that node is missing), and a data watch
// on each instance node for changes of its record. ZooKeeper watches fire
// once, so each firing is followed by a reread that sets a new one; a
// record whose watch has not fired is not read again.
type zkWatch struct {
	r     *zkRegistry
	name  string
	dir   string
	snap  *snapshots
	known map[string]*zkChild // node name -> what we read

	parent <-chan zk.Event // the children (or exists) watch; nil once fired
	gen    <-chan struct{} // closed when a new session is gained
}

type zkChild struct {
	inst  *Instance       // nil when the record is unreadable
	watch <-chan zk.Event // nil once fired
}

const (
	zkWatchRetryMin = 250 * time.Millisecond
	zkWatchRetryMax = 5 * time.Second
)

// Watch implements Registry.
func (r *zkRegistry) Watch(ctx context.Context, name string) (<-chan []Instance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	w := &zkWatch{r: r, name: name, dir: r.servicePath(name), snap: newSnapshots(), known: map[string]*zkChild{}}
	// The first set is read before Watch returns, so that watching an
	// unreachable ZooKeeper fails instead of staying silent.
	if _, err := runOnline(ctx, r, func(*attempt) (struct{}, error) { return struct{}{}, w.read() }); err != nil {
		return nil, err
	}
	if err := r.goTracked(func() { w.loop(ctx) }); err != nil {
		return nil, err
	}
	return w.snap.out, nil
}

func (w *zkWatch) loop(ctx context.Context) {
	defer close(w.snap.out)
	backoff := zkWatchRetryMin
	var retry <-chan time.Time
	for {
		// Fixed cases first, then one per armed instance watch.
		const (
			caseCtx = iota
			caseClosing
			caseGen
			caseRetry
			caseParent
			caseSend
			caseChildren
		)
		cases := []reflect.SelectCase{
			caseCtx:     recvCase(ctx.Done()),
			caseClosing: recvCase(w.r.closing),
			caseGen:     recvCase(w.gen),
			caseRetry:   recvCase(retry),
			caseParent:  recvCase(w.parent),
			caseSend:    {Dir: reflect.SelectSend},
		}
		if out := w.snap.ch(); out != nil {
			cases[caseSend] = reflect.SelectCase{Dir: reflect.SelectSend, Chan: reflect.ValueOf(out), Send: reflect.ValueOf(w.snap.pending)}
		}
		var names []string
		for n, c := range w.known {
			if c.watch != nil {
				names = append(names, n)
				cases = append(cases, recvCase(c.watch))
			}
		}
		chosen, _, _ := reflect.Select(cases)
		switch chosen {
		case caseCtx, caseClosing:
			return
		case caseSend:
			w.snap.delivered()
			continue
		case caseParent:
			w.parent = nil
		case caseRetry:
			retry = nil
		case caseGen:
			// A new session: every watch may be gone (an expiry) and the
			// instances may have changed while we were away.
		default:
			w.known[names[chosen-caseChildren]].watch = nil
		}
		if err := w.read(); err != nil {
			if errors.Is(w.r.wrapErr(err), ErrClosed) {
				return
			}
			w.r.log.Debug("watch: cannot read instances; retrying", "name", w.name, "err", err, "in", backoff)
			retry = time.After(backoff)
			backoff = min(2*backoff, zkWatchRetryMax)
			continue
		}
		backoff = zkWatchRetryMin
	}
}

// recvCase is a receive case; a nil channel makes a case that is never
// ready, like a nil channel in a select statement.
func recvCase[T any](ch <-chan T) reflect.SelectCase {
	if ch == nil {
		return reflect.SelectCase{Dir: reflect.SelectRecv}
	}
	return reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
}

// read rereads the service, re-arming the watches that have fired, and
// offers the resulting set.
func (w *zkWatch) read() error {
	w.gen = w.r.sessionGen() // taken first: a session gained later wakes us
	w.parent = nil
	conn := w.r.zc()
	for range 3 {
		children, _, ch, err := conn.ChildrenW(w.dir)
		if errors.Is(err, zk.ErrNoNode) {
			// No instance has ever registered: wait for the node.
			exists, _, ech, err := conn.ExistsW(w.dir)
			if err != nil {
				return err
			}
			if exists {
				continue // created meanwhile
			}
			w.parent = ech
			clear(w.known)
			w.snap.offer(w.set())
			return nil
		}
		if err != nil {
			return err
		}
		w.parent = ch
		seen := make(map[string]bool, len(children))
		for _, c := range children {
			seen[c] = true
			if k := w.known[c]; k != nil && k.watch != nil && !fired(k.watch) {
				continue
			}
			data, _, dch, err := conn.GetW(path.Join(w.dir, c))
			if errors.Is(err, zk.ErrNoNode) {
				delete(w.known, c) // left while we read; the children watch tells
				continue
			}
			if err != nil {
				return err
			}
			k := &zkChild{watch: dch}
			if inst, err := decodeRecord(w.name, c, data); err != nil {
				w.r.log.Warn("ignoring unreadable instance node", "path", path.Join(w.dir, c), "err", err)
			} else {
				k.inst = &inst
			}
			w.known[c] = k
		}
		for c := range w.known {
			if !seen[c] {
				delete(w.known, c)
			}
		}
		w.snap.offer(w.set())
		return nil
	}
	return errors.New("registry: " + w.dir + " keeps appearing and disappearing")
}

func (w *zkWatch) set() []Instance {
	out := make([]Instance, 0, len(w.known))
	for _, k := range w.known {
		if k.inst != nil {
			out = append(out, *k.inst)
		}
	}
	sortInstances(out)
	return out
}

// fired reports (and consumes) a watch event that is waiting.
func fired(ch <-chan zk.Event) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
