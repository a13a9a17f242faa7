//go:build race

package lymph

// raceEnabled: the race detector makes sync.Pool drop a quarter of what is
// put back, on purpose, so allocation counts mean nothing under it.
const raceEnabled = true
