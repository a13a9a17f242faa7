package lymph

import (
	"log/slog"
	"math"
	"sync"
	"time"
)

// levelOverride is the container's log level, which lymph.change_loglevel
// changes for a while. Until it does, the level lets everything through and
// the user's handler decides. Overlapping changes share one restore: the
// level goes back to what it was before the first, when the last one's
// period ends.
type levelOverride struct {
	level *slog.LevelVar

	mu      sync.Mutex
	base    slog.Level  // the level before the override
	restore *time.Timer // nil when no override is in force
}

// noLevel lets every record through to the user's handler.
const noLevel = slog.Level(math.MinInt32)

func newLevelOverride() *levelOverride {
	l := &levelOverride{level: new(slog.LevelVar)}
	l.level.Set(noLevel)
	return l
}

// set makes level the container's level for period.
func (l *levelOverride) set(level slog.Level, period time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restore == nil {
		l.base = l.level.Level()
	} else {
		l.restore.Stop()
	}
	l.level.Set(level)
	l.restore = time.AfterFunc(period, l.end)
}

func (l *levelOverride) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.level.Set(l.base)
	l.restore = nil
}

// stop cancels a pending restore, for Stop: no timer outlives the
// container.
func (l *levelOverride) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restore != nil {
		l.restore.Stop()
		l.restore = nil
		l.level.Set(l.base)
	}
}
