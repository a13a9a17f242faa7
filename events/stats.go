package events

import (
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Counts are the event counters of one event type.
type Counts struct {
	Emitted    int64 `json:"emitted"`     // published and confirmed
	EmitFailed int64 `json:"emit_failed"` // publishes that returned an error
	Handled    int64 `json:"handled"`     // handler returned nil
	Failed     int64 `json:"failed"`      // handler returned an error or panicked
	Retried    int64 `json:"retried"`     // failures sent back through retry
	Dropped    int64 `json:"dropped"`     // failures with no retry left
	Rejected   int64 `json:"rejected"`    // messages that were not lymph events (type "")
}

type stats struct {
	mu     sync.Mutex
	byType map[string]*Counts
}

// maxTypes bounds the counters: event types come from the network.
const maxTypes = 1024

func (s *stats) add(t string, f func(*Counts)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byType == nil {
		s.byType = map[string]*Counts{}
	}
	c := s.byType[t]
	if c == nil {
		if len(s.byType) >= maxTypes {
			t = "(other)"
			if c = s.byType[t]; c == nil {
				c = &Counts{}
				s.byType[t] = c
			}
		} else {
			c = &Counts{}
			s.byType[t] = c
		}
	}
	f(c)
}

// Metrics returns the counters per event type ("" holds the rejected
// messages, whose type is unknown). At most 1024 types are kept apart;
// more share "(other)".
func (b *Bus) Metrics() map[string]Counts {
	b.stats.mu.Lock()
	defer b.stats.mu.Unlock()
	out := make(map[string]Counts, len(b.stats.byType))
	for t, c := range b.stats.byType {
		out[t] = *c
	}
	return out
}

// Types returns the metric's types, sorted.
func Types(m map[string]Counts) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// rateLimiter keeps bad input from flooding the log: at most one line a
// second, with the count of those skipped.
type rateLimiter struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (r *rateLimiter) log(l *slog.Logger, msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.skipped++
		r.mu.Unlock()
		return
	}
	skipped := r.skipped
	r.last, r.skipped = now, 0
	r.mu.Unlock()
	if skipped > 0 {
		args = append(args, "skipped_since_last", skipped)
	}
	l.Warn(msg, args...)
}
