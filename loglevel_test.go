package lymph

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Overlapping changes restore the level from before the first one, once,
// when the last one's period ends; a lone timer per call used to restore
// the level the previous call had set, forever.
func TestOverlappingLevelChangesRestoreTheOriginal(t *testing.T) {
	l := newLevelOverride()
	l.set(slog.LevelDebug, time.Hour)
	l.set(slog.LevelWarn, 10*time.Millisecond)
	assert.Equal(t, slog.LevelWarn, l.level.Level())
	require.Eventually(t, func() bool { return l.level.Level() == noLevel }, 5*time.Second, time.Millisecond,
		"back to no level, not to DEBUG")
	l.set(slog.LevelError, time.Hour)
	l.stop()
	assert.Equal(t, noLevel, l.level.Level(), "Stop restores and leaves no timer")
}
