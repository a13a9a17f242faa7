//go:build !race

package lymph

const raceEnabled = false
