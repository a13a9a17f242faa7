package registry

import (
	"reflect"
	"slices"
)

// snapshots is the sending half of a Watch channel, owned by the one
// goroutine that produces the sets. It holds at most one undelivered set, the
// newest, so a slow reader never stalls the producer nor sees a backlog, and
// it drops a set equal to the last one delivered (a change and its undoing
// before the reader looked, or a reconnect that changed nothing).
//
// Use it in the producer's select as
//
//	case s.ch() <- s.pending:
//		s.delivered()
type snapshots struct {
	out       chan []Instance
	pending   []Instance
	have      bool
	last      []Instance
	sentFirst bool
}

func newSnapshots() *snapshots {
	return &snapshots{out: make(chan []Instance)}
}

// offer makes set (sorted) the next one to deliver.
func (s *snapshots) offer(set []Instance) {
	if set == nil {
		set = []Instance{}
	}
	if s.sentFirst && sameSet(set, s.last) {
		s.pending, s.have = nil, false
		return
	}
	s.pending, s.have = set, true
}

// ch is the channel to send pending on, or nil (never ready) when nothing
// is pending.
func (s *snapshots) ch() chan<- []Instance {
	if s.have {
		return s.out
	}
	return nil
}

func (s *snapshots) delivered() {
	// A copy: the reader owns what it received and may reorder it.
	s.last, s.sentFirst = slices.Clone(s.pending), true
	s.pending, s.have = nil, false
}

func sameSet(a, b []Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}
